"""Currencies: minor units, dated FX and tax rates, and totals in the reporting currency.

The rule (docs/currencies.md):

- Amounts are integers in each currency's minor units (ISO 4217 exponent: KES and USD
  2, JPY 0, KWD 3). A source's amount is never rounded or re-expressed where stored.
- An FX rate is a dated fact "1 FROM = rate TO" (major units). Converting `m` minor
  units of FROM gives the exact decimal `m × rate × 10^(e_TO − e_FROM)` minor units of
  TO — nothing is rounded per source or per currency.
- The reporting total is the exact sum of the converted amounts, rounded ONCE, half to
  even, to whole minor units of the reporting currency. WACC and after-tax WACC are
  computed from the exact converted amounts (not from the rounded total) and then
  quantized like every WACC (domain/wacc.py, 10 places, half to even).
- The rate used for a day D, as known at K, is the one with the latest effective date
  on or before D among those recorded by K; of two with the same effective date the
  later recorded one (a correction) wins. Only FROM→reporting rates are used: an
  inverse rate is not inverted (1/rate rarely terminates). A missing rate is named
  ("no USD→KES rate on or before 3 Mar 2025") and leaves the total and WACC absent,
  never a partial sum.
- A currency equal to the reporting currency converts at exactly 1.
- After-tax WACC = (Σ equity × rate + Σ debt × rate × (1 − tax)) / Σ amounts, with the
  tax rate in force on D as known at K; without one it is absent and the reason says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from enum import StrEnum
from typing import TypeVar

from capital_app.domain.dates import format_day
from capital_app.domain.errors import InvalidInput
from capital_app.domain.values import MAX_CENTS, check_cents
from capital_app.domain.wacc import WACC_QUANTUM, WaccSummary

# ISO 4217 exponents that are not 2 (the list's active codes); every other known code is 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
_TWO_DECIMALS = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BOV",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHE",
    "CHF",
    "CHW",
    "CNY",
    "COP",
    "COU",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MXV",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "USN",
    "UYU",
    "UZS",
    "VED",
    "VES",
    "WST",
    "XCD",
    "XCG",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
]
MINOR_UNITS: dict[str, int] = {**dict.fromkeys(_TWO_DECIMALS, 2), **_EXPONENTS}

FX_RATE_PLACES = 12
FX_RATE_MAX = Decimal(10) ** 12  # numeric(24, 12)
TAX_RATE_PLACES = 6


class Kind(StrEnum):
    """What a source is for the after-tax WACC: debt's cost is tax-deductible."""

    DEBT = "debt"
    EQUITY = "equity"


def check_iso_currency(value: object, field_name: str = "currency") -> str:
    """An ISO 4217 code this app knows the minor units of (KES, USD, JPY, KWD …)."""
    if not isinstance(value, str) or value.strip().upper() != value.strip():
        raise InvalidInput.one(field_name, "Currency must be a three-letter code such as KES.")
    code = value.strip()
    if code not in MINOR_UNITS:
        # Echo the input only when it is three capitals: never odd characters into a message.
        named = code if len(code) == 3 and code.isascii() and code.isalpha() else "This"
        raise InvalidInput.one(field_name, f"{named} is not an ISO 4217 currency code.")
    return code


