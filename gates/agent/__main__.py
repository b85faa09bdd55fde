"""``python -m gates.agent`` (no Django is imported on this path)."""

from gates.agent.cli import main

raise SystemExit(main())
