"""An open-loop load generator for ``POST /payments``, as its own process.

``python -m bench.loadgen --url URL --key KEY --rate R --seconds S --out FILE``

The ``i``-th request is due at ``start + i / R`` whatever happened to the ones before it (an
open loop, as real customers arrive): a slow answer does not slow the offered rate, and each
payment's latency is counted from when it was due, not from when the generator got round to
sending it, so a lagging generator shows up as latency rather than hiding it.

Requests go over kept-alive HTTP/1.1 connections (asyncio, one request at a time on each; a
new connection is opened when every open one is busy), with the body bytes built once. The
generator costs a small fraction of a core at 100/s, where the urllib thread pool it
replaces could not send 100/s at all on 2 busy cores.

FILE gets one JSON object: ``sent`` (payment id -> due time, ``time.monotonic()``, comparable
with the receiver's stamps), ``errors`` (statuses other than 201, 0 for a broken
connection), ``span_s``, the send lag's p50/p99 (how late after its due time each request was
written) and the answer's p50/p99 (from its due time to the end of the 201).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

BODY = json.dumps({"amount": 1000, "currency": "INR",
                   "payment_method": {"type": "card", "token": "tok_success"}}).encode()


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send one request, read its answer: (status, body, whether the server keeps the
        connection open)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, keep = 0, True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep = False
        body = await self.reader.readexactly(length) if length else b""
        return status, body, keep

    def close(self) -> None:
        self.writer.close()


async def run(url: str, key: str, rate: float, seconds: float, path: str) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY
    idle: list[Connection] = []
    sent: dict[str, float] = {}
    errors: list[int] = []
    lags: list[float] = []
    answers: list[float] = []
    tasks: set[asyncio.Task] = set()

    async def one(due: float) -> None:
        reused = bool(idle)
        conn = idle.pop() if idle else Connection(*await asyncio.open_connection(host, port))
        lags.append(time.monotonic() - due)
        try:
            try:
                status, body, keep = await conn.post(request)
            except (OSError, asyncio.IncompleteReadError):
                if not reused:
                    raise
                # The server closed this kept-alive connection while it was idle (its
                # keep-alive timeout) before reading the request: send it again on a new
                # one, as HTTP clients do.
                conn.close()
                conn = Connection(*await asyncio.open_connection(host, port))
                status, body, keep = await conn.post(request)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            conn.close()
            errors.append(0)
            return
        answers.append(time.monotonic() - due)
        if status == 201:
            sent[json.loads(body)["id"]] = due
        else:
            errors.append(status)
        if keep:
            idle.append(conn)
        else:
            conn.close()

    total = int(rate * seconds)
    start = time.monotonic()
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    span = time.monotonic() - start
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    for conn in idle:
        conn.close()
    return {"sent": sent, "errors": errors, "offered": total, "span_s": round(span, 3),
            "lag_p50_ms": pct_ms(lags, 0.5), "lag_p99_ms": pct_ms(lags, 0.99),
            "answer_p50_ms": pct_ms(answers, 0.5), "answer_p99_ms": pct_ms(answers, 0.99),
            "connections": len(idle)}


def pct_ms(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds; None when there are none."""
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--path", default="/api/v1/payments")
    parser.add_argument("--out", required=True)
    a = parser.parse_args()
    result = asyncio.run(run(a.url, a.key, a.rate, a.seconds, a.path))
    with open(a.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
