from __future__ import annotations

from shared.ids import id_floor, new_id
from shared.logging_setup import redact


def test_ids_have_prefixes_and_sort_by_creation():
    ids = [new_id("payment") for _ in range(1000)]
    assert all(i.startswith("pay_") for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 1000


def test_id_floor_bounds_ids_by_time():
    early = new_id("payment", now_ms=1_000_000)
    assert id_floor("payment", 1_000_000) <= early < id_floor("payment", 1_000_001)


def test_redaction_masks_secrets_and_card_numbers():
    text = redact("key sk_abcdefghijklmnop whsec_QUJDREVGRw== Authorization: Bearer abc.def.ghi "
                  "card 4242 4242 4242 4242 sig v1,K5wT0ZkqWb3Kp7QzZ1x9bXh0YWxsb3dlZA==")
    for secret in ("sk_abcdefghijklmnop", "QUJDREVGRw==", "abc.def.ghi", "4242 4242 4242 4242",
                   "K5wT0ZkqWb3Kp7QzZ1x9bXh0YWxsb3dlZA=="):
        assert secret not in text


def test_the_encoding_is_crockford_base32_five_bits_a_character():
    from shared.ids import _ALPHABET, _encode
    for value, length in ((0, 10), (2**50 - 1, 10), (123456789012345678901234, 16), (31, 1),
                          (2**79 + 12345, 16), (987654321, 7)):
        one_at_a_time, v = [], value
        for _ in range(length):
            one_at_a_time.append(_ALPHABET[v & 31])
            v >>= 5
        assert _encode(value, length) == "".join(reversed(one_at_a_time))


def test_a_batch_of_ids_is_distinct_and_sorts_in_the_order_made():
    from shared.ids import new_id, new_ids
    before = new_id("webhook_log")
    batch = new_ids("webhook_log", 16)
    after = new_id("webhook_log")
    assert len(set(batch)) == 16 and all(i.startswith("whl_") for i in batch)
    assert [before, *batch, after] == sorted([before, *batch, after])


def test_a_batch_is_the_consecutive_ulids_whatever_the_low_bits(monkeypatch):
    """``ulids`` encodes a batch's shared head once when the low 10 bits do not carry; the ids
    are the same as encoding each consecutive value whole, carry or not."""
    from shared import ids
    for low in (0, 1000, 1008, 1009, 1023):
        rand = (0x1234_5678_9ABC_DEF0_12 << 10) | low
        monkeypatch.setattr(ids.os, "urandom", lambda n, r=rand: (r << 1).to_bytes(n, "big"))
        batch = ids.ulids(16, now_ms=1_700_000_000_000)
        stamp = ids._encode(1_700_000_000_000, 10)
        assert batch == [stamp + ids._encode(rand + i, 16) for i in range(16)]
        assert batch == sorted(batch) and len(set(batch)) == 16
