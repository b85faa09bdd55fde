"""Double-entry postings (payments/models.py LedgerEntry). Debits are positive, credits negative;
every posting sums to zero, which the database re-checks at commit (a deferred constraint trigger).

| event | provider_clearing | platform_revenue | owner_payable (org) |
|---|---|---|---|
| payment succeeded (card) | +amount | −platform | −owner |
| payment succeeded (cash: the org holds the money) | | −platform | +amount −owner (= +platform) |
| refund succeeded (card) | −amount | +platform part | +owner part |
| refund succeeded (cash, paid back by the org) | | +platform part | −amount +owner part |
| payout paid | −amount | | +amount |

The organization's balance owed is minus the sum of its owner_payable lines.
"""

from __future__ import annotations

import uuid

from django.db.models import Sum

from .models import LedgerAccount, LedgerEntry, Payment, Payout, Refund

CASH = "cash"


def _post(lines: list[LedgerEntry]) -> uuid.UUID:
    transaction_id = uuid.uuid4()
    if sum(line.amount for line in lines) != 0:  # the trigger would refuse it at commit anyway
        raise ValueError("unbalanced ledger posting")
    for line in lines:
        line.transaction_id = transaction_id
    LedgerEntry.objects.bulk_create([line for line in lines if line.amount != 0])
    return transaction_id


def post_payment(payment: Payment) -> uuid.UUID:
    """Post a succeeded payment. Call once, inside the transaction that marks it succeeded."""
    common = {"currency": payment.currency, "payment": payment}
    memo = f"payment {payment.pk}"
    owner_lines = [
        LedgerEntry(
            account=LedgerAccount.OWNER_PAYABLE,
            organization_id=payment.organization_id,
            amount=-payment.owner_amount,
            memo=f"{memo}: owner share",
            **common,
        )
    ]
    if payment.provider == CASH:
        owner_lines.append(
            LedgerEntry(
                account=LedgerAccount.OWNER_PAYABLE,
                organization_id=payment.organization_id,
                amount=payment.amount,
                memo=f"{memo}: cash taken by the organization",
                **common,
            )
        )
    else:
        owner_lines.append(
            LedgerEntry(account=LedgerAccount.PROVIDER_CLEARING, amount=payment.amount, memo=memo, **common)
        )
    return _post(
        [
            *owner_lines,
            LedgerEntry(
                account=LedgerAccount.PLATFORM_REVENUE, amount=-payment.platform_amount, memo=f"{memo}: fees", **common
            ),
        ]
    )


def post_refund(refund: Refund, payment: Payment) -> uuid.UUID:
    """Post a succeeded refund (reverses the shares it names)."""
    common = {"currency": payment.currency, "payment": payment, "refund": refund}
    memo = f"refund {refund.pk}"
    money_out = (
        LedgerEntry(
            account=LedgerAccount.OWNER_PAYABLE,
            organization_id=payment.organization_id,
            amount=-refund.amount,
            memo=f"{memo}: cash paid back by the organization",
            **common,
        )
        if payment.provider == CASH
        else LedgerEntry(account=LedgerAccount.PROVIDER_CLEARING, amount=-refund.amount, memo=memo, **common)
    )
    return _post(
        [
            money_out,
            LedgerEntry(
                account=LedgerAccount.PLATFORM_REVENUE, amount=refund.platform_amount, memo=f"{memo}: fees", **common
            ),
            LedgerEntry(
                account=LedgerAccount.OWNER_PAYABLE,
                organization_id=payment.organization_id,
                amount=refund.owner_amount,
                memo=f"{memo}: owner share",
                **common,
            ),
        ]
    )


def post_payout(payout: Payout) -> uuid.UUID:
    common = {"currency": payout.currency, "payout": payout}
    memo = f"payout {payout.pk}"
    return _post(
        [
            LedgerEntry(
                account=LedgerAccount.OWNER_PAYABLE,
                organization_id=payout.organization_id,
                amount=payout.amount,
                memo=memo,
                **common,
            ),
            LedgerEntry(account=LedgerAccount.PROVIDER_CLEARING, amount=-payout.amount, memo=memo, **common),
        ]
    )


def owed_to(organization_id: uuid.UUID, currency: str) -> int:
    """What the platform owes the organization now (minor units; negative: the organization owes)."""
    total = (
        LedgerEntry.objects.filter(
            account=LedgerAccount.OWNER_PAYABLE, organization_id=organization_id, currency=currency
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return -int(total)