def check_kind(value: object, field_name: str = "kind") -> Kind:
    if isinstance(value, Kind):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return Kind(value.strip().lower())
    except ValueError:
        raise InvalidInput.one(field_name, "Kind must be debt or equity.") from None


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for an unknown code, as most are)."""
    return MINOR_UNITS.get(currency, 2)


def parse_money_in(text: str, currency: str, field_name: str = "availableCents") -> int:
    """'1,234.5' typed in `currency`'s major units → its minor units (at most as many
    decimals as the currency has: none for JPY, three for KWD)."""
    raw = text.strip().upper() if isinstance(text, str) else ""
    raw = raw.removeprefix(currency).strip().replace(",", "").replace(" ", "")
    if not raw:
        raise InvalidInput.one(field_name, "Amount is required.")
    try:
        amount = Decimal(raw)
    except ArithmeticError:
        raise InvalidInput.one(field_name, "Amount must be a number, like 1,250,000.00.") from None
    if not amount.is_finite():
        raise InvalidInput.one(field_name, "Amount must be a number, like 1,250,000.00.")
    if amount and amount.adjusted() > 20:
        return check_cents(MAX_CENTS + 1, field_name)
    places = minor_units(currency)
    minor = amount.scaleb(places)
    if minor != minor.to_integral_value():
        if places == 0:
            raise InvalidInput.one(field_name, f"An amount in {currency} has no decimals.")
        # The words of values.parse_money for the usual 2 places (the UI's message).
        raise InvalidInput.one(field_name, f"Amount can have at most {places} decimal places.")
    return check_cents(int(minor), field_name)


def _check_decimal(value: object, field_name: str, what: str) -> Decimal:
    if isinstance(value, (float, bool)):
        raise InvalidInput.one(
            field_name, f"{what} must be given as a decimal string, not a float."
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (ArithmeticError, TypeError, ValueError):
        raise InvalidInput.one(field_name, f"{what} must be a decimal number.") from None
    if not number.is_finite():
        raise InvalidInput.one(field_name, f"{what} must be a decimal number.")
    return number


def check_fx_rate(value: object, field_name: str = "rate") -> Decimal:
    """A positive exchange rate with at most 12 decimal places, below 10^12."""
    rate = _check_decimal(value, field_name, "The rate")
    if rate <= 0 or rate >= FX_RATE_MAX:
        raise InvalidInput.one(field_name, "The rate must be above 0 and below 1,000,000,000,000.")
    if rate != rate.quantize(Decimal(1).scaleb(-FX_RATE_PLACES), rounding=ROUND_HALF_EVEN):
        raise InvalidInput.one(field_name, f"The rate may have at most {FX_RATE_PLACES} decimals.")
    return rate


def check_tax_rate(value: object, field_name: str = "rate") -> Decimal:
    """A tax rate as a fraction, 0 ≤ rate < 1, with at most 6 decimal places."""
    rate = _check_decimal(value, field_name, "The tax rate")
    if rate < 0 or rate >= 1:
        raise InvalidInput.one(
            field_name, "The tax rate must be a fraction from 0 up to (not including) 1."
        )
    if rate != rate.quantize(Decimal(1).scaleb(-TAX_RATE_PLACES), rounding=ROUND_HALF_EVEN):
        raise InvalidInput.one(
            field_name, f"The tax rate may have at most {TAX_RATE_PLACES} decimals."
        )
    return rate


@dataclass(frozen=True, slots=True)
class FxRate:
    """1 `from_currency` = `rate` `to_currency`, in force from `effective_date` on."""

    from_currency: str
    to_currency: str
    rate: Decimal
    effective_date: date
    recorded_at: datetime
    id: str = ""
    recorded_by: str | None = None


@dataclass(frozen=True, slots=True)
class TaxRate:
    rate: Decimal
    effective_date: date
    recorded_at: datetime
    id: str = ""
    recorded_by: str | None = None


def missing_rate_message(from_currency: str, to_currency: str, day: date) -> str:
    return f"no {from_currency}→{to_currency} rate on or before {format_day(day)}"


def missing_tax_message(day: date) -> str:
    return f"no corporate tax rate on or before {format_day(day)}"


_Fact = TypeVar("_Fact", FxRate, TaxRate)


def _in_force(facts: Iterable[_Fact], day: date, known_at: datetime) -> _Fact | None:
    """The fact in force on `day` among those recorded by `known_at` (latest date, then
    latest recording: a correction of the same day wins)."""
    best: _Fact | None = None
    for fact in facts:
        if fact.effective_date > day or fact.recorded_at > known_at:
            continue
        if best is None or (fact.effective_date, fact.recorded_at) > (
            best.effective_date,
            best.recorded_at,
        ):
            best = fact
    return best


@dataclass(frozen=True, slots=True)
class RateBook:
    """An organization's reporting currency and every FX and tax rate it has recorded."""

    reporting_currency: str
    fx: Sequence[FxRate] = ()
    tax: Sequence[TaxRate] = ()

    def fx_rate(self, currency: str, day: date, known_at: datetime) -> Decimal | None:
        """1 `currency` in the reporting currency on `day`, as known at `known_at`."""
        if currency == self.reporting_currency:
            return Decimal(1)
        found = _in_force(
            (
                r
                for r in self.fx
                if r.from_currency == currency and r.to_currency == self.reporting_currency
            ),
            day,
            known_at,
        )
        return found.rate if found else None

    def tax_rate(self, day: date, known_at: datetime) -> Decimal | None:
        found = _in_force(self.tax, day, known_at)
        return found.rate if found else None


def convert_minor(
    amount: int | Decimal, from_currency: str, to_currency: str, rate: Decimal
) -> Decimal:
    """Exact minor units of `to_currency` for `amount` minor units of `from_currency`."""
    with localcontext() as ctx:
        ctx.prec = 80
        shift = minor_units(to_currency) - minor_units(from_currency)
        return (Decimal(amount) * rate).scaleb(shift)


