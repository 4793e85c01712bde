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
