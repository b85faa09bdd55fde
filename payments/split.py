"""Whose share a refund gives back (ARCHITECTURE §5: percentages once per line, rounded half-up).

The rule, also in docs/payments.md:

* A refund of everything that is still refundable reverses whatever is left of both shares (a full
  cancellation gives back the fees too).
* Policy refunds of parking time (``cancellation``, ``early_exit``, ``hold_expired`` partial,
  ``no_show_adjustment``) come out
  of the owner's share first: the platform keeps its fees, as the cancellation policy says; only what
  exceeds the owner's remaining share touches the platform's.
* Any other partial refund (goodwill, dispute, not owed) is split in proportion to the
  payment's shares: platform part = round_half_up(amount × platform_amount / payment amount), capped by
  what is left of each share; the owner part is the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from pricing.money import round_half_up

OWNER_FIRST_REASONS = frozenset({"cancellation", "early_exit", "hold_expired", "no_show_adjustment"})


@dataclass(frozen=True)
class Split:
    owner: int
    platform: int


def refund_split(
    *,
    amount: int,
    reason: str,
    payment_amount: int,
    payment_platform: int,
    owner_left: int,
    platform_left: int,
) -> Split:
    """Split ``amount`` (≤ ``owner_left + platform_left``, what is still refundable of each share)."""
    if amount < 0 or amount > owner_left + platform_left:
        raise ValueError("refund amount outside what is refundable")
    if amount == owner_left + platform_left:
        return Split(owner=owner_left, platform=platform_left)
    if reason in OWNER_FIRST_REASONS:
        owner = min(amount, owner_left)
        return Split(owner=owner, platform=amount - owner)
    platform = min(round_half_up(amount * payment_platform, payment_amount), platform_left, amount)
    owner = amount - platform
    if owner > owner_left:  # the owner's share is used up: the rest comes from the platform's
        owner, platform = owner_left, amount - owner_left
    return Split(owner=owner, platform=platform)
