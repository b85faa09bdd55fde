"""Review writes. Every change that can move a facility's aggregates locks the facility row first and
recomputes them from the visible reviews in the same transaction, so two reviews landing at once
still leave exact numbers (the second waits for the first and then counts it)."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import AuditAction, Membership, User
from accounts.selectors import MANAGER_ROLES
from app.events import event_publish
from app.exceptions import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from bookings.models import Booking, BookingStatus
from parking.cache import facility_cache_bump
from parking.models import Facility

from .models import HelpfulVote, OwnerResponse, Review, ReviewNotice

logger = logging.getLogger(__name__)

REVIEW_WINDOW = timedelta(days=30)
EDIT_WINDOW = timedelta(hours=48)
TWO_PLACES = Decimal("0.01")


def _refresh_aggregates(facility_id: int) -> None:
    """Recompute the facility's average (2 places, half-up) and count from its visible reviews.
    Precondition: the facility row is locked by this transaction."""
    totals = Review.objects.filter(facility_id=facility_id, is_hidden=False).aggregate(
        total=Sum("rating"), count=Count("id")
    )
    count = totals["count"] or 0
    average = (Decimal(totals["total"]) / count).quantize(TWO_PLACES, ROUND_HALF_UP) if count else None
    Facility.objects.filter(pk=facility_id).update(rating_average=average, rating_count=count)
    transaction.on_commit(lambda: facility_cache_bump(facility_id))


def _lock_facility(facility_id: int) -> None:
    list(Facility.objects.select_for_update().filter(pk=facility_id).values_list("pk", flat=True))


def _booking_error(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code, attr="booking")


def review_create(
    *, author: User, booking_id: Any, rating: int, title: str = "", comment: str = "", at: datetime | None = None
) -> Review:
    """The driver of a ``completed`` booking reviews it once, within 30 days of the stay's end.
    Another driver's (or no) booking is 400 ``invalid`` on ``booking`` (existence is not revealed);
    not completed: 400 ``booking_not_completed``; too late: 400 ``review_window_closed``; twice: 409
    ``already_reviewed``. The organization's owners and managers are emailed."""
    at = at or timezone.now()
    booking = Booking.objects.filter(pk=booking_id, driver=author).select_related("facility").first()
    if booking is None:
        raise _booking_error("Not one of your bookings.", "invalid")
    if booking.status != BookingStatus.COMPLETED:
        raise _booking_error("Only a completed stay can be reviewed.", "booking_not_completed")
    stay_end = booking.checked_out_at or booking.end
    if at > stay_end + REVIEW_WINDOW:
        raise _booking_error("Stays can be reviewed for 30 days after they end.", "review_window_closed")
    try:
        with transaction.atomic():
            _lock_facility(booking.facility_id)
            review = Review.objects.create(
                booking=booking,
                facility_id=booking.facility_id,
                organization_id=booking.organization_id,
                author=author,
                rating=rating,
                title=title,
                comment=comment,
            )
            _refresh_aggregates(booking.facility_id)
            _notify_hosts(review)
            event_publish(
                "review.created",
                {"id": review.pk, "facility": review.facility_id, "rating": review.rating, "booking": str(booking.pk)},
                organization_id=review.organization_id,
                user_ids=[author.pk],
            )
    except IntegrityError as exc:
        if Review.objects.filter(booking_id=booking.pk).exists():
            raise ConflictError("You have already reviewed this stay.", code="already_reviewed") from exc
        raise
    return review


