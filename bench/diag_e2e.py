"""Diagnostic (not part of ``make bench``): where an end-to-end payment's time goes.

``python -m bench.diag_e2e [RATE] [SECONDS]`` runs phase 3 (POST -> signed
``payment.completed`` at a receiver) at RATE/s, then prints the median and p99 of each
stage's time from the database: POST to the processing event, to the completed event, to the
completed event's delivery row being claimed and answered.
"""
from __future__ import annotations

import json
import sys

from bench.stack import Stack
from bench.webhooks_phases import phase_end_to_end

_STAGES = """
WITH c AS (
  SELECT p.id, p.created_at AS posted,
         (SELECT min(created_at) FROM events e WHERE e.object_id = p.id
            AND e.type = 'payment.processing') AS processing,
         (SELECT min(created_at) FROM events e WHERE e.object_id = p.id
            AND e.type = 'payment.completed') AS completed,
         (SELECT min(l.updated_at) FROM webhook_logs l JOIN events e ON e.id = l.event_id
          WHERE e.object_id = p.id AND e.type = 'payment.completed'
            AND l.status = 'succeeded') AS delivered
  FROM payments p)
SELECT stage, round(CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS numeric), 1),
       round(CAST(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS numeric), 1)
FROM (SELECT '1 POST -> processing' AS stage,
             1000 * extract(epoch FROM processing - posted) AS ms FROM c
      UNION ALL SELECT '2 processing -> completed',
             1000 * extract(epoch FROM completed - processing) FROM c
      UNION ALL SELECT '3 completed -> delivered',
             1000 * extract(epoch FROM delivered - completed) FROM c) s
WHERE ms IS NOT NULL GROUP BY stage ORDER BY stage"""


def main() -> int:
    rate = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    stack = Stack()
    try:
        result = phase_end_to_end(stack, rate=rate, seconds=seconds)
        print(json.dumps({k: result[k] for k in ("rate_sent", "delivered", "p50_ms",
                                                 "p99_ms")}))
        for stage, p50, p99 in stack.sql(_STAGES):
            print(f"{stage:28} p50 {p50:8} ms  p99 {p99:8} ms")
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
