"""`/alerts`: the organization's alert rules and the history of the alerts they raised.

Everyone of the organization sees the rules and the history; an EDITOR or ADMIN adds a
rule (WACC above a level, a WACC move of more than N bp over D days, total capital below
an amount) and deactivates one. A rule fires when a change crosses it, once, and again
only after a change brought the figure back (domain/alerts.py); the alert then shows at
once in every open session (the banner of ui/layout.py) and in the history below.
Everything goes through service.alerts, which checks the role again.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import reflex as rx

from capital_app.domain.alerts import AlertKind
from capital_app.domain.dates import format_datetime, format_utc
from capital_app.domain.errors import InvalidInput, LedgerError
from capital_app.service import alerts
from capital_app.service.actor import Actor
from capital_app.ui.alert_presenters import (
    KIND_LABELS,
    RuleRow,
    alert_text,
    cause_text,
    parse_rule_form,
    rule_row,
)
from capital_app.ui.components.feedback import by_status, empty_state, load_error, table_skeleton
from capital_app.ui.layout import page_header, signed_in_page
from capital_app.ui.state import LOAD_TIMEOUT_SECONDS, AppState, PageState, call_service

HISTORY_SIZE = 100


@dataclass
class AlertRow:
    id: str = ""
    when: str = ""
    when_exact: str = ""
    text: str = ""
    cause: str = ""


class AlertsState(PageState, AppState):
    rules: list[RuleRow] = []
    history: list[AlertRow] = []
    new_kind: str = AlertKind.WACC_ABOVE.value
    new_rate: str = ""
    new_points: str = ""
    new_days: str = "30"
    new_amount: str = ""
    form_errors: dict[str, str] = {}
    form_error: str = ""

    async def _fetch(self, actor: Actor, pushed: int | None) -> int:
        overview = await call_service(
            alerts.overview, actor, HISTORY_SIZE, timeout=LOAD_TIMEOUT_SECONDS
        )
        tz = self._tz()
        self.rules = [
            rule_row(rule, self.currency, format_datetime(rule.created_at, tz))
            for rule in overview.rules
            if rule.created_at is not None
        ]
        self.history = [
            AlertRow(
                id=str(a.id),
                when=format_datetime(a.triggered_at, tz),
                when_exact=format_utc(a.triggered_at),
                text=alert_text(a, self.currency),
                cause=cause_text(a),
            )
            for a in overview.alerts
        ]
        return overview.revision

    @rx.event
    def set_new_kind(self, value: str):
        self.new_kind = value
        self.form_errors = {}
        self.form_error = ""

    @rx.event
    def set_new_rate(self, value: str):
        self.new_rate = value

    @rx.event
    def set_new_points(self, value: str):
        self.new_points = value

    @rx.event
    def set_new_days(self, value: str):
        self.new_days = value

    @rx.event
    def set_new_amount(self, value: str):
        self.new_amount = value

    @rx.event
    async def add_rule(self):
        self.form_errors = {}
        self.form_error = ""
        try:
            form = parse_rule_form(
                self.new_kind, self.new_rate, self.new_points, self.new_days, self.new_amount
            )
            await call_service(
                alerts.create_rule,
                self._actor(),
                kind=form.kind,
                threshold_rate=form.threshold_rate,
                threshold_basis_points=form.threshold_basis_points,
                window_days=form.window_days,
                threshold_cents=form.threshold_cents,
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except InvalidInput as invalid:
            self.form_errors = {e.field: e.message for e in invalid.errors}
            return None
        except LedgerError as error:
            self.form_error = error.message
            return None
        self.new_rate = self.new_points = self.new_amount = ""
        await self._reload()
        return rx.toast.success("Alert rule set: it fires when a change crosses it.")

    @rx.event
    async def deactivate(self, rule_id: str):
        try:
            await call_service(
                alerts.deactivate_rule,
                self._actor(),
                UUID(rule_id),
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except (LedgerError, ValueError) as error:
            return rx.toast.error(f"Not deactivated: {getattr(error, 'message', error)}")
        await self._reload()
        return rx.toast.success("Alert rule deactivated.")


# --- view ---------------------------------------------------------------------------


def _field_error(name: str) -> rx.Component:
    return rx.cond(
        AlertsState.form_errors.contains(name),
        rx.text(
            AlertsState.form_errors[name],
            color=rx.color("red", 11),
            size="1",
            class_name="field-error",
            id=f"alert-error-{name}",
        ),
    )


def _labelled(label: str, control: rx.Component, error: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", weight="medium", color=rx.color("gray", 11)),
        control,
        _field_error(error),
        spacing="1",
    )


def _form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Add a rule", size="4"),
            rx.hstack(
                _labelled(
                    "Alert when",
                    rx.select.root(
                        rx.select.trigger(id="alert-kind", width="320px"),
                        rx.select.content(
                            *[
                                rx.select.item(label, value=kind)
                                for kind, label in KIND_LABELS.items()
                            ]
                        ),
                        value=AlertsState.new_kind,
                        on_change=AlertsState.set_new_kind,
                    ),
                    "kind",
                ),
                rx.match(
                    AlertsState.new_kind,
                    (
                        AlertKind.WACC_CHANGE.value,
                        rx.hstack(
                            _labelled(
                                "More than (bp)",
                                rx.input(
                                    value=AlertsState.new_points,
                                    on_change=AlertsState.set_new_points,
                                    placeholder="50",
                                    id="alert-points",
                                    width="120px",
                                ),
                                "thresholdBasisPoints",
                            ),
                            _labelled(
                                "Over (days)",
                                rx.input(
                                    value=AlertsState.new_days,
                                    on_change=AlertsState.set_new_days,
                                    id="alert-days",
                                    width="100px",
                                ),
                                "windowDays",
                            ),
                            spacing="3",
                        ),
                    ),
                    (
                        AlertKind.TOTAL_BELOW.value,
                        _labelled(
                            "Below (" + AppState.currency + ")",
                            rx.input(
                                value=AlertsState.new_amount,
                                on_change=AlertsState.set_new_amount,
                                placeholder="1,000,000,000.00",
                                id="alert-amount",
                                width="220px",
                            ),
                            "thresholdCents",
                        ),
                    ),
                    _labelled(
                        "Above (%)",
                        rx.input(
                            value=AlertsState.new_rate,
                            on_change=AlertsState.set_new_rate,
                            placeholder="12.5",
                            id="alert-rate",
                            width="120px",
                        ),
                        "thresholdRate",
                    ),
                ),
                rx.button("Add rule", on_click=AlertsState.add_rule, id="alert-add"),
                spacing="4",
                align="end",
                wrap="wrap",
            ),
            rx.cond(
                AlertsState.form_error != "",
                rx.callout(AlertsState.form_error, color_scheme="red", id="alert-form-error"),
            ),
            rx.text(
                "A rule fires when a change crosses it — once; it fires again after a change"
                " brings the figure back. Everyone of the organization sees it at once.",
                size="1",
                color=rx.color("gray", 11),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _rule_row(row: RuleRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.text, size="2", weight="medium")),
        rx.table.cell(
            rx.badge(
                row.status,
                color_scheme=rx.cond(row.active, "green", "gray"),
                variant="soft",
            )
        ),
        rx.table.cell(rx.text(row.created, size="2"), white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                AppState.is_writer & row.active,
                rx.button(
                    "Deactivate",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=AlertsState.deactivate(row.id),
                    class_name="alert-deactivate",
                ),
            )
        ),
        class_name="alert-rule-row",
        data_active=row.active,
    )


def _rules() -> rx.Component:
    return rx.cond(
        AlertsState.rules.length() > 0,
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Rule"),
                    rx.table.column_header_cell("Status"),
                    rx.table.column_header_cell("Set"),
                    rx.table.column_header_cell(""),
                )
            ),
            rx.table.body(rx.foreach(AlertsState.rules, _rule_row)),
            variant="surface",
            size="2",
            width="100%",
            id="alert-rules",
        ),
        empty_state(
            "bell",
            "No alert rules yet",
            rx.cond(
                AppState.is_writer,
                "Add one above: WACC above a level, a WACC move, or total capital below an amount.",
                "An editor or administrator can set alert rules.",
            ),
            id="alert-rules-empty",
        ),
    )


def _history_row(row: AlertRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.when, size="2", title=row.when_exact), white_space="nowrap"),
        rx.table.cell(rx.text(row.text, size="2")),
        rx.table.cell(rx.text(row.cause, size="2", color=rx.color("gray", 11))),
        class_name="alert-history-row",
    )


def _history() -> rx.Component:
    return rx.vstack(
        rx.heading("Alert history", size="4"),
        rx.cond(
            AlertsState.history.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("When"),
                        rx.table.column_header_cell("Alert"),
                        rx.table.column_header_cell("Caused by"),
                    )
                ),
                rx.table.body(rx.foreach(AlertsState.history, _history_row)),
                variant="surface",
                size="2",
                width="100%",
                id="alert-history",
            ),
            rx.text(
                "No alert has fired yet.", size="2", color=rx.color("gray", 11), id="alert-none"
            ),
        ),
        spacing="2",
        width="100%",
    )


def alerts_page() -> rx.Component:
    return signed_in_page(
        page_header(
            "Alerts",
            subtitle="Thresholds on WACC and total capital, checked with every change.",
        ),
        rx.cond(AppState.is_writer, _form()),
        by_status(
            AlertsState.status,
            loading=table_skeleton(4, 4),
            error=load_error(AlertsState.problem, AlertsState.retry),
            ready=rx.vstack(_rules(), _history(), spacing="5", width="100%"),
        ),
    )
