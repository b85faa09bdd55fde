"""The reference edge agent: what runs next to a barrier and keeps it working when the platform is away.

Run it with ``python -m gates.agent --url URL --key KEY --state PATH [--simulate [FILE]]`` (or
``manage.py gate_agent`` with the same options). It needs the standard library, ``requests`` and
``cryptography`` only: nothing here imports Django (a real edge box has no Django). The QR credential
rules are shared with the platform through ``bookings.credentials``, whose verification half is
stdlib + ``cryptography`` by design (its Django glue is imported lazily, inside functions).

Modules:

- ``reading``  — a credential read by the hardware and the agent's decision record;
- ``client``   — the HTTP client of the device API (``Authorization: Gate <key>``);
- ``snapshot`` — verification of the signed offline snapshot (Ed25519, pinned keys);
- ``state``    — the durable state in SQLite (WAL, ``synchronous=FULL``): snapshot, pinned keys,
  presence (anti-passback), the outbox of offline events, executed commands, the gate configuration;
- ``offline``  — the offline decision rules, mirroring ``gates.services`` (docs/gates.md);
- ``hardware`` — the barrier/display adapter interface and its console implementation;
- ``agent``    — the decision flow (live call with a short timeout, else offline from the snapshot)
  and the background loop (poll + commands, snapshot refresh, outbox flush);
- ``cli``      — the command line, including ``--simulate``.

gates/agent/README.md is the operator's and integrator's documentation.
"""

AGENT_VERSION = "gate-agent/1.0"
