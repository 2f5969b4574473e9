"""`structurer review listen`: a small HTTP receiver for Label Studio webhooks.

On start it records its URL (and a fresh shared secret) on the report type's project and
registers the webhook there (ANNOTATION_CREATED / ANNOTATION_UPDATED); later pushes re-register
it if the server lost it. Each accepted call wakes one worker that runs a pull; calls that
arrive while a pull runs are folded into one more pull. Label Studio does not retry failed
webhooks, so the listener pulls once at start too, and `structurer review pull` stays the
fallback: a missed call loses nothing, it is picked up by the next pull.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from structurer.core.report_type import load_report_type
from structurer.review.labeling import load_review_config
from structurer.review.projects import (
    SECRET_HEADER,
    WEBHOOK_ACTIONS,
    ensure_project,
    ensure_webhook,
)
from structurer.review.pull import PullResult, pull
from structurer.review.remote import open_remote
from structurer.review.server import ReviewServerError
from structurer.settings import Settings
from structurer.store.review import set_webhook
from structurer.store.session import session_scope

DEFAULT_LISTEN_PORT = 8090
PATH = "/webhook"
MAX_BODY = 16 * 1024 * 1024
Echo = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def register(settings: Settings, url: str) -> str:
    """Record the listener's URL on the project and register the webhook. Returns the secret."""
    rtype = load_report_type(settings.report_type)
    config = load_review_config(rtype)
    remote = open_remote(settings)
    with session_scope(settings) as session:
        project = ensure_project(remote, session, rtype, config)
        if project.webhook_url != url or not project.webhook_secret:
            set_webhook(session, project, url, secrets.token_urlsafe(24))
            with remote.calling(f"listing the webhooks of project {project.project_id}"):
                stale = [
                    h
                    for h in remote.client.webhooks.list(project=str(project.project_id))
                    if h.url == url and h.id is not None
                ]
            for hook in stale:  # an old registration with an old secret
                with remote.calling(f"removing an old webhook of project {project.project_id}"):
                    remote.client.webhooks.delete(id=hook.id)  # type: ignore[arg-type]
        ensure_webhook(remote, project)
        return project.webhook_secret or ""


class Listener:
    """The receiver and its pull worker; ``start``/``stop`` for embedding (tests), ``serve``
    for the command."""

    def __init__(
        self,
        settings: Settings,
        host: str = "127.0.0.1",
        port: int = DEFAULT_LISTEN_PORT,
        url: str | None = None,
        echo: Echo = _stderr,
    ) -> None:
        self.settings = settings
        self.echo = echo
        self.url = url or f"http://{host}:{port}{PATH}"
        self.secret = ""
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.pulls = 0
        self.last: PullResult | None = None
        self.last_error: str | None = None
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                return  # quiet: the worker reports what each pull did

            def _reply(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                if self.path == "/health":
                    self._reply(200, {"status": "UP", "pulls": listener.pulls})
                else:
                    self._reply(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                if self.path != PATH:
                    self._reply(404, {"error": "not found"})
                    return
                given = self.headers.get(SECRET_HEADER, "")
                if not listener.secret or not hmac.compare_digest(given, listener.secret):
                    self._reply(403, {"error": "bad secret"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._reply(413, {"error": "too large"})
                    return
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._reply(400, {"error": "not JSON"})
                    return
                action = body.get("action") if isinstance(body, dict) else None
                if action in WEBHOOK_ACTIONS:
                    listener.wake.set()
                self._reply(200, {"ok": True})

        return Handler

    def _work(self) -> None:
        while not self.stopping.is_set():
            if not self.wake.wait(timeout=0.5):
                continue
            self.wake.clear()
            try:
                self.last = pull(self.settings, echo=self.echo)
                self.last_error = None
            except ReviewServerError as exc:
                self.last_error = str(exc)
                self.echo(f"pull failed: {exc}")
            except Exception as exc:  # noqa: BLE001 - keep listening; report the kind only
                self.last_error = type(exc).__name__
                self.echo(f"pull failed: {type(exc).__name__}")
            self.pulls += 1

    def start(self) -> None:
        """Register the webhook, then serve and pull in background threads."""
        self.secret = register(self.settings, self.url)
        self.wake.set()  # one pull at start: webhooks missed while we were down
        for target in (self.httpd.serve_forever, self._work):
            thread = threading.Thread(target=target, daemon=True, name="structurer-listen")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=30)

    def serve(self) -> None:
        """Run until Ctrl-C."""
        self.start()
        self.echo(f"listening for Label Studio webhooks at {self.url} (Ctrl-C stops)")
        try:
            self.stopping.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


__all__ = ["DEFAULT_LISTEN_PORT", "Listener", "register"]
