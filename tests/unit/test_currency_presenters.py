"""The dashboard's words for currencies: a missing FX rate is shown, never a zero."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from capital_app.domain.currencies import (
    FxRate,
    Holding,
    Kind,
    RateBook,
    TaxRate,
    buckets_of,
    reporting_summary,
)
from capital_app.domain.views import ActiveSource, SeriesPoint
from capital_app.ui.pages.dashboard import presenters as present

DAY = date(2025, 3, 3)
KNOWN = datetime(2025, 6, 1, tzinfo=UTC)
HOLDINGS = [
    Holding("KES", Kind.DEBT, 1_000_000_00, Decimal("0.14")),
    Holding("USD", Kind.EQUITY, 10_000_00, Decimal("0.2")),
]


def _summary(book: RateBook):
    return reporting_summary(buckets_of(HOLDINGS), book, DAY, KNOWN)


def test_a_missing_rate_shows_as_the_problem_and_no_total():
    found = _summary(RateBook("KES"))
    kpis = present.kpis_of(found.summary, found.summary, "KES", found, found)
    assert kpis.problem == "No USD→KES rate on or before 3 Mar 2025."
    assert kpis.total == "—" and kpis.wacc == "—" and kpis.after_tax == "—"
    assert kpis.count == "2"


def test_converted_total_and_after_tax_wacc():
    book = RateBook(
        "KES",
        [FxRate("USD", "KES", Decimal("129.5"), DAY, KNOWN)],
        [TaxRate(Decimal("0.3"), DAY, KNOWN)],
    )
    found = _summary(book)
    kpis = present.kpis_of(found.summary, found.summary, "KES", found, found)
    assert kpis.problem == ""
    assert kpis.total_exact == "KES 2,295,000.00"
    assert kpis.after_tax == "15.5556 %"  # (140,000 × 0.7 + 259,000) / 2,295,000
    no_tax = _summary(RateBook("KES", book.fx))
    assert present.kpis_of(no_tax.summary, no_tax.summary, "KES", no_tax).after_tax_note == (
        "No corporate tax rate on or before 3 Mar 2025."
    )


def test_rows_show_their_own_currency_and_share_in_the_reporting_one():
    now = datetime(2025, 3, 3, 12, tzinfo=UTC)
    usd = ActiveSource("u", "IFC", Decimal("0.2"), 10_000_00, 1, now, now, "USD", Kind.EQUITY)
    row = present.source_row(usd, "KES", now, UTC, factors={"USD": Decimal("129.5")})
    assert row.amount == "USD 10,000.00"
    assert row.cents == str(129_500_000)  # its share counts in shillings
    unknown = present.source_row(usd, "KES", now, UTC, factors={})
    assert unknown.cents == "0"  # no rate: no share, rather than a wrong one


def test_a_chart_point_without_a_rate_is_a_gap_with_the_reason():
    point = SeriesPoint(DAY, 0, None, 2, missing_rates=("no USD→KES rate on or before 3 Mar 2025",))
    shown = present.chart_point(point, "KES", long=False)
    assert shown["total"] is None and shown["wacc_bp"] is None
    assert shown["total_text"] == "No USD→KES rate on or before 3 Mar 2025."


def test_a_chart_point_carries_the_after_tax_wacc_only_where_a_tax_rate_is_in_force():
    taxed = SeriesPoint(DAY, 100_00, Decimal("0.12345"), 1, after_tax_wacc=Decimal("0.0864"))
    shown = present.chart_point(taxed, "KES", long=False)
    assert (shown["wacc_bp"], shown["after_tax_bp"]) == (1234, 864)
    assert shown["after_tax_text"] == present.format_rate(Decimal("0.0864"))
    untaxed = SeriesPoint(DAY, 100_00, Decimal("0.12345"), 1, after_tax_note="no tax rate")
    assert "after_tax_bp" not in present.chart_point(untaxed, "KES", long=False)
