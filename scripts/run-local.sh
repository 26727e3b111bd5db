#!/usr/bin/env bash
# Install and run Arbiter on embedded defaults: SQLite, a filesystem Celery broker, one worker, the web
# server on http://127.0.0.1:8000, with the demo projects and accounts loaded. Ctrl-C stops everything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export DJANGO_SETTINGS_MODULE=config.settings.local HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PY=.venv/bin/python
$PY manage.py migrate --noinput -v0
$PY manage.py load_demo

# -B embeds the one Celery beat: lease expiry and the sweepers that re-queue work whose worker died.
echo "==> starting a Celery worker with beat (queues default,gpu; log in ${ARBITER_DATA_DIR:-data}/worker.log)"
DATA="${ARBITER_DATA_DIR:-data}"
$PY -m celery -A config worker -Q default,gpu --concurrency=1 -B -s "$DATA/celerybeat-schedule" \
  --loglevel=INFO >"$DATA/worker.log" 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM
echo "==> Arbiter on http://127.0.0.1:${PORT:-8000}/  (log in as labeler / arbiter-demo, researcher / arbiter-demo, admin / arbiter-demo)"
$PY manage.py runserver "127.0.0.1:${PORT:-8000}" --noreload
