"""How money and rates are written for people (one helper each, used everywhere)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from capital_app.domain.currencies import minor_units

_SCALES = ((10**12, "T"), (10**9, "B"), (10**6, "M"))


def format_money(cents: int, currency: str = "KES") -> str:
    """123456789 → 'KES 1,234,567.89' (exact, integer arithmetic); minor units are the
    currency's: 1234 JPY → 'JPY 1,234', 1234 KWD → 'KWD 1.234'."""
    sign = "-" if cents < 0 else ""
    places = minor_units(currency)
    whole, part = divmod(abs(cents), 10**places)
    if places == 0:
        return f"{currency} {sign}{whole:,}"
    return f"{currency} {sign}{whole:,}.{part:0{places}d}"


def format_money_short(cents: int, currency: str = "KES") -> str:
    """Large amounts for KPI cards: 'KES 1.23 B'; small ones stay exact."""
    shillings = Decimal(cents).scaleb(-minor_units(currency))
    for size, suffix in _SCALES:
        if abs(shillings) >= size:
            scaled = (shillings / size).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
            return f"{currency} {scaled} {suffix}"
    return format_money(cents, currency)


def format_rate(rate: Decimal | None) -> str:
    """Decimal('0.1325') → '13.25 %'; up to 4 decimals when needed: '13.2575 %'."""
    if rate is None:
        return "—"
    percent = (rate * 100).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    text = f"{percent:.4f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')} %"


def format_basis_points(delta: Decimal) -> str:
    """A change in rate as basis points with an arrow: '▲ 12.5 bp'.

    Below one basis point the figure keeps two decimals, so a real (if tiny) move
    never reads as "0 bp" beside an arrow-coloured card.
    """
    bp = delta * 10000
    if bp == 0:
        return "0 bp"
    arrow = "▲" if bp > 0 else "▼"
    places = Decimal("0.1") if abs(bp) >= 1 else Decimal("0.01")
    shown = abs(bp).quantize(places, rounding=ROUND_HALF_EVEN)
    if shown == 0:
        return f"{arrow} < 0.01 bp"
    return f"{arrow} {shown.normalize():f} bp"


def decimal_text(value: Decimal) -> str:
    """Plain positional notation without trailing zeros: 0.132500 → '0.1325'."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
