"""Celery settings of a dagster-celery worker (`celery -A dagster_celery.app worker`), found on
PYTHONPATH by dagster_celery.app: the broker and result backend from PMA_CELERY_BROKER_URL, read
here so that the URL (which may carry a password) is never written into a file or a command."""

import os

broker_url = os.environ["PMA_CELERY_BROKER_URL"]
result_backend = broker_url
worker_prefetch_multiplier = 1  # a worker takes one step at a time: a slow step holds no others
worker_hijack_root_logger = False
