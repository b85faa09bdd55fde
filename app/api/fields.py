"""Serializer fields shared across apps."""

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 datetime that must carry a UTC offset (``2026-05-01T09:00:00+02:00`` or ``…Z``).

    A naive value is ambiguous across time zones and DST changes, so it is refused instead of being
    silently read in the server's zone.
    """

    default_error_messages = {
        "naive": "Give the datetime with a UTC offset, e.g. 2026-05-01T09:00:00+02:00 or 2026-05-01T07:00:00Z.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well-formed but impossible, e.g. minute 99
                self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]]±hh:mm")
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        elif isinstance(value, datetime) and value.tzinfo is None:
            self.fail("naive")
        return super().to_internal_value(value)
