from django.db import models
from django.utils import timezone


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "in progress"
    COMPLETED = "completed", "completed"


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one caller on one endpoint, and (once completed) the answer it got.

    A row is claimed ``in_progress`` by the request that runs the operation (``claim_token`` names that
    request; ``claimed_at`` starts its lease) and either completed with the stored answer or deleted
    when the answer is transient. Rows expire after ``IDEMPOTENCY_TTL`` (``created_at``).
    """

    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=100, help_text="user:<id> or ip:<client address>")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=512, help_text="Request path, or sha256:<hex> of a very long one.")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON request body.")
    status = models.CharField(max_length=16, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS)
    claim_token = models.UUIDField()
    claimed_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The JSON text exactly as first rendered (not jsonb, which would reorder keys): replays are byte-identical.
    response_body = models.TextField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "method", "path", "key"], name="idempotency_record_unique_key"),
            models.CheckConstraint(
                condition=models.Q(status=IdempotencyStatus.IN_PROGRESS)
                | models.Q(
                    status=IdempotencyStatus.COMPLETED, response_status__isnull=False, completed_at__isnull=False
                ),
                name="idempotency_record_completed_has_response",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_record_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}] {self.status}"
