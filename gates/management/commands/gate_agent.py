"""``manage.py gate_agent --url URL --key KEY --state PATH [--simulate [FILE]]``: the reference edge
agent (gates/agent/) from a Django checkout — the same options and behaviour as ``python -m gates.agent``.
The agent itself uses no Django: this command only parses the options."""

from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandParser

from gates.agent.cli import add_arguments, run


class Command(BaseCommand):
    help = "Run the reference gate edge agent (see gates/agent/README.md)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run(options, out=cast(TextIO, self.stdout))
