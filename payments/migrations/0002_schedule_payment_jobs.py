"""Beat schedules for payments, created in code (ARCHITECTURE §9; editable in the admin)."""

from django.db import migrations

# name → (task, every N minutes) ; the payout run is daily at 06:00 UTC (crontab)
INTERVALS = {
    "payments: send receipts": ("payments.receipts_dispatch", 1),
    "payments: reconcile": ("payments.reconcile", 5),
    "payments: retry webhooks": ("payments.webhooks_retry", 5),
}
PAYOUTS = "payments: owner payouts"


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, minutes) in INTERVALS.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "expire_seconds": minutes * 60 - 5}
        )
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="6", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(name=PAYOUTS, defaults={"task": "payments.payouts", "crontab": daily})


def delete_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[*INTERVALS, PAYOUTS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
