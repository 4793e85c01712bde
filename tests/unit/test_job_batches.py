"""Payments published together travel up to 8 to a Celery message (shared.jobs.coalesce)."""
from __future__ import annotations

from shared import jobs

PAY, WEBHOOK = jobs.PROCESS_PAYMENT, jobs.DELIVER_WEBHOOK


def message(job, arg):
    return (job.name, [arg], job.queue)


def test_payments_are_merged_in_order_up_to_the_batch_size():
    payments = [message(PAY, f"pay_{i}") for i in range(19)]
    merged = jobs.coalesce(payments)
    assert merged == [
        (jobs.PROCESS_PAYMENTS.name, [[f"pay_{i}" for i in range(0, 8)]], "payments"),
        (jobs.PROCESS_PAYMENTS.name, [[f"pay_{i}" for i in range(8, 16)]], "payments"),
        (jobs.PROCESS_PAYMENTS.name, [["pay_16", "pay_17", "pay_18"]], "payments")]


def test_other_jobs_keep_their_place_and_are_not_merged():
    merged = jobs.coalesce([message(PAY, "pay_1"), message(WEBHOOK, 7), message(PAY, "pay_2"),
                            message(WEBHOOK, 8)])
    assert merged == [(jobs.PROCESS_PAYMENTS.name, [["pay_1", "pay_2"]], "payments"),
                      message(WEBHOOK, 7), message(WEBHOOK, 8)]


def test_a_payment_alone_is_the_plain_job():
    assert jobs.coalesce([message(PAY, "pay_1")]) == [message(PAY, "pay_1")]
    assert jobs.coalesce([message(WEBHOOK, 1), message(PAY, "pay_1")]) == [
        message(WEBHOOK, 1), message(PAY, "pay_1")]
    assert jobs.coalesce([]) == []
