"""Beat schedules for enforcement and the daily cleanup, created in code (ARCHITECTURE §9; editable in
the admin); the reminder job is renamed to the issue's `send_reminders` (it now also reminds before the end)."""

from django.db import migrations

# name → (task, every, period)
SCHEDULES = {
    "enforcement: release no-shows": ("enforcement.release_no_shows", 5, "minutes"),
    "enforcement: detect overstays": ("enforcement.detect_overstays", 5, "minutes"),
    "enforcement: send violation notices": ("enforcement.notices_dispatch", 1, "minutes"),
    "cleanup": ("enforcement.cleanup", 1, "days"),
}
SECONDS = {"minutes": 60, "days": 86400}
REMINDERS = (("bookings: queue reminders", "bookings.queue_reminders"), ("bookings: send reminders", "bookings.send_reminders"))


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, every, period) in SCHEDULES.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "expire_seconds": every * SECONDS[period] - 5}
        )
    (old_name, old_task), (new_name, new_task) = REMINDERS
    PeriodicTask.objects.filter(name=old_name).update(name=new_name, task=new_task)


def delete_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=SCHEDULES).delete()
    (old_name, old_task), (new_name, new_task) = REMINDERS
    PeriodicTask.objects.filter(name=new_name).update(name=old_name, task=old_task)


class Migration(migrations.Migration):
    dependencies = [
        ("enforcement", "0002_violations_disputes_notices_job_runs"),
        ("bookings", "0005_schedule_outbox_jobs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
