"""Process entry point of the embedded model server: llama.cpp's own OpenAI-compatible server,
run in-process by xllamacpp. Started detached by `structurer.llm.embedded.server`; not for direct use.

    python -m structurer.llm.embedded.serve_main --model PATH --alias NAME --host H --port P --ctx N

The server ignores SIGTERM; it is stopped with SIGKILL.
"""

from __future__ import annotations

import argparse
import sys
import threading

# The marker `server.py` looks for in /proc/<pid>/cmdline before it kills a process.
PROCESS_MARKER = "structurer.llm.embedded.serve_main"


def build_params(args: argparse.Namespace) -> object:
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = args.model
    p.model_alias = {args.alias}  # the model id reported by /v1/models and in responses
    p.hostnames = [args.host]
    p.port = args.port
    p.n_ctx = args.ctx
    p.n_parallel = args.parallel
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    p.cache_ram_mib = args.cache_ram_mib  # prompt cache across requests (default 8 GiB: too much)
    p.api_keys = []  # local only, bound to loopback by default: no key
    p.endpoint_metrics = True
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog=f"python -m {PROCESS_MARKER}")
    ap.add_argument("--model", required=True, help="path of the GGUF file")
    ap.add_argument("--alias", required=True, help="model name the server reports")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ctx", type=int, default=8192)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--cache-ram-mib", type=int, default=1024)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import xllamacpp

    try:
        server = xllamacpp.Server(build_params(args))  # returns once loaded and listening
    except RuntimeError as e:
        print(
            f"structurer: llama.cpp server failed to start ({e}); see the lines above", flush=True
        )
        sys.exit(1)
    print(f"structurer: serving {args.alias} at {server.listening_address}", flush=True)
    threading.Event().wait()  # serve until killed


if __name__ == "__main__":
    main()
