#!/usr/bin/env bash
# One Celery worker of a cluster deployment: it executes the steps of queued runs, one at a time.
# Needs the same PMA_* environment as the daemon (PMA_DATA_ROOT on object storage,
# PMA_POSTGRES_URL, PMA_CELERY_BROKER_URL, the ISO URLs and credentials). See docs/DEPLOY.md.
# Usage: deploy/cluster/start-worker.sh [worker-name]
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${PMA_CELERY_BROKER_URL:?set PMA_CELERY_BROKER_URL}" "${PMA_POSTGRES_URL:?set PMA_POSTGRES_URL}"
export PYTHONPATH="$PWD/deploy/celery${PYTHONPATH:+:$PYTHONPATH}"  # dagster_celery_config.py
exec .venv/bin/celery -A dagster_celery.app worker -Q dagster -P solo \
    --prefetch-multiplier=1 -n "${1:-worker}@%h" --loglevel INFO
