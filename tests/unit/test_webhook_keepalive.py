"""Webhook POSTs keep their connection alive per destination (shared.webhooks.http_sender)."""
from __future__ import annotations

import socket
import struct
import threading
import time
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


class _ResettingServer:
    """A raw HTTP/1.1 server that keeps connections alive and resets (SO_LINGER 0) the
    connection of the requests whose number (from 1, across connections) is in ``resets``
    instead of answering them (with ``partial``, after part of an answer); the others get
    200. With ``hang`` it never answers."""

    def __init__(self, resets: set[int], hang: bool = False, partial: bool = False) -> None:
        self.resets, self.hang, self.requests, self.connections = resets, hang, 0, 0
        self.partial = partial   # reset after the answer's headers and part of its body
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    conn.close()
                    return
                data += chunk
            head, _, data = data.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            while len(data) < length:
                data += conn.recv(65536)
            data = data[length:]
            self.requests += 1
            if self.hang:
                time.sleep(3)
            if self.partial and self.requests in self.resets:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok")
                time.sleep(0.1)
            if self.hang or self.requests in self.resets:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def post(self, timeout_s: float = 5):
        return http_sender.post(f"http://127.0.0.1:{self.port}/hook", b"{}", {}, timeout_s,
                                production=False)


def test_a_kept_alive_connection_reset_unanswered_is_sent_again_once_on_a_new_one():
    srv = _ResettingServer(resets={2})
    first, second = srv.post(), srv.post()   # the second goes out on the first's connection
    assert (first.status, second.status, second.body, second.error) == (200, 200, "ok", None)
    assert (srv.requests, srv.connections) == (3, 2)


def test_a_reset_on_a_new_connection_is_a_failed_attempt_not_sent_again():
    srv = _ResettingServer(resets={1})
    result = srv.post()
    assert result.status is None and "ConnectionResetError" in result.error
    assert srv.requests == 1


def test_the_resend_is_sent_once():
    srv = _ResettingServer(resets={2, 3})
    assert srv.post().status == 200
    result = srv.post()
    assert result.status is None and "ConnectionResetError" in result.error
    assert (srv.requests, srv.connections) == (3, 2)


def test_a_reset_after_the_answer_began_is_a_failed_attempt_not_sent_again():
    srv = _ResettingServer(resets={2}, partial=True)
    assert srv.post().status == 200
    result = srv.post()
    assert result.status is None and result.error.startswith("connection error: ")
    assert (srv.requests, srv.connections) == (2, 1)


def test_a_timeout_is_not_sent_again():
    srv = _ResettingServer(resets=set(), hang=True)
    result = srv.post(timeout_s=1)
    assert result.status is None and result.error == "timed out after 1s"
    assert srv.requests == 1
