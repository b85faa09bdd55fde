"""Reviews of completed stays, the host's response, helpful votes, and the host's new-review emails.

Facility aggregates (``Facility.rating_average`` / ``rating_count``, published as ``average_rating``
/ ``review_count``) are recomputed from the visible reviews in the same transaction as every change,
under the facility row's lock (reviews/services.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Organization
from bookings.models import Booking, EmailOutboxBase
from parking.models import Facility


class Review(models.Model):
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="review")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="reviews")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", editable=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120, blank=True)
    comment = models.TextField(blank=True, max_length=5000)
    is_hidden = models.BooleanField(default=False, help_text="Hidden by moderation: not public, not counted.")
    hidden_reason = models.CharField(max_length=500, blank=True)
    helpful_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"),)
        indexes = (
            models.Index(fields=("facility", "-created_at"), condition=Q(is_hidden=False), name="review_public"),
            models.Index(fields=("organization", "-created_at"), name="review_organization"),
        )

    def __str__(self) -> str:
        return f"{self.rating}★ for {self.facility_id} by {self.author_id}"


class OwnerResponse(models.Model):
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="response")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"response to review {self.review_id}"


class HelpfulVote(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="helpful_votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (models.UniqueConstraint(fields=("review", "user"), name="helpful_vote_once"),)

    def __str__(self) -> str:
        return f"{self.user_id} found {self.review_id} helpful"


class ReviewNotice(EmailOutboxBase):
    """An email to one owner/manager of the facility's organization about a new review."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="notices")

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"new review {self.review_id} → {self.to_email}"
