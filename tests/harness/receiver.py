"""A local webhook receiver for tests: a threaded HTTP server that records every request and
answers with whatever the test scripts (a status, a Retry-After, a hang)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float       # time.monotonic() on arrival
    wall: float     # time.time() on arrival, to compare with event timestamps

    @property
    def event(self) -> dict:
        import json
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    hang_s: float = 0.0


class Receiver:
    """``answers`` are used in order, then ``default`` for every later request."""

    def __init__(self, default: Answer | None = None) -> None:
        self.requests: list[Received] = []
        self.answers: list[Answer] = []
        self.default = default or Answer()
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body,
                                                      time.monotonic(), time.time()))
                    answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                if answer.hang_s:
                    receiver._release.wait(answer.hang_s)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the gateway gave up waiting and closed the connection

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let hanging handlers finish
        self.server.shutdown()
        self.server.server_close()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)
