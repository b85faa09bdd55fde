"""The host's email about a new review (outbox rows, sent by the bookings outbox machinery)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from bookings.outbox import outbox_dispatch_rows, outbox_send_row

from .models import Review, ReviewNotice


def review_notice_email(notice: ReviewNotice) -> EmailMessage | None:
    review = Review.objects.select_related("facility").get(pk=notice.review_id)
    if review.is_hidden:
        return None  # hidden by moderation before the email went out
    context = {
        "facility_name": review.facility.name,
        "stars": "★" * review.rating + "☆" * (5 - review.rating),
        "rating": review.rating,
        "title": review.title,
        "comment": review.comment,
        "review_id": review.pk,
    }
    return EmailMessage(
        subject=f"New {review.rating}-star review of {review.facility.name}",
        body=render_to_string("reviews/email/new_review.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notice.to_email],
    )


def review_notice_send(notice_id: int) -> bool:
    return outbox_send_row(ReviewNotice, notice_id, review_notice_email)


def review_notices_dispatch(*, batch_size: int = 50) -> int:
    return outbox_dispatch_rows(ReviewNotice, review_notice_email, batch_size=batch_size)
