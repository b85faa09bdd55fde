from celery import shared_task


@shared_task(name="reviews.notice_send", soft_time_limit=60, time_limit=90)
def review_notice_send_task(notice_id: int) -> bool:
    """Email one host about a new review (kicked after commit). A sent notice is not sent again."""
    from .notices import review_notice_send

    return review_notice_send(notice_id)


@shared_task(name="reviews.notices_dispatch", soft_time_limit=240, time_limit=300, tracked=True)
def review_notices_dispatch_task() -> int:
    """Beat job (every minute): send new-review emails still unsent (e.g. the broker was down)."""
    from .notices import review_notices_dispatch

    return review_notices_dispatch()
