"""A tiny merchant-side webhook receiver for trying the gateway locally (README walkthrough):

    python3 scripts/webhook_listener.py --port 9000 --secret whsec_...

It listens on 127.0.0.1 only, verifies each delivery's Standard Webhooks signature
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) with the endpoint's secret, and
prints one line per delivery. Standard library only, so it reads as a recipe for a merchant's
own receiver. Stop it with Ctrl-C.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def verify(secret: str, headers, body: bytes, now: float | None = None) -> bool:
    """True when one of the ``v1,`` signatures is ours and the timestamp is fresh."""
    if not secret.startswith("whsec_"):
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    msg_id, stamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    signatures = (headers.get("webhook-signature") or "").split()
    if not msg_id or not stamp or not stamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(stamp)) > TOLERANCE_S:
        return False
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body,
                                         hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(sig.partition(",")[2], expected)
               for sig in signatures if sig.startswith("v1,"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Verify and print gateway webhooks")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True, help="the endpoint's whsec_ secret")
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not verify(args.secret, self.headers, body):
                print("REJECTED: bad or stale signature", flush=True)
                self.send_response(400)
                self.end_headers()
                return
            event = json.loads(body)
            obj = (event.get("data") or {}).get("object") or {}
            print(f"verified {event.get('type')} {event.get('id')}: {obj.get('id')} "
                  f"{obj.get('status', '')}", flush=True)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{args.port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
