"""Payment metrics (Prometheus, /metrics): outcomes by provider and webhook failures."""

from prometheus_client import Counter

PAYMENT_OUTCOMES = Counter(
    "payment_outcomes_total", "Payments that became succeeded or failed, by provider.", ["provider", "status"]
)
WEBHOOK_FAILURES = Counter(
    "payment_webhook_failures_total", "Provider webhook events whose effect failed.", ["provider"]
)
