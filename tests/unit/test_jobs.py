"""The job catalogue (shared.jobs) is the one contract between services and workers."""
from __future__ import annotations

import importlib
import subprocess
import sys

from shared import jobs
from shared.broker import ROUTES


def registered_tasks() -> dict:
    from worker.app import TASK_MODULES, celery
    for module in TASK_MODULES:
        importlib.import_module(module)
    return {name: task for name, task in celery.tasks.items() if not name.startswith("celery.")}


def test_every_job_has_a_task_and_every_task_a_job():
    assert set(registered_tasks()) == set(jobs.BY_NAME)


def test_job_names_are_unique_and_routes_derive_from_the_catalogue():
    assert len(jobs.BY_NAME) == len(jobs.ALL)
    assert ROUTES == {job.name: {"queue": job.queue} for job in jobs.ALL}


def test_every_scheduled_task_is_a_job():
    from worker.app import celery
    for entry in celery.conf.beat_schedule.values():
        job = jobs.BY_NAME[entry["task"]]
        assert entry.get("options", {}).get("queue", job.queue) == job.queue


def test_tasks_share_the_base_that_owns_the_runtime():
    from worker.app import GatewayTask
    for task in registered_tasks().values():
        assert isinstance(task, GatewayTask)
        assert task.max_retries == 10


def test_importing_the_worker_reads_no_configuration():
    # Config.from_env raising proves nothing at import time builds configuration.
    code = ("import shared.config as c\n"
            "def boom(*a, **k): raise SystemExit('config built at import')\n"
            "c.Config.from_env = boom\n"
            "import worker.app\n"
            "for m in worker.app.TASK_MODULES: __import__(m)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
