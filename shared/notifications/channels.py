"""How a notification leaves: email over SMTP (``SMTP_URL``), SMS through Twilio's REST API
(``TWILIO_*``) with ``requests``. One result type; the caller decides retry or give up."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import requests


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool = False
    error: str | None = None
    provider_message_id: str | None = None


def send(config, channel: str, recipient: str, subject: str | None, body: str) -> SendResult:
    if channel == "email":
        return send_email(config, recipient, subject or "", body)
    if channel == "sms":
        return send_sms(config, recipient, body)
    return SendResult(False, error=f"unknown channel {channel!r}")


def _smtp_settings(url: str) -> tuple[str, str, int, str | None, str | None, bool]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
    port = parts.port or (465 if scheme == "smtps" else (587 if starttls else 25))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return scheme, parts.hostname or "localhost", port, user, password, starttls


def send_email(config, recipient: str, subject: str, body: str) -> SendResult:
    if not config.smtp_url:
        return SendResult(False, error="email is not configured (SMTP_URL is empty)")
    try:
        scheme, host, port, user, password, starttls = _smtp_settings(config.smtp_url)
    except ValueError as exc:
        return SendResult(False, error=str(exc))
    message = EmailMessage()
    message["From"] = config.smtp_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="gateway")
    message.set_content(body)
    client_class = smtplib.SMTP_SSL if scheme == "smtps" else smtplib.SMTP
    try:
        with client_class(host, port, timeout=config.smtp_timeout_s) as smtp:
            if starttls:
                smtp.starttls()
            if user and password:
                smtp.login(user, password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return SendResult(False, retryable=all(400 <= c < 500 for c in codes),
                          error=f"SMTP refused the recipient ({codes[0] if codes else '?'})")
    except smtplib.SMTPResponseException as exc:
        # 4xx: try again later; 5xx: the server will never take it.
        return SendResult(False, retryable=400 <= exc.smtp_code < 500,
                          error=f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}")
    except (OSError, smtplib.SMTPException) as exc:
        return SendResult(False, retryable=True, error=f"SMTP unreachable: {type(exc).__name__}")
    return SendResult(True, provider_message_id=message["Message-ID"])


def _text(raw) -> str:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return text[:200]


def send_sms(config, recipient: str, body: str) -> SendResult:
    sid, token = config.twilio_account_sid, config.twilio_auth_token
    if not (sid and token and config.twilio_from):
        return SendResult(False, error="SMS is not configured (TWILIO_ACCOUNT_SID, "
                                       "TWILIO_AUTH_TOKEN, TWILIO_FROM)")
    url = f"{config.twilio_api_base.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
    try:
        response = requests.post(url, auth=(sid, token), timeout=config.smtp_timeout_s,
                                 data={"To": recipient, "From": config.twilio_from,
                                       "Body": body})
    except requests.RequestException as exc:
        return SendResult(False, retryable=True, error=f"Twilio unreachable: "
                                                       f"{type(exc).__name__}")
    if response.status_code in (200, 201):
        try:
            message_sid = response.json().get("sid")
        except ValueError:
            message_sid = None
        return SendResult(True, provider_message_id=message_sid)
    try:
        detail = response.json()
        reason = f"{detail.get('code')}: {str(detail.get('message'))[:200]}"
    except ValueError:
        reason = "no JSON body"
    retryable = response.status_code == 429 or response.status_code >= 500
    return SendResult(False, retryable=retryable,
                      error=f"Twilio HTTP {response.status_code} ({reason})")
