"""Retry schedule, Retry-After, URL policy and the HTTP sender, without a database."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.webhooks import http_sender, url_policy
from shared.webhooks.delivery import retry_delay
from shared.webhooks.subscriptions import subscribes


def test_retry_delay_follows_the_schedule_with_jitter():
    schedule = (60, 300, 1800)
    for attempt, base in enumerate(schedule, start=1):
        delays = {retry_delay(schedule, attempt, None) for _ in range(50)}
        assert all(base * 0.9 <= d <= base * 1.1 for d in delays)
        assert len(delays) > 1  # jittered, not fixed
    assert retry_delay(schedule, 4, None) is None  # attempt 4 was the last


def test_retry_after_is_honoured_within_a_cap():
    schedule = (1, 5, 30)
    assert retry_delay(schedule, 1, 20) == 20
    assert retry_delay(schedule, 1, 10**9) == 3600
    assert retry_delay((60, 43200), 1, 10**9) == 43200
    assert 4.5 <= retry_delay(schedule, 2, 0.5) <= 5.5


def test_parse_retry_after():
    assert http_sender.parse_retry_after("120") == 120
    now = time.time()
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 90))
    assert 85 <= http_sender.parse_retry_after(date, now) <= 91
    assert http_sender.parse_retry_after("soon") is None
    assert http_sender.parse_retry_after(None) is None


def test_event_filters():
    assert subscribes(["*"], "refund.failed")
    assert subscribes(["refund.failed"], "refund.failed")
    assert not subscribes(["payment.completed"], "payment.failed")


@pytest.mark.parametrize("address,public", [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.31.255.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("100.100.100.200", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
    ("fd00:ec2::254", False), ("::ffff:10.0.0.1", False), ("0.0.0.0", False),
    ("224.0.0.1", False), ("192.0.0.192", False),
])
def test_public_addresses(address, public):
    assert url_policy.address_is_public(address) is public


def test_delivery_time_check_catches_dns_that_changed(monkeypatch):
    answers = {"hooks.example": ["93.184.216.34"]}
    monkeypatch.setattr(url_policy, "resolve", lambda host, port: answers[host])
    target = url_policy.target_for("https://hooks.example/in?x=1", production=True)
    assert (target.address, target.host, target.port, target.path) == \
        ("93.184.216.34", "hooks.example", 443, "/in?x=1")
    answers["hooks.example"] = ["169.254.169.254"]
    result = http_sender.post("https://hooks.example/in", b"{}", {}, 2, production=True)
    assert result.status is None and result.error.startswith("url refused")


class _Handler(BaseHTTPRequestHandler):
    answers: list = []
    seen: list = []

    def do_POST(self):
        _Handler.seen.append((self.headers.get("Host"), self.path,
                              self.rfile.read(int(self.headers["Content-Length"]))))
        status, headers, body, delay = _Handler.answers.pop(0)
        time.sleep(delay)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.answers, _Handler.seen = [], []
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_sender_posts_the_body_keeps_the_host_and_reads_one_kib(server):
    _Handler.answers.append((200, {}, b"x" * 5000, 0))
    result = http_sender.post(server + "/hooks?a=1", b'{"id":"evt_1"}',
                              {"webhook-id": "evt_1"}, 5, production=False)
    assert result.succeeded and result.status == 200 and result.error is None
    assert result.body == "x" * 1024
    host, path, body = _Handler.seen[0]
    assert host == server.removeprefix("http://") and path == "/hooks?a=1"
    assert body == b'{"id":"evt_1"}'


def test_sender_does_not_follow_redirects(server):
    _Handler.answers.append((302, {"Location": server + "/elsewhere"}, b"", 0))
    result = http_sender.post(server + "/hooks", b"{}", {}, 5, production=False)
    assert not result.succeeded and result.status == 302 and "redirect" in result.error
    assert len(_Handler.seen) == 1


def test_sender_reports_retry_after_and_server_errors(server):
    _Handler.answers.append((503, {"Retry-After": "7"}, b"busy", 0))
    result = http_sender.post(server + "/hooks", b"{}", {}, 5, production=False)
    assert (result.status, result.retry_after_s, result.body) == (503, 7, "busy")
    assert result.error == "HTTP 503"


def test_sender_gives_up_at_the_timeout(server):
    _Handler.answers.append((200, {}, b"late", 3))
    started = time.monotonic()
    result = http_sender.post(server + "/hooks", b"{}", {}, 1, production=False)
    assert time.monotonic() - started < 2.5
    assert result.status is None and "timed out" in result.error


def test_sender_reports_a_refused_connection():
    result = http_sender.post("http://127.0.0.1:9/hooks", b"{}", {}, 2, production=False)
    assert result.status is None and result.error.startswith("connection error")


def _self_signed(tmp_path, hostname: str):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_https_goes_to_the_checked_address_and_still_verifies_the_host_name(tmp_path):
    import ssl
    cert, key = _self_signed(tmp_path, "localhost")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    _Handler.answers, _Handler.seen = [(204, {}, b"", 0)], []
    try:
        ok = http_sender.post(f"https://localhost:{port}/hooks", b"{}", {}, 5,
                              production=False, ca_certs=cert)
        assert ok.succeeded, ok.error
        assert _Handler.seen[0][0] == f"localhost:{port}"
        # The certificate names localhost, not 127.0.0.1: a name mismatch is refused.
        mismatch = http_sender.post(f"https://127.0.0.1:{port}/hooks", b"{}", {}, 5,
                                    production=False, ca_certs=cert)
        assert mismatch.status is None and "connection error" in mismatch.error
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_busy_attempt_waits_longer_the_longer_it_has_waited_up_to_the_timeout():
    from shared.webhooks.delivery import BUSY_RECHECK_S, busy_wait_s
    assert busy_wait_s(0, 10) == BUSY_RECHECK_S
    assert busy_wait_s(1.5, 10) == BUSY_RECHECK_S
    assert busy_wait_s(8, 10) == 4
    assert busy_wait_s(600, 10) == 10
    assert busy_wait_s(600, 0.5) == BUSY_RECHECK_S  # never below the recheck
