"""Re-encrypt stored plates under the current (first) key of ``PLATE_ENCRYPTION_KEYS``.

Key rotation: put the new key first (``PLATE_ENCRYPTION_KEYS=new,old``), deploy, run this command,
then remove the old key. Rows already under the first key are left alone, so the command is
idempotent and can be re-run after an interruption. Each batch is one transaction holding its rows
``FOR UPDATE``; ``MultiFernet.rotate`` re-encrypts without the plaintext leaving the crypto call.
"""

from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from vehicles.exceptions import PlateDecryptionError
from vehicles.models import Vehicle
from vehicles.plates import plate_fernet, plate_rotate, plate_token_is_current


class Command(BaseCommand):
    help = "Re-encrypt every vehicle plate under the first key of PLATE_ENCRYPTION_KEYS (after a key rotation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        plate_fernet()  # missing or malformed keys fail here, before any row is touched

        examined = rewritten = 0
        last_id: UUID | None = None
        while True:
            with transaction.atomic():
                rows = Vehicle.objects.select_for_update().order_by("pk")
                if last_id is not None:
                    rows = rows.filter(pk__gt=last_id)
                # Cast to text: read the stored token itself, not the decrypted plate.
                batch: list[tuple[UUID, str]] = list(
                    rows.annotate(token=Cast("plate", models.TextField())).values_list("pk", "token")[:batch_size]
                )
                batch_rewritten = 0
                for vehicle_id, token in batch:
                    if plate_token_is_current(token):
                        continue
                    try:
                        new_token = plate_rotate(token)
                    except PlateDecryptionError:
                        raise CommandError(
                            f"The plate of vehicle {vehicle_id} cannot be decrypted with any key in "
                            f"PLATE_ENCRYPTION_KEYS; its batch was rolled back. {rewritten} plates were "
                            "re-encrypted before it; fix the keys and run the command again."
                        ) from None
                    # A text-typed value: stored as given, not encrypted a second time by the field.
                    Vehicle.objects.filter(pk=vehicle_id).update(plate=models.Value(new_token, models.TextField()))
                    batch_rewritten += 1
            if not batch:
                break
            examined += len(batch)
            rewritten += batch_rewritten
            last_id = batch[-1][0]

        self.stdout.write(f"Re-encrypted {rewritten} of {examined} vehicle plates under the current key.")
