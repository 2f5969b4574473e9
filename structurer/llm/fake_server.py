"""FAKE OpenAI-compatible HTTP server for tests and benchmarks (not a model).

It answers POST /v1/chat/completions on 127.0.0.1 from a responder — a function of the request
body returning the assistant's content (str or dict), an HTTP status (int) to fail with, or
None to answer from recorded responses — so a real `structurer extract` process (openai +
instructor over real HTTP) can run against it. Replies are built by `completion_payload`,
with logprobs regrouped into tokens of a few characters like a real tokenizer's.

    python -m structurer.llm.fake_server --recorded replies.json [--delay 0.2] [--port N]

prints its base URL (…/v1) on the first line and serves until killed. A recorded file maps
a response model's name (the JSON schema / tool name instructor sends) to its content.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from structurer.llm.fake import completion_payload

ServerResponder = Callable[[dict[str, Any]], "str | dict[str, Any] | int | None"]


def response_model_name(request: dict[str, Any]) -> str | None:
    """The name instructor gave the response schema (json_schema mode or tools mode)."""
    fmt = request.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name")
    if name is None and request.get("tools"):
        name = request["tools"][0]["function"]["name"]
    return name


class Recorded:
    """Answers from a {response model name: content} mapping; unknown names get HTTP 404. A
    dict reply is cut to the keys the request's JSON schema asks for (a part asked only for
    its unread fields, a re-ask of one field)."""

    def __init__(self, replies: dict[str, Any]) -> None:
        self.replies = replies

    @classmethod
    def load(cls, path: str | Path) -> Recorded:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def __call__(self, request: dict[str, Any]) -> str | dict[str, Any] | int | None:
        name = response_model_name(request)
        if name is None or name not in self.replies:
            return 404
        reply = self.replies[name]
        fmt = request.get("response_format") or {}
        asked = ((fmt.get("json_schema") or {}).get("schema") or {}).get("properties")
        if isinstance(reply, dict) and asked:
            reply = {k: v for k, v in reply.items() if k in asked}
        return reply if isinstance(reply, str | dict) else json.dumps(reply, ensure_ascii=False)


def _regroup_logprobs(payload: dict[str, Any], token_chars: int) -> None:
    for choice in payload.get("choices", []):
        content = (choice.get("logprobs") or {}).get("content")
        if not content:
            continue
        grouped = []
        for i in range(0, len(content), token_chars):
            chunk = content[i : i + token_chars]
            grouped.append(
                {
                    "token": "".join(c["token"] for c in chunk),
                    "logprob": sum(c["logprob"] for c in chunk) / len(chunk),
                    "bytes": None,
                    "top_logprobs": [],
                }
            )
        choice["logprobs"]["content"] = grouped


class FakeOpenAIServer:
    """A threaded HTTP server on 127.0.0.1 (port 0: a free one). Use as a context manager."""

    def __init__(
        self,
        responder: ServerResponder,
        *,
        port: int = 0,
        delay: float = 0.0,
        logprob: float | None = -0.05,
        token_chars: int = 3,
    ) -> None:
        self.responder = responder
        self.delay = delay
        self.logprob = logprob
        self.token_chars = token_chars
        self.requests = 0
        self.busy_seconds = 0.0  # time spent answering (sum over requests), for benchmarks
        # Tests that interrupt a batch: requests after the first `hold_after` wait (counted in
        # `held`) until release(), so the batch is certainly mid-flight when the signal comes.
        self.hold_after: int | None = None
        self.held = 0
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def release(self) -> None:
        """Let held requests (and all later ones) through."""
        self.hold_after = None
        self._released.set()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        with self._lock:
            self.requests += 1
            hold = self.hold_after is not None and self.requests > self.hold_after
            if hold:
                self.held += 1
        if hold:
            self._released.wait(timeout=300)
        if self.delay:
            time.sleep(self.delay)
        item = self.responder(body)
        if isinstance(item, int):
            status, payload = item, {"error": {"message": f"fake HTTP {item}", "type": "fake"}}
        elif item is None:
            status, payload = 404, {"error": {"message": "no recorded reply", "type": "fake"}}
        else:
            content = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
            status, payload = 200, completion_payload(body, content, self.logprob)
            _regroup_logprobs(payload, self.token_chars)
        with self._lock:
            self.busy_seconds += time.perf_counter() - started
        return status, payload

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.rstrip("/").endswith("/models"):
                    self._send(
                        200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
                    )
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "bad JSON"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                    return
                try:
                    status, payload = server.answer(body)
                except Exception as exc:  # noqa: BLE001 - a responder bug is a 500, not a dead server
                    status, payload = 500, {"error": {"message": f"{type(exc).__name__}: {exc}"}}
                self._send(status, payload)

        return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="FAKE OpenAI-compatible server answering from recorded replies"
    )
    parser.add_argument(
        "--recorded", required=True, help="JSON file: response model name -> content"
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(Recorded.load(args.recorded), port=args.port, delay=args.delay)
    print(server.url, flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
