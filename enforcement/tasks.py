from celery import shared_task


@shared_task(name="enforcement.release_no_shows", soft_time_limit=240, time_limit=300, tracked=True)
def release_no_shows_task() -> dict[str, int]:
    """Beat job (every 5 minutes): release no-shows and settle their fee. Idempotent."""
    from .jobs import release_no_shows

    return release_no_shows()


@shared_task(name="enforcement.detect_overstays", soft_time_limit=240, time_limit=300, tracked=True)
def detect_overstays_task() -> dict[str, int]:
    """Beat job (every 5 minutes): notify overstays once, issue overstay violations. Idempotent."""
    from .jobs import detect_overstays

    return detect_overstays()


@shared_task(name="enforcement.notice_send", soft_time_limit=60, time_limit=90)
def notice_send_task(notice_id: int) -> bool:
    """Send one violation notice (kicked after commit). A sent notice is not sent again."""
    from .notices import notice_send

    return notice_send(notice_id)


@shared_task(name="enforcement.notices_dispatch", soft_time_limit=240, time_limit=300, tracked=True)
def notices_dispatch_task() -> int:
    """Beat job (every minute): send due violation notices (e.g. when the broker was down)."""
    from .notices import notices_dispatch

    return notices_dispatch()


@shared_task(name="enforcement.cleanup", soft_time_limit=1200, time_limit=1500, tracked=True)
def cleanup_task() -> dict[str, int]:
    """Beat job (daily): retention cleanup across the apps (enforcement.cleanup)."""
    from .cleanup import cleanup

    return cleanup()
