"""Webhook POSTs keep their connection alive per destination (shared.webhooks.http_sender)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.webhooks import http_sender


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: list = []
    answer = b"ok"

    def setup(self):
        super().setup()
        self.connections.append(self.client_address)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.connections = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _post(srv, path="/hook"):
    return http_sender.post(f"http://127.0.0.1:{srv.server_address[1]}{path}", b"{}",
                            {"X-Test": "1"}, 5, production=False)


def test_consecutive_deliveries_reuse_one_connection(server):
    results = [_post(server) for _ in range(5)]
    assert [r.status for r in results] == [200] * 5
    assert all(r.body == "ok" for r in results)
    assert len(_Handler.connections) == 1


def test_a_long_answer_closes_its_connection(server):
    _Handler.answer = b"x" * (http_sender.RESPONSE_BODY_LIMIT + 10)
    try:
        first, second = _post(server), _post(server)
    finally:
        _Handler.answer = b"ok"
    assert first.status == second.status == 200
    assert len(first.body) == http_sender.RESPONSE_BODY_LIMIT
    assert len(_Handler.connections) == 2
