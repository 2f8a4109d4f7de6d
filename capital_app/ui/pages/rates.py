"""`/rates`: FX rates and corporate tax rates — listed for everyone, added by EDITORs and
ADMINs one by one or (FX) from a CSV file, checked first and stored all or nothing.

Rates are dated facts (migration 0013): never changed or deleted; a correction is a new
rate for the same day. Every write goes through service.rates, which checks the role
again; the totals and WACC everywhere convert at the rate in force on each day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from capital_app.domain.currencies import MINOR_UNITS, check_tax_rate
from capital_app.domain.dates import format_datetime, format_day, parse_day
from capital_app.domain.errors import InvalidInput, LedgerError
from capital_app.domain.money import decimal_text, format_rate
from capital_app.domain.values import parse_percent
from capital_app.service import rates
from capital_app.service.actor import Actor
from capital_app.ui.components.feedback import by_status, empty_state, load_error, table_skeleton
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.state import (
    LOAD_TIMEOUT_SECONDS,
    AppState,
    PageState,
    call_service,
    is_signed_out,
)

UPLOAD_ID = "fx-csv-upload"
MAX_CSV_BYTES = rates.MAX_UPLOAD_BYTES


@dataclass
class FxRow:
    pair: str = ""
    rate: str = ""
    effective: str = ""
    recorded: str = ""


@dataclass
class TaxRow:
    rate: str = ""
    effective: str = ""
    recorded: str = ""


class RatesState(PageState, AppState):
    reporting: str = ""
    fx_rows: list[FxRow] = []
    tax_rows: list[TaxRow] = []

    fx_from: str = "USD"
    fx_rate: str = ""
    fx_day: str = ""
    fx_error: str = ""
    tax_rate: str = ""
    tax_day: str = ""
    tax_error: str = ""
    saving: str = ""  # "" | fx | tax | csv

    csv_text: str = ""
    csv_name: str = ""
    csv_problems: list[str] = []
    csv_result: str = ""

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        view = await call_service(rates.list_rates, actor, timeout=LOAD_TIMEOUT_SECONDS)
        tz = self._tz()
        self.reporting = view.reporting_currency
        self.fx_rows = [
            FxRow(
                pair=f"{r.from_currency}→{r.to_currency}",
                rate=f"1 {r.from_currency} = {decimal_text(r.rate)} {r.to_currency}",
                effective=format_day(r.effective_date),
                recorded=format_datetime(r.recorded_at, tz),
            )
            for r in reversed(view.fx)
        ]
        self.tax_rows = [
            TaxRow(
                rate=format_rate(r.rate),
                effective=format_day(r.effective_date),
                recorded=format_datetime(r.recorded_at, tz),
            )
            for r in reversed(view.tax)
        ]
        if not self.fx_day:
            self.fx_day = self.today
        if not self.tax_day:
            self.tax_day = self.today
        return self.revision

    @rx.var
    def currency_options(self) -> list[str]:
        return [c for c in sorted(MINOR_UNITS) if c != self.reporting]

    @rx.event
    def set_fx_from(self, value: str):
        self.fx_from, self.fx_error = value, ""

    @rx.event
    def set_fx_rate(self, value: str):
        self.fx_rate, self.fx_error = value, ""

    @rx.event
    def set_fx_day(self, value: str):
        self.fx_day, self.fx_error = value, ""

    @rx.event
    def set_tax_rate(self, value: str):
        self.tax_rate, self.tax_error = value, ""

    @rx.event
    def set_tax_day(self, value: str):
        self.tax_day, self.tax_error = value, ""

    @rx.event
    def set_csv_text(self, value: str):
        self.csv_text, self.csv_problems, self.csv_result = value, [], ""

    async def _write(self, what: str, fn, **kwargs):
        """Run a write; returns the result, or the message that refused it."""
        self.saving = what
        try:
            return await call_service(fn, self._actor(), timeout=LOAD_TIMEOUT_SECONDS, **kwargs)
        finally:
            self.saving = ""

    @rx.event
    async def add_fx(self, form_data: dict | None = None):
        # What the form holds when submitted (typing may still be on its way to the state).
        for name in ("fx_from", "fx_rate", "fx_day"):
            if form_data and isinstance(form_data.get(name), str):
                setattr(self, name, form_data[name])
        day = parse_day(self.fx_day)
        if day is None:
            self.fx_error = "The date must be a day, like 2025-03-03."
            return
        try:
            stored = await self._write(
                "fx",
                rates.add_fx_rate,
                from_currency=self.fx_from,
                rate=self.fx_rate.strip().replace(",", ""),
                effective_date=day,
            )
        except LedgerError as error:
            if is_signed_out(error):
                yield self._forget(error.message)
                return
            self.fx_error = error.message
            return
        self.fx_rate = ""
        await self._reload()
        yield rx.toast.success(
            f"1 {stored.from_currency} = {decimal_text(stored.rate)} {stored.to_currency}"
            f" from {format_day(stored.effective_date)} is recorded."
        )

    @rx.event
    async def add_tax(self, form_data: dict | None = None):
        for name in ("tax_rate", "tax_day"):
            if form_data and isinstance(form_data.get(name), str):
                setattr(self, name, form_data[name])
        day = parse_day(self.tax_day)
        if day is None:
            self.tax_error = "The date must be a day, like 2025-01-01."
            return
        try:
            value = check_tax_rate(parse_percent(self.tax_rate, "rate"))
        except InvalidInput as error:
            self.tax_error = error.errors[0].message
            return
        try:
            stored = await self._write("tax", rates.add_tax_rate, rate=value, effective_date=day)
        except LedgerError as error:
            if is_signed_out(error):
                yield self._forget(error.message)
                return
            self.tax_error = error.message
            return
        self.tax_rate = ""
        await self._reload()
        yield rx.toast.success(
            f"Tax rate {format_rate(stored.rate)} from {format_day(stored.effective_date)}"
            " is recorded."
        )

    @rx.event
    async def receive_csv(self, files: list[rx.UploadFile]):
        if not files:
            return
        file = files[0]
        data = await file.read(MAX_CSV_BYTES + 1)
        self.csv_problems, self.csv_result = [], ""
        if len(data) > MAX_CSV_BYTES:
            self.csv_problems = ["The file is larger than 2 MB. Nothing was stored."]
            return
        try:
            self.csv_text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            self.csv_problems = ["The file must be UTF-8 text (CSV). Nothing was stored."]
            return
        self.csv_name = file.name or ""

    @rx.event
    async def upload_csv(self, dry_run: bool):
        self.csv_problems, self.csv_result = [], ""
        try:
            result = await self._write(
                "csv",
                rates.upload_fx_rates,
                content=self.csv_text.encode("utf-8"),
                file_name=self.csv_name or None,
                dry_run=dry_run,
            )
        except InvalidInput as error:
            self.csv_problems = [e.message for e in error.errors] + ["Nothing was stored."]
            return
        except LedgerError as error:
            if is_signed_out(error):
                yield self._forget(error.message)
                return
            self.csv_problems = [error.message, "Nothing was stored."]
            return
        count = len(result.rows)
        if dry_run:
            self.csv_result = f"All {count} rows are fine. Nothing is stored yet."
            return
        self.csv_result = f"{count} rates stored."
        self.csv_text, self.csv_name = "", ""
        await self._reload()
        yield rx.toast.success(f"{count} FX rates stored.")


def _label(text: str, html_for: str) -> rx.Component:
    return rx.text(text, as_="label", html_for=html_for, size="2", weight="medium")


def _error(text: Any, id_: str) -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout(text, icon="triangle-alert", color_scheme="red", size="1", id=id_),
    )


_SELECT = {
    "height": "32px",
    "padding": "0 8px",
    "border_radius": "var(--radius-2)",
    "border": "1px solid var(--gray-a7)",
    "background": "var(--color-surface)",
}


def _fx_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Add an FX rate", size="3"),
            rx.hstack(
                rx.vstack(
                    _label("From", "fx-from"),
                    rx.el.select(
                        rx.foreach(RatesState.currency_options, lambda c: rx.el.option(c, value=c)),
                        id="fx-from",
                        name="fx_from",
                        value=RatesState.fx_from,
                        on_change=RatesState.set_fx_from,
                        style=_SELECT,
                    ),
                    spacing="1",
                ),
                rx.vstack(
                    _label("1 unit = … " + RatesState.reporting, "fx-rate"),
                    rx.input(
                        id="fx-rate",
                        name="fx_rate",
                        value=RatesState.fx_rate,
                        on_change=RatesState.set_fx_rate,
                        placeholder="129.50",
                        input_mode="decimal",
                    ),
                    spacing="1",
                ),
                rx.vstack(
                    _label("In force from", "fx-day"),
                    rx.input(
                        id="fx-day",
                        name="fx_day",
                        type="date",
                        value=RatesState.fx_day,
                        on_change=RatesState.set_fx_day,
                        max=AppState.today,
                    ),
                    spacing="1",
                ),
                rx.button(
                    "Add rate",
                    type="submit",
                    loading=RatesState.saving == "fx",
                    id="fx-submit",
                ),
                align="end",
                spacing="3",
                wrap="wrap",
            ),
            _error(RatesState.fx_error, "fx-error"),
            rx.text(
                "A correction is a new rate for the same day: past views as known before it"
                " keep the old one.",
                size="1",
                color=rx.color("gray", 10),
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=RatesState.add_fx,
        reset_on_submit=False,
    )


def _tax_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Add a corporate tax rate", size="3"),
            rx.hstack(
                rx.vstack(
                    _label("Rate (%)", "tax-rate"),
                    rx.input(
                        id="tax-rate",
                        name="tax_rate",
                        value=RatesState.tax_rate,
                        on_change=RatesState.set_tax_rate,
                        placeholder="30",
                        input_mode="decimal",
                    ),
                    spacing="1",
                ),
                rx.vstack(
                    _label("In force from", "tax-day"),
                    rx.input(
                        id="tax-day",
                        name="tax_day",
                        type="date",
                        value=RatesState.tax_day,
                        on_change=RatesState.set_tax_day,
                        max=AppState.today,
                    ),
                    spacing="1",
                ),
                rx.button(
                    "Add tax rate",
                    type="submit",
                    loading=RatesState.saving == "tax",
                    id="tax-submit",
                ),
                align="end",
                spacing="3",
                wrap="wrap",
            ),
            _error(RatesState.tax_error, "tax-error"),
            spacing="2",
            width="100%",
        ),
        on_submit=RatesState.add_tax,
        reset_on_submit=False,
    )


def _csv_form() -> rx.Component:
    return rx.vstack(
        rx.heading("Upload FX rates (CSV)", size="3"),
        rx.text(
            "A header naming from_currency, rate and effective_date (to_currency optional),"
            " then one rate per row. Every row is checked first; one problem and nothing"
            " is stored.",
            size="1",
            color=rx.color("gray", 10),
        ),
        rx.upload.root(
            rx.hstack(
                rx.icon("upload", size=16),
                rx.text("Choose a CSV file — or drop it here", size="2"),
                align="center",
                spacing="2",
            ),
            id=UPLOAD_ID,
            accept={"text/csv": [".csv", ".txt"]},
            max_files=1,
            multiple=False,
            on_drop=RatesState.receive_csv(rx.upload_files(upload_id=UPLOAD_ID)),
            border=f"1px dashed {rx.color('gray', 7)}",
            border_radius="var(--radius-3)",
            padding="10px 14px",
            width="100%",
            cursor="pointer",
        ),
        rx.text_area(
            id="fx-csv",
            value=RatesState.csv_text,
            on_change=RatesState.set_csv_text,
            placeholder="from_currency,rate,effective_date\nUSD,129.50,2025-03-03",
            rows="5",
            width="100%",
            style={"font_family": "var(--code-font-family)"},
        ),
        rx.hstack(
            rx.button(
                "Check",
                variant="soft",
                on_click=RatesState.upload_csv(True),
                disabled=RatesState.csv_text == "",
                loading=RatesState.saving == "csv",
                id="csv-check",
            ),
            rx.button(
                "Store all rates",
                on_click=RatesState.upload_csv(False),
                disabled=RatesState.csv_text == "",
                loading=RatesState.saving == "csv",
                id="csv-store",
            ),
            spacing="3",
        ),
        rx.cond(
            RatesState.csv_problems.length() > 0,
            rx.callout(
                rx.vstack(rx.foreach(RatesState.csv_problems, lambda p: rx.text(p, size="2"))),
                icon="triangle-alert",
                color_scheme="red",
                size="1",
                id="csv-problems",
            ),
        ),
        rx.cond(
            RatesState.csv_result != "",
            rx.callout(
                RatesState.csv_result, icon="check", color_scheme="grass", size="1", id="csv-result"
            ),
        ),
        spacing="2",
        width="100%",
    )


def _fx_table() -> rx.Component:
    return rx.cond(
        RatesState.fx_rows.length() == 0,
        empty_state(
            "arrow-left-right",
            "No FX rates yet",
            "Sources in another currency than the reporting one need a rate for every day"
            " a total is shown.",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(h)
                        for h in ("Pair", "Rate", "In force from", "Recorded")
                    ]
                )
            ),
            rx.table.body(
                rx.foreach(
                    RatesState.fx_rows,
                    lambda r: rx.table.row(
                        rx.table.cell(r.pair),
                        rx.table.cell(r.rate),
                        rx.table.cell(r.effective),
                        rx.table.cell(r.recorded),
                        class_name="fx-row",
                    ),
                )
            ),
            variant="surface",
            width="100%",
            id="fx-table",
        ),
    )


def _tax_table() -> rx.Component:
    return rx.cond(
        RatesState.tax_rows.length() == 0,
        empty_state(
            "receipt",
            "No corporate tax rate yet",
            "The after-tax WACC needs the tax rate in force on each day.",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(h) for h in ("Rate", "In force from", "Recorded")]
                )
            ),
            rx.table.body(
                rx.foreach(
                    RatesState.tax_rows,
                    lambda r: rx.table.row(
                        rx.table.cell(r.rate),
                        rx.table.cell(r.effective),
                        rx.table.cell(r.recorded),
                        class_name="tax-row",
                    ),
                )
            ),
            variant="surface",
            width="100%",
            id="tax-table",
        ),
    )


def rates_page() -> rx.Component:
    return signed_in_page(
        page_header(
            "Rates",
            subtitle=rx.text(
                "FX rates into the reporting currency (",
                RatesState.reporting,
                ") and corporate tax rates, each in force from its day on.",
            ),
        ),
        by_status(
            RatesState.status,
            loading=table_skeleton(4, 4),
            error=load_error(RatesState.problem, RatesState.retry),
            ready=rx.vstack(
                rx.cond(
                    AppState.is_writer,
                    rx.card(
                        rx.vstack(_fx_form(), rx.divider(), _csv_form(), spacing="4"),
                        width="100%",
                    ),
                ),
                rx.heading("FX rates", size="4"),
                _fx_table(),
                rx.cond(AppState.is_writer, rx.card(_tax_form(), width="100%")),
                rx.heading("Corporate tax rates", size="4"),
                _tax_table(),
                spacing="4",
                width="100%",
            ),
        ),
    )
