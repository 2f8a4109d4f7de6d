"""One dialog shape for all four edits: labelled fields, inline messages, keyboard first.

Enter submits (a real form), Escape closes (Radix), focus starts in the first
field, and the submit button stays disabled while anything is invalid or saving.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from capital_app.domain.currencies import MINOR_UNITS
from capital_app.ui.edits import ADD, AMOUNT, RATE, REMOVE, EditState
from capital_app.ui.state import AppState

CURRENCIES = sorted(MINOR_UNITS)


def _message(field: str) -> rx.Component:
    return rx.cond(
        EditState.shown_errors.contains(field),
        rx.text(
            EditState.shown_errors[field],
            size="1",
            color=rx.color("red", 11),
            id=f"edit-{field}-error",
            role="alert",
        ),
    )


def _field(
    field: str,
    label: Any,
    control: rx.Component,
    hint: Any = None,
) -> rx.Component:
    return rx.vstack(
        rx.text(label, as_="label", html_for=f"edit-{field}", size="2", weight="medium"),
        control,
        _message(field),
        rx.cond(hint is not None, rx.text(hint, size="1", color=rx.color("gray", 10)))
        if hint is not None
        else rx.fragment(),
        spacing="1",
        width="100%",
    )


def _input(field: str, value: Any, *, first: Any = False, **props: Any) -> rx.Component:
    return rx.input(
        name=field,
        id=f"edit-{field}",
        value=value,
        on_change=lambda v: EditState.set_field(field, v),
        auto_focus=first,
        aria_invalid=rx.cond(EditState.shown_errors.contains(field), "true", "false"),
        width="100%",
        size="3",
        **props,
    )


def _name() -> rx.Component:
    return _field(
        "name",
        "Name",
        _input(
            "name", EditState.name, first=True, placeholder="e.g. KCB term loan", max_length=200
        ),
    )


_NATIVE_SELECT = {
    "width": "100%",
    "height": "40px",
    "padding": "0 8px",
    "border_radius": "var(--radius-2)",
    "border": "1px solid var(--gray-a7)",
    "background": "var(--color-surface)",
    "font_size": "var(--font-size-2)",
}


def _select(field: str, value: Any, options: list[tuple[str, str]]) -> rx.Component:
    """A native select (keyboard and screen readers work as everywhere)."""
    return rx.el.select(
        *[rx.el.option(label, value=option) for option, label in options],
        name=field,
        id=f"edit-{field}",
        value=value,
        on_change=lambda v: EditState.set_field(field, v),
        style=_NATIVE_SELECT,
    )


def _currency_and_kind() -> rx.Component:
    return rx.grid(
        _field(
            "source_currency",
            "Currency",
            _select("source_currency", EditState.source_currency, [(c, c) for c in CURRENCIES]),
            hint="The amount is in this currency; totals convert at the dated FX rate.",
        ),
        _field(
            "source_kind",
            "Kind",
            _select(
                "source_kind",
                EditState.source_kind,
                [("debt", "Debt (cost is tax-deductible)"), ("equity", "Equity")],
            ),
            hint="For the after-tax WACC.",
        ),
        columns="2",
        spacing="3",
        width="100%",
    )


def _amount() -> rx.Component:
    return _field(
        "amount",
        EditState.amount_label,
        _input(
            "amount",
            EditState.amount,
            first=EditState.kind == AMOUNT,
            placeholder="2,500,000.00",
            input_mode="decimal",
            on_blur=EditState.tidy_amount,
            style={"font_variant_numeric": "tabular-nums", "text_align": "right"},
        ),
        hint=rx.cond(
            EditState.kind == AMOUNT,
            rx.cond(
                EditState.amount_preview != "",
                "New: " + EditState.amount_preview + " · now " + EditState.current_amount,
                "Now " + EditState.current_amount,
            ),
            EditState.amount_preview,
        ),
    )


def _rate() -> rx.Component:
    return _field(
        "rate",
        "Annual rate (%)",
        rx.hstack(
            _input(
                "rate",
                EditState.rate,
                first=EditState.kind == RATE,
                placeholder="13.25",
                input_mode="decimal",
                style={"font_variant_numeric": "tabular-nums", "text_align": "right"},
            ),
            rx.text("%", size="3", color=rx.color("gray", 10)),
            align="center",
            width="100%",
        ),
        hint=rx.cond(
            EditState.kind == RATE,
            "Now " + EditState.current_rate,
            "As a percentage, e.g. 13.25 for 13.25 %",
        ),
    )


def _effective() -> rx.Component:
    return _field(
        "effective_day",
        "Effective date",
        _input(
            "effective_day",
            EditState.effective_day,
            first=EditState.kind == REMOVE,
            type="date",
            max=AppState.today,
            min="1900-01-01",
        ),
        hint="When the change took effect (today or earlier).",
    )


def _notes() -> rx.Component:
    return _field(
        "notes",
        "Notes (optional)",
        rx.text_area(
            name="notes",
            id="edit-notes",
            value=EditState.notes,
            on_change=lambda v: EditState.set_field("notes", v),
            placeholder="Why it changed, a reference…",
            rows="2",
            width="100%",
            max_length=2000,
        ),
    )


def _body() -> rx.Component:
    return rx.match(
        EditState.kind,
        (
            ADD,
            rx.fragment(
                _name(),
                _currency_and_kind(),
                rx.grid(_amount(), _rate(), columns="2", spacing="3", width="100%"),
                _effective(),
                _notes(),
            ),
        ),
        (AMOUNT, rx.fragment(_amount(), _effective(), _notes())),
        (RATE, rx.fragment(_rate(), _effective(), _notes())),
        (
            REMOVE,
            rx.fragment(
                rx.callout(
                    rx.text(
                        "The source stops counting towards capital and WACC from the effective date. "
                        "Its history is kept. Now: ",
                        EditState.current_amount,
                        " at ",
                        EditState.current_rate,
                        ".",
                    ),
                    icon="info",
                    color_scheme="amber",
                    size="1",
                ),
                _effective(),
                _notes(),
            ),
        ),
        rx.fragment(),
    )


def change_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.form(
                rx.vstack(
                    rx.dialog.title(EditState.title, id="edit-title", margin_bottom="0"),
                    rx.dialog.description(
                        rx.cond(
                            EditState.kind == ADD,
                            "A new loan, credit line or equity with its amount and annual rate.",
                            "Recorded in the history with who changed it and when.",
                        ),
                        size="2",
                        color=rx.color("gray", 11),
                    ),
                    rx.cond(
                        EditState.server_error != "",
                        rx.callout(
                            EditState.server_error,
                            icon="triangle-alert",
                            color_scheme="red",
                            size="1",
                            id="edit-server-error",
                        ),
                    ),
                    _body(),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button(
                                "Cancel",
                                type="button",
                                variant="soft",
                                color_scheme="gray",
                                id="edit-cancel",
                            ),
                        ),
                        rx.button(
                            rx.cond(EditState.saving, rx.spinner(size="1"), rx.fragment()),
                            EditState.submit_label,
                            type="submit",
                            # Really disabled only while saving: Enter must always reach the
                            # server, which checks the typed values again (they may be newer
                            # than what this button last heard). While invalid it is marked
                            # disabled for people and assistive technology alike.
                            disabled=EditState.saving,
                            aria_disabled=rx.cond(EditState.can_submit, "false", "true"),
                            variant=rx.cond(EditState.can_submit, "solid", "soft"),
                            color_scheme=rx.cond(
                                EditState.can_submit,
                                rx.cond(EditState.kind == REMOVE, "red", "teal"),
                                "gray",
                            ),
                            cursor=rx.cond(EditState.can_submit, "pointer", "not-allowed"),
                            id="edit-submit",
                        ),
                        justify="end",
                        width="100%",
                        spacing="3",
                        padding_top="8px",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=EditState.submit,
                reset_on_submit=False,
                id="edit-form",
            ),
            max_width="520px",
            id="edit-dialog",
        ),
        open=EditState.dialog_open,
        on_open_change=EditState.set_open,
    )
