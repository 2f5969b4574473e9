"""Process entry point of the embedded model server: llama.cpp's own OpenAI-compatible server,
run in-process by xllamacpp. Started detached by `structurer.llm.embedded.server`; not for direct use.

    python -m structurer.llm.embedded.serve_main --model PATH --alias NAME --host H --port P \
        --ctx N --threads T [--threads-batch B] [--speculative ngram_simple --spec-n 4 ...]

The server ignores SIGTERM; it is stopped with SIGKILL.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

# The marker `server.py` looks for in /proc/<pid>/cmdline before it kills a process.
PROCESS_MARKER = "structurer.llm.embedded.serve_main"


SPECULATIVE = (
    "none",
    "ngram_simple",
    "ngram_map_k",
    "ngram_map_k4v",
    "ngram_mod",
    "ngram_cache",
    "draft",
)


def build_params(args: argparse.Namespace) -> Any:
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = args.model
    p.model_alias = {args.alias}  # the model id reported by /v1/models and in responses
    p.hostnames = [args.host]
    p.port = args.port
    p.n_ctx = args.ctx
    p.n_parallel = args.parallel
    p.cpuparams.n_threads = args.threads  # generation
    p.cpuparams_batch.n_threads = args.threads_batch or args.threads  # prompt processing
    p.cpuparams.poll = args.poll
    p.cpuparams_batch.poll = args.poll
    p.cache_prompt = not args.no_cache_prompt  # the default of requests that do not say
    p.cache_ram_mib = args.cache_ram_mib  # prompt cache across requests (default 8 GiB: too much)
    p.api_keys = []  # local only, bound to loopback by default: no key
    p.endpoint_metrics = True
    _speculative(p, args, xllamacpp)
    return p


def _speculative(p: Any, args: argparse.Namespace, xllamacpp: Any) -> None:
    if args.speculative == "none":
        return
    spec = p.speculative
    kind = "draft_simple" if args.speculative == "draft" else args.speculative
    spec.types = [
        getattr(xllamacpp.common_speculative_type, f"COMMON_SPECULATIVE_TYPE_{kind.upper()}")
    ]
    if args.speculative == "draft":
        if not args.draft_model:
            raise SystemExit("--speculative draft needs --draft-model")
        spec.draft.mparams.path = args.draft_model
        spec.draft.cpuparams.n_threads = args.threads
        spec.draft.cpuparams_batch.n_threads = args.threads_batch or args.threads
        if args.draft_max:
            spec.draft.n_max = args.draft_max
    elif args.speculative in ("ngram_simple", "ngram_map_k", "ngram_map_k4v"):
        ngram = getattr(spec, args.speculative)
        ngram.size_n = args.spec_n
        ngram.size_m = args.spec_m
        ngram.min_hits = args.spec_min_hits


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog=f"python -m {PROCESS_MARKER}")
    ap.add_argument("--model", required=True, help="path of the GGUF file")
    ap.add_argument("--alias", required=True, help="model name the server reports")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ctx", type=int, default=8192)
    ap.add_argument("--threads", type=int, required=True, help="generation threads")
    ap.add_argument("--threads-batch", type=int, help="prefill threads (default: --threads)")
    ap.add_argument("--poll", type=int, default=50, help="busy-wait polling level, 0-100")
    ap.add_argument("--parallel", type=int, default=1, help="slots")
    ap.add_argument("--no-cache-prompt", action="store_true")
    ap.add_argument("--cache-ram-mib", type=int, default=1024)
    ap.add_argument("--speculative", choices=SPECULATIVE, default="none")
    ap.add_argument("--spec-n", type=int, default=12, help="n-gram size looked up")
    ap.add_argument("--spec-m", type=int, default=48, help="n-gram draft length")
    ap.add_argument("--spec-min-hits", type=int, default=1)
    ap.add_argument("--draft-model", help="GGUF of the draft model (--speculative draft)")
    ap.add_argument("--draft-max", type=int, help="draft model: most tokens per step")
    ap.add_argument("--config-id", help="identifies these settings (server.py compares it)")
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
