"""A real SMTP server on a free 127.0.0.1 port (aiosmtpd), keeping every message it accepted.
``answers`` queues SMTP replies for the next DATA commands (e.g. "451 4.3.0 try later")."""
from __future__ import annotations

import socket
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_content()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        with self.server.lock:
            answer = self.server.answers.popleft() if self.server.answers else None
            self.server.attempts += 1
            if answer is not None:
                return answer
            message = message_from_bytes(envelope.content, policy=policy.default)
            self.server.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos),
                                          message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mails: list[Mail] = []
        self.answers: deque[str] = deque()
        self.attempts = 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
