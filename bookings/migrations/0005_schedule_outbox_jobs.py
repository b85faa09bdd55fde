"""Beat schedules for the booking email outbox, created in code (ARCHITECTURE §9; editable in the admin)."""

from django.db import migrations

# name → (task, every N minutes)
SCHEDULES = {
    "bookings: send outbox": ("bookings.outbox_dispatch", 1),
    "bookings: queue reminders": ("bookings.queue_reminders", 5),
}


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, minutes) in SCHEDULES.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "expire_seconds": minutes * 60 - 5}
        )


def delete_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0004_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
