"""Run one periodic job once, now, by its beat name or task name (ARCHITECTURE §9).

python manage.py run_job "bookings: expire unpaid holds"
python manage.py run_job bookings.expire_unpaid_holds
python manage.py run_job release_no_shows        (a task name without its app prefix)
python manage.py run_job --list
"""

from typing import Any

from celery import current_app
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_celery_beat.models import PeriodicTask


class Command(BaseCommand):
    help = "Run a periodic job once, synchronously, by its schedule name or task name."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="PeriodicTask name or Celery task name")
        parser.add_argument("--list", action="store_true", help="list the scheduled jobs")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for task in PeriodicTask.objects.order_by("name"):
                self.stdout.write(f"{task.name:<40} {task.task:<36} {'enabled' if task.enabled else 'disabled'}")
            return
        name = options["name"]
        if not name:
            raise CommandError("Give a job name (see --list).")
        scheduled = PeriodicTask.objects.filter(name=name).first()
        task_name = scheduled.task if scheduled else name
        current_app.loader.import_default_modules()
        task = current_app.tasks.get(task_name)
        if task is None:
            by_suffix = [task for name, task in current_app.tasks.items() if name.endswith(f".{task_name}")]
            task = by_suffix[0] if len(by_suffix) == 1 else None
        if task is None:
            raise CommandError(f"No job or task named {name!r} (see --list).")
        result = task.apply(throw=False)  # a failure is reported below (and recorded as a failed job run)
        if result.failed():
            raise CommandError(f"{task_name} failed: {result.result!r}")
        self.stdout.write(self.style.SUCCESS(f"{task_name}: {result.result!r}"))
