"""What a server process holds from its start is kept out of the garbage collector's full
collections (``shared.runtime.freeze_startup_objects``): a full collection over it paused a
gunicorn worker's requests for ~90 ms."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from shared.runtime import freeze_startup_objects


def test_freezing_moves_what_is_alive_out_of_the_collectors_reach():
    import gc
    try:
        kept = [object() for _ in range(1000)]
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()


def test_the_wsgi_module_freezes_the_app_it_built():
    code = ("import gc; assert gc.get_freeze_count() == 0; import api.wsgi; "
            "print(gc.get_freeze_count())")
    with tempfile.TemporaryDirectory() as var_dir:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL")}
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True, env={**env, "GATEWAY_VAR_DIR": var_dir}, timeout=120)
    # The app, its routes, schemas and mappers: tens of thousands of objects.
    assert int(out.stdout.strip()) > 10_000
