"""shared.redis_transport: kombu's Redis transport with one client per channel."""
from __future__ import annotations

from kombu import Connection, Queue

from shared.redis_transport import Transport


def test_one_client_per_pool_and_messages_still_flow(redis_server, flush_redis):
    with Connection(redis_server.url, transport=Transport) as conn:
        channel = conn.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as again:
            assert first is again
        channel._disconnect_pools()          # as after a fork or a lost connection
        with channel.conn_or_acquire() as rebuilt:
            assert rebuilt is not first and rebuilt.connection_pool is channel.pool

        queue = Queue("transport_test")
        with conn.Producer() as producer:
            for i in range(3):
                producer.publish({"n": i}, routing_key="transport_test", declare=[queue])
        got = []
        with conn.SimpleQueue("transport_test") as simple:
            for _ in range(3):
                message = simple.get(timeout=5)
                got.append(message.payload["n"])
                message.ack()
        assert sorted(got) == [0, 1, 2]
        with channel.conn_or_acquire() as client:
            assert client.llen("transport_test") == 0
