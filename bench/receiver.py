"""A merchant webhook receiver for the bench and chaos runs, as its own process so its work does
not share a GIL with the load generator.

``python -m bench.receiver --port P --out FILE [--delay-ms 100] [--hang-prefix /dead]``
answers 200 after ``delay-ms`` (or never, for paths under ``hang-prefix``) and appends one
JSON line per request to FILE: arrival time (``time.monotonic()``, comparable across
processes on Linux), path, the Standard Webhooks headers and the body. The caller verifies
signatures and deduplicates by ``webhook-id``, as a merchant would.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.harness.processes import kill_process_group
from tests.harness.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]


def serve(port: int, out: str, delay_ms: int, hang_prefix: str | None) -> None:
    lock = threading.Lock()
    sink = open(out, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # As a production HTTP server does (nginx, gunicorn, Node): the answer's headers and
        # body go out as two writes, and with Nagle's algorithm on, the second waits for the
        # gateway's delayed ACK of the first: 40 ms added to every delivery (measured
        # 2026-12-03: 44 ms median per request with it on, against a receiver that answers
        # at once).
        disable_nagle_algorithm = True

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived = time.monotonic()
            if hang_prefix and self.path.startswith(hang_prefix):
                time.sleep(3600)  # never answers; the gateway times out and closes
                return
            if delay_ms:
                time.sleep(delay_ms / 1000)
            record = {"at": arrived, "path": self.path,
                      "id": self.headers.get("webhook-id"),
                      "ts": self.headers.get("webhook-timestamp"),
                      "sig": self.headers.get("webhook-signature"),
                      "body": body.decode(errors="replace")}
            with lock:
                sink.write(json.dumps(record) + "\n")
            try:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        # The listen() backlog, read when the server binds (set on an instance afterwards, it
        # left the default 5: bursts of new connections were reset, and the fan-out bench
        # saw a delivery wait a minute for its retry).
        request_queue_size = 1024

    Server(("127.0.0.1", port), Handler).serve_forever()


class ReceiverProcess:
    def __init__(self, delay_ms: int = 0, hang_prefix: str | None = None) -> None:
        self.port = free_port()
        self.out = tempfile.mktemp(prefix="gw-receiver-", suffix=".jsonl")
        Path(self.out).touch()
        self.args = [sys.executable, "-m", "bench.receiver", "--port", str(self.port),
                     "--out", self.out, "--delay-ms", str(delay_ms)]
        if hang_prefix:
            self.args += ["--hang-prefix", hang_prefix]
        self.proc: subprocess.Popen | None = None
        self._offset = 0
        self.records: list[dict] = []

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "ReceiverProcess":
        self.proc = subprocess.Popen(self.args, cwd=ROOT, start_new_session=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        wait_for_port(self.port, 30)
        return self

    def poll(self) -> list[dict]:
        """Records that arrived since the last call (also appended to ``self.records``)."""
        with open(self.out) as f:
            f.seek(self._offset)
            chunk = f.read()
        end = chunk.rfind("\n") + 1
        self._offset += len(chunk[:end].encode())
        new = [json.loads(line) for line in chunk[:end].splitlines() if line]
        self.records.extend(new)
        return new

    def kill(self, sig: int = signal.SIGKILL) -> None:
        kill_process_group(self.proc, sig, timeout=10)


def signature_ok(secret: str, record: dict) -> bool:
    """Standard Webhooks: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{record['id']}.{record['ts']}.{record['body']}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part.split(",", 1)[-1] == expected for part in (record["sig"] or "").split())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--hang-prefix")
    a = parser.parse_args()
    serve(a.port, a.out, a.delay_ms, a.hang_prefix)
