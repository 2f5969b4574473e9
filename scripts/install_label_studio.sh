#!/usr/bin/env bash
# Pre-install the review server: label-studio in its own virtualenv under
# <data_dir>/labelstudio/venv, plus the migrated template data dir that test servers copy.
# Idempotent: a second run returns at once. Data dir: STRUCTURER_DATA_DIR or the default.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
exec "$PYTHON" -c '
from structurer.review.server import ensure_template
from structurer.settings import Settings
print("Label Studio template ready:", ensure_template(Settings()))
'
