#!/usr/bin/env bash
# Run the whole test suite against real services: the embedded model server, Label Studio,
# PostgreSQL and headless Chromium. Installs what is missing first (needs root for apt).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
bash scripts/install_test_services.sh
export STRUCTURER_REQUIRE_SERVICES="${STRUCTURER_REQUIRE_SERVICES:-1}"
# The shared dev data (../shared) is required when it is there: present but broken is a failure;
# absent, its tests are skipped and listed with the reason.
if [ -d "${STRUCTURER_SHARED_DIR:-../shared}/corpus" ]; then
  export STRUCTURER_REQUIRE_SHARED="${STRUCTURER_REQUIRE_SHARED:-1}"
fi
export STRUCTURER_TEST_OUTPUT="${STRUCTURER_TEST_OUTPUT:-$PWD/ci-output}"
mkdir -p "$STRUCTURER_TEST_OUTPUT"
exec .venv/bin/python -m pytest -ra "$@"
