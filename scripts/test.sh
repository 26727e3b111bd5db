#!/usr/bin/env bash
# Run Arbiter's test suite against real PostgreSQL, Redis, Celery workers and headless Chromium.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/labeling -x`; `-m slow` for the long demos).
# Without arguments it first runs ruff, import-linter and mypy (configured in pyproject.toml).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v chromium >/dev/null || ! command -v docker-compose >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing chromium and docker-compose (browser tests, compose validation)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose >/dev/null
  else
    echo "Browser tests need Debian's chromium: sudo apt-get install chromium docker-compose" >&2; exit 1
  fi
fi
bash scripts/setup.sh
bash scripts/services.sh
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/arbiter}"
export CELERY_BROKER_URL="${TEST_CELERY_BROKER_URL:-redis://127.0.0.1:6379/15}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# The rules the tools hold (lint, format, import contracts, types) run on a whole-suite run;
# a targeted run (`bash scripts/test.sh tests/labeling -x`) goes straight to pytest.
if [ "$#" = 0 ] || [ "${ARBITER_STATIC_CHECKS:-}" = 1 ]; then
  echo "==> ruff (lint, format)"
  .venv/bin/ruff check . && .venv/bin/ruff format --check .
  echo "==> import-linter (architecture contracts)"
  .venv/bin/lint-imports --no-cache
  echo "==> mypy"
  .venv/bin/mypy
fi
marker=(-m "not slow")
for arg in "$@"; do [ "$arg" = "-m" ] && marker=(); done
set +e
.venv/bin/python -m pytest "${marker[@]}" -p no:cacheprovider --timeout=900 "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests" >&2
fi
exit "$status"
