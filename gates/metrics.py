"""Gate metrics (Prometheus, served at /metrics): decision latency and decisions by reason."""

from prometheus_client import Counter, Histogram

DECISION_SECONDS = Histogram(
    "gate_decision_seconds",
    "Server-side time to take a gate decision.",
    ["kind"],
    buckets=(0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
DECISIONS = Counter(
    "gate_decisions_total", "Gate decisions by kind, decision and reason.", ["kind", "decision", "reason"]
)
