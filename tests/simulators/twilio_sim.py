"""A local stand-in for Twilio's Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``)
speaking its wire format: form-encoded To/From/Body, HTTP Basic with the account SID and auth
token, 201 with a message resource, and Twilio's JSON errors (code 20003 for bad credentials,
21211 for an invalid To number). ``fail_next(status, times)`` answers the next requests with
an error, as an outage would."""
from __future__ import annotations

import re
import secrets
import threading
from collections import deque
from dataclasses import dataclass

from flask import Flask, jsonify, request

from tests.simulators.server import BackgroundServer

E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass(frozen=True)
class Sms:
    sid: str
    to: str
    from_: str
    body: str


class TwilioSimulator:
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "twilio-token"):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.lock = threading.Lock()
        self.messages: list[Sms] = []
        self.requests_seen = 0
        self._faults: deque[int] = deque()
        self.app = Flask("twilio_simulator")
        self.app.add_url_rule("/2010-04-01/Accounts/<sid>/Messages.json", "messages",
                              self._create_message, methods=["POST"])
        self._server: BackgroundServer | None = None

    def start(self) -> TwilioSimulator:
        self._server = BackgroundServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        with self.lock:
            self._faults.extend([status] * times)

    def _error(self, status: int, code: int, message: str):
        return jsonify({"code": code, "message": message, "status": status,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}"}), status

    def _create_message(self, sid: str):
        with self.lock:
            self.requests_seen += 1
            fault = self._faults.popleft() if self._faults else None
        if fault is not None:
            return self._error(fault, 20500 if fault >= 500 else 20429, "Simulated failure")
        auth = request.authorization
        if sid != self.account_sid or auth is None or auth.username != self.account_sid or \
                auth.password != self.auth_token:
            return self._error(401, 20003, "Authenticate")
        to, from_, body = (request.form.get(k, "") for k in ("To", "From", "Body"))
        if not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not from_:
            return self._error(400, 21603, "A 'From' phone number is required.")
        if not body or len(body) > 1600:
            return self._error(400, 21602, "Message body is required and at most 1600 "
                                            "characters.")
        message = Sms(sid="SM" + secrets.token_hex(16), to=to, from_=from_, body=body)
        with self.lock:
            self.messages.append(message)
        return jsonify({"sid": message.sid, "account_sid": sid, "to": to, "from": from_,
                        "body": body, "status": "queued", "num_segments": "1"}), 201
