#!/usr/bin/env bash
# The daemon of a server or cluster deployment (run queue, sensors, schedules, run monitoring).
# Needs: PMA_DATA_ROOT, PMA_INSTANCE_YAML (deploy/server or deploy/cluster dagster.yaml),
# PMA_POSTGRES_URL; on a cluster also PMA_CELERY_BROKER_URL. See docs/DEPLOY.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${PMA_DATA_ROOT:?set PMA_DATA_ROOT}" "${PMA_INSTANCE_YAML:?set PMA_INSTANCE_YAML}"
# Opening the instance once copies PMA_INSTANCE_YAML into <data root>/dagster_home (with
# PMA_ISO_RUN_LIMIT written in) and prints that folder: the daemon's DAGSTER_HOME.
DAGSTER_HOME="$(.venv/bin/python - <<'PY'
import os
from power_market_assets.automation.runs import persistent_instance
from power_market_assets.io.lake import Lake

lake = Lake.at(os.environ["PMA_DATA_ROOT"])
persistent_instance(lake.root).dispose()
print(lake.dagster_home)
PY
)"
export DAGSTER_HOME
exec .venv/bin/dagster-daemon run -m power_market_assets.definitions
