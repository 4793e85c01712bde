"""Issue 10 item 5: gunicorn's access log never writes an API key, even for
``curl -u sk_...:`` answered 401 (gunicorn's default format prints the Basic user)."""
from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tests.harness.processes import ROOT, kill_process_group, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_access_log_has_no_basic_user(base_env, tmp_path):
    import os
    port, log_path = _free_port(), tmp_path / "access.log"
    env = {**os.environ, **base_env, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:api.gunicorn_conf", "-w", "1",
         "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log_path), "api.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    key = "sk_live_" + "Ab-_" * 10
    try:
        def answered():
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/payments?limit=1",
                headers={"Authorization": "Basic " + base64.b64encode(
                    f"{key}:".encode()).decode()})
            try:
                urllib.request.urlopen(request, timeout=2)
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                return None
            return 200
        assert wait_for(answered, 30, interval=0.2, message="gunicorn") == 401
        wait_for(lambda: log_path.exists() and "/api/v1/payments" in log_path.read_text(), 10)
        time.sleep(0.2)
        text = log_path.read_text()
    finally:
        kill_process_group(proc)
    assert '"GET /api/v1/payments HTTP/1.1" 401' in text
    assert key not in text and "Ab-_Ab-_" not in text