def convert_exact(amount_minor: int, factor: Decimal) -> Decimal:
    """`amount_minor` × a factor of ReportingSummary.factors (exact)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return Decimal(amount_minor) * factor


def round_minor(amount: Decimal) -> int:
    """The one rounding: whole minor units, half to even."""
    return int(amount.to_integral_value(rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True)
class BucketSums:
    """Σ amount (own minor units), Σ amount × rate and the count of one currency and kind."""

    currency: str
    kind: Kind
    total_minor: int
    weighted: Decimal
    count: int


@dataclass(frozen=True, slots=True)
class Holding:
    """One active source as the reporting total sees it."""

    currency: str
    kind: Kind
    amount_minor: int
    rate: Decimal


def buckets_of(holdings: Iterable[Holding]) -> list[BucketSums]:
    """The holdings summed per (currency, kind), exactly."""
    sums: dict[tuple[str, Kind], tuple[int, Decimal, int]] = {}
    with localcontext() as ctx:
        ctx.prec = 80
        for h in holdings:
            total, weighted, count = sums.get((h.currency, h.kind), (0, Decimal(0), 0))
            sums[(h.currency, h.kind)] = (
                total + h.amount_minor,
                weighted + Decimal(h.amount_minor) * h.rate,
                count + 1,
            )
    return [BucketSums(c, k, t, w, n) for (c, k), (t, w, n) in sorted(sums.items())]


@dataclass(frozen=True, slots=True)
class ReportingSummary:
    """Totals in the reporting currency: the WACC summary and what the after-tax needs."""

    summary: WaccSummary  # total_cents in the reporting currency's minor units
    after_tax_wacc: Decimal | None
    after_tax_note: str | None  # why there is no after-tax WACC (None when there is one)
    missing_rates: tuple[str, ...] = field(default=())
    reporting_currency: str = ""
    # Exact factor from each currency's minor units to the reporting currency's (the
    # rate × 10^(e_R − e_C)), for showing each source's converted share.
    factors: dict[str, Decimal] = field(default_factory=dict, compare=False, hash=False)

    @property
    def complete(self) -> bool:
        return not self.missing_rates


def reporting_summary(
    buckets: Iterable[BucketSums], book: RateBook, day: date, known_at: datetime
) -> ReportingSummary:
    """Convert each bucket at the rate in force on `day` as known at `known_at`; sum exactly."""
    reporting = book.reporting_currency
    missing: list[str] = []
    factors: dict[str, Decimal] = {}
    total = Decimal(0)
    weighted = Decimal(0)
    debt_weighted = Decimal(0)
    count = 0
    with localcontext() as ctx:
        ctx.prec = 80
        for b in buckets:
            if b.count == 0 and b.total_minor == 0 and b.weighted == 0:
                continue
            count += b.count
            rate = book.fx_rate(b.currency, day, known_at)
            if rate is None:
                message = missing_rate_message(b.currency, reporting, day)
                if message not in missing:
                    missing.append(message)
                continue
            factors[b.currency] = convert_minor(1, b.currency, reporting, rate)
            converted = convert_minor(b.total_minor, b.currency, reporting, rate)
            converted_weighted = convert_minor(b.weighted, b.currency, reporting, rate)
            total += converted
            weighted += converted_weighted
            if b.kind is Kind.DEBT:
                debt_weighted += converted_weighted
        if missing:
            empty = WaccSummary(total_cents=0, wacc=None, source_count=count)
            return ReportingSummary(
                empty, None, "; ".join(missing), tuple(missing), reporting, factors
            )
        if total <= 0:
            return ReportingSummary(
                WaccSummary(total_cents=0, wacc=None, source_count=0), None, None, (), reporting
            )
        after_weighted = (
            weighted - debt_weighted * tax
            if (tax := book.tax_rate(day, known_at)) is not None
            else None
        )
    summary = WaccSummary(
        total_cents=round_minor(total), wacc=_quotient(weighted, total), source_count=count
    )
    if after_weighted is None:
        return ReportingSummary(summary, None, missing_tax_message(day), (), reporting, factors)
    after = _quotient(after_weighted, total)
    return ReportingSummary(summary, after, None, (), reporting, factors)


def _quotient(weighted: Decimal, total: Decimal) -> Decimal:
    """The WACC quotient exactly as domain/wacc.py computes it (same precision, same
    rounding), so a single-currency organization's figures do not move by a digit."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (weighted / total).quantize(WACC_QUANTUM, rounding=ROUND_HALF_EVEN)
