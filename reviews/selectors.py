"""Review reads: the public list of a facility (visible reviews only) with its summary; a user's
reviews and their organizations' (hidden ones included, flagged)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from accounts.selectors import organization_ids_for
from app.exceptions import NotFoundError
from parking.models import Facility

from .models import Review

PUBLIC_ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "rating": ("-rating", "-created_at", "-id"),
    "rating_asc": ("rating", "-created_at", "-id"),
    "helpful": ("-helpful_count", "-created_at", "-id"),
}


def _with_details(queryset: QuerySet[Review]) -> QuerySet[Review]:
    return queryset.select_related("author", "response")


def review_list_public(*, facility: Facility, ordering: str = "newest") -> QuerySet[Review]:
    return _with_details(Review.objects.filter(facility=facility, is_hidden=False)).order_by(
        *PUBLIC_ORDERINGS[ordering]
    )


@dataclass(frozen=True)
class ReviewSummary:
    average: Decimal | None
    count: int
    stars: dict[str, int]


def review_summary(*, facility: Facility) -> ReviewSummary:
    """Average and count as stored on the facility (exact, kept in the review's transaction) and the
    number of visible reviews per star."""
    per_star = dict(
        Review.objects.filter(facility=facility, is_hidden=False)
        .values_list("rating")
        .annotate(n=Count("id"))
        .values_list("rating", "n")
    )
    stars = {str(star): per_star.get(star, 0) for star in range(5, 0, -1)}
    return ReviewSummary(average=facility.rating_average, count=facility.rating_count, stars=stars)


def review_list_visible(*, actor: User) -> QuerySet[Review]:
    """The actor's own reviews and every review of their organizations' facilities."""
    mine = Q(author=actor) | Q(organization_id__in=organization_ids_for(actor=actor))
    return _with_details(Review.objects.filter(mine))


def review_get_visible(*, actor: User | None, review_id: Any) -> Review:
    """A public review, or a hidden one to its author and the facility's organization."""
    visible = Q(is_hidden=False)
    if actor is not None:
        visible |= Q(author=actor) | Q(organization_id__in=organization_ids_for(actor=actor))
    review = _with_details(Review.objects.filter(visible)).filter(pk=review_id).first()
    if review is None:
        raise NotFoundError("Review not found.")
    return review
