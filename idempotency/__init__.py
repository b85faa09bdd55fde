"""Stored Idempotency-Key records and the DRF decorator that uses them (see ``app.idempotency``)."""
