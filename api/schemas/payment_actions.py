"""Request schemas for actions on a payment (Razorpay Checkout verification)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class RazorpayCheckoutVerificationSchema(Schema):
    """What Razorpay Checkout's ``handler`` hands the merchant's page, posted back as is."""
    razorpay_order_id = fields.String(required=True, validate=validate.Length(1, 64))
    razorpay_payment_id = fields.String(required=True, validate=validate.Length(1, 64))
    razorpay_signature = fields.String(required=True, validate=validate.Length(1, 256))