def review_update(*, review: Review, author: User, data: dict[str, Any], at: datetime | None = None) -> Review:
    """The author edits rating/title/comment within 48 hours of posting (409 ``edit_window_closed``)."""
    at = at or timezone.now()
    if review.author_id != author.pk:
        raise NotFoundError("Review not found.")
    if at > review.created_at + EDIT_WINDOW:
        raise ConflictError("Reviews can be edited for 48 hours after they are posted.", code="edit_window_closed")
    with transaction.atomic():
        _lock_facility(review.facility_id)
        locked = Review.objects.select_for_update().get(pk=review.pk)
        for field in ("rating", "title", "comment"):
            if field in data:
                setattr(locked, field, data[field])
        locked.edited_at = at
        locked.save(update_fields=["rating", "title", "comment", "edited_at"])
        _refresh_aggregates(locked.facility_id)
    return locked


def review_set_hidden(*, review: Review, actor: User, hidden: bool, reason: str) -> Review:
    """Moderation (the back office): hide or unhide with a reason; audited; aggregates follow."""
    with transaction.atomic():
        _lock_facility(review.facility_id)
        locked = Review.objects.select_for_update().get(pk=review.pk)
        if locked.is_hidden == hidden:
            raise ConflictError(
                f"The review is already {'hidden' if hidden else 'visible'}.", code="invalid_transition"
            )
        locked.is_hidden = hidden
        locked.hidden_reason = reason[:500] if hidden else ""
        locked.save(update_fields=["is_hidden", "hidden_reason"])
        _refresh_aggregates(locked.facility_id)
        audit_log_record(
            action=AuditAction.REVIEW_HIDDEN if hidden else AuditAction.REVIEW_UNHIDDEN,
            actor=actor,
            organization_id=locked.organization_id,
            target=locked,
            data={"reason": reason},
        )
    return locked


def _require_host(review: Review, actor: User) -> None:
    is_host = Membership.objects.filter(
        user=actor, organization_id=review.organization_id, role__in=MANAGER_ROLES
    ).exists()
    if not is_host:
        raise PermissionDeniedError("Only the facility's owners and managers can respond to its reviews.")


def response_create(*, review: Review, actor: User, body: str) -> OwnerResponse:
    """The host's one public response (owners/managers of the facility's organization; 403 otherwise;
    409 ``already_responded`` for a second one — edit it instead)."""
    _require_host(review, actor)
    try:
        with transaction.atomic():
            return OwnerResponse.objects.create(review=review, author=actor, body=body)
    except IntegrityError as exc:
        raise ConflictError("This review already has a response; edit it.", code="already_responded") from exc


def response_update(*, review: Review, actor: User, body: str) -> OwnerResponse:
    _require_host(review, actor)
    with transaction.atomic():
        response = OwnerResponse.objects.select_for_update().filter(review=review).first()
        if response is None:
            raise NotFoundError("This review has no response yet.")
        response.body, response.edited_at = body, timezone.now()
        response.save(update_fields=["body", "edited_at"])
    return response


def helpful_vote(*, review: Review, user: User) -> Review:
    """Mark a visible review helpful, once per user (409 ``already_voted``), never one's own (400
    ``own_review``). The count is incremented in the same transaction as the vote."""
    if review.author_id == user.pk:
        raise ApplicationError("You cannot vote for your own review.", code="own_review")
    try:
        with transaction.atomic():
            HelpfulVote.objects.create(review=review, user=user)
            Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") + 1)
    except IntegrityError as exc:
        raise ConflictError("You already marked this review helpful.", code="already_voted") from exc
    review.refresh_from_db(fields=["helpful_count"])
    return review


# ---------------------------------------------------------------------------- host emails


def _notify_hosts(review: Review) -> None:
    emails = (
        Membership.objects.filter(organization_id=review.organization_id, role__in=MANAGER_ROLES)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
        .distinct()
    )
    for email in sorted(emails):
        notice = ReviewNotice.objects.create(review=review, to_email=email)
        transaction.on_commit(functools.partial(_kick, notice.pk))


def _kick(notice_id: int) -> None:
    from .tasks import review_notice_send_task

    try:
        review_notice_send_task.delay(notice_id)
    except Exception:
        logger.warning("reviews: could not queue notice %s; the dispatch job will send it", notice_id, exc_info=True)
