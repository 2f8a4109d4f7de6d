"""Bring your data over: the prototype's localStorage → backup → dry run → import → dashboard
→ clear the browser copy; a file with bad entries shows every problem and imports nothing;
a VIEWER cannot import.

The numbers the page shows are compared with an independent fold of the raw file
(tests/support/prototype.py), not with the importer's own answers.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from capital_app.domain.dates import format_date
from capital_app.domain.money import format_money, format_money_short, format_rate
from tests.e2e.support import LOAD, browser_zone, entry_count, sign_in, snap, wait_ready
from tests.support.factories import make_tenant
from tests.support.prototype import (
    FIXTURES,
    dumps,
    independent_state,
    independent_wacc,
    load,
    parse_iso,
)

KEY = "capital-history"
SAMPLE = "demo-export.json"


def _put_in_local_storage(page: Page, values: dict[str, str]) -> None:
    page.evaluate(
        "(values) => { for (const [k, v] of Object.entries(values)) localStorage.setItem(k, v); }",
        values,
    )


def _local_storage(page: Page, key: str) -> str | None:
    return page.evaluate("(key) => localStorage.getItem(key)", key)


def _upload(page: Page, name: str, content: bytes, mime: str = "application/json") -> None:
    page.locator("#import-file input[type=file]").set_input_files(
        {"name": name, "mimeType": mime, "buffer": content}
    )


def test_bring_the_browser_copy_over_backup_dry_run_import_and_clear(page: Page) -> None:
    tenant = make_tenant("Import")
    text = (FIXTURES / SAMPLE).read_text(encoding="utf-8")
    entries = load(SAMPLE)
    total, wacc = independent_wacc(entries)
    final = independent_state(entries)
    active = [s for s in final.values() if s["active"]]
    by_action = Counter(e["action"] for e in entries)
    effective = sorted(parse_iso(e["effectiveDate"]) for e in entries)

    sign_in(page, tenant.editor)
    wait_ready(page)
    # The prototype's data, and something else that must be left alone.
    _put_in_local_storage(page, {KEY: text, "other-app": json.dumps({"theme": "dark"})})
    page.locator("#nav-import").click()
    wait_ready(page)
    expect(page.locator("#page-title")).to_have_text("Bring your data over")
    origin = page.locator("#data-origin")
    expect(origin).to_contain_text(f"“{KEY}”", timeout=LOAD)
    expect(origin).to_contain_text(f"{len(entries)} entries")
    expect(page.locator("#found-copies")).to_have_count(0)  # "other-app" is not prototype data

    # 1. The backup is exactly what was in localStorage.
    with page.expect_download() as download:
        page.locator("#backup-download").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert saved == text
    assert download.value.suggested_filename.endswith(".json")
    expect(page.locator("#backup-taken")).to_be_visible()

    # 2. The dry run: counts and the WACC it would produce, as an independent fold says.
    page.locator("#dry-run").click()
    expect(page.locator("#stat-entries")).to_have_text(str(len(entries)), timeout=LOAD)
    expect(page.locator("#stat-imported")).to_have_text(str(len(entries)))
    expect(page.locator("#stat-skipped")).to_have_text("0")
    sources = len({e["sourceId"] for e in entries})
    expect(page.locator("#stat-sources")).to_have_text(f"{sources} sources ({sources} new here)")
    expect(page.locator("#import-report")).to_contain_text(
        f"{by_action['ADDED']} added, {by_action['AMOUNT_CHANGED']} amount changed, "
        f"{by_action['RATE_CHANGED']} rate changed, {by_action['REMOVED']} removed"
    )
    tz = browser_zone(page)
    expect(page.locator("#stat-span")).to_have_text(
        f"{format_date(effective[0], tz)} – {format_date(effective[-1], tz)}"
    )
    expect(page.locator("#stat-total")).to_have_text(format_money(total))
    expect(page.locator("#stat-wacc")).to_have_text(format_rate(wacc))
    expect(page.locator("#stat-active")).to_have_text(str(len(active)))
    expect(page.locator("#problem-count")).to_have_count(0)
    snap(page, "import-dry-run")
    assert entry_count(tenant.actor()) == 0  # a dry run writes nothing
    expect(page.locator("#clear-browser-copy")).to_have_count(0)  # not before the import

    # 3. Import, on an explicit click.
    page.locator("#import-confirm").click()
    expect(page.locator("#import-result")).to_have_text(
        f"Imported {len(entries)} entries ({sources} new sources).", timeout=LOAD
    )
    expect(page.locator("#import-confirm")).to_be_disabled()
    assert entry_count(tenant.actor()) == len(entries)
    assert _local_storage(page, KEY) == text  # the browser copy is untouched by the import

    # 4. The dashboard shows the imported history.
    page.locator("#to-dashboard").click()
    expect(page.locator("#page-title")).to_have_text("Dashboard", timeout=LOAD)
    wait_ready(page)
    expect(page.locator("#kpi-wacc-value")).to_have_text(format_rate(wacc), timeout=LOAD)
    expect(page.locator("#kpi-total-value")).to_have_text(format_money_short(total))
    expect(page.locator("#kpi-count-value")).to_have_text(str(len(active)))
    for state in active:
        expect(page.locator("tr.source-row", has_text=str(state["name"]))).to_be_visible()

    # 5. Again: everything is skipped, and now the browser copy may go — that key only.
    page.locator("#nav-import").click()
    wait_ready(page)
    expect(origin).to_contain_text(f"“{KEY}”", timeout=LOAD)
    page.locator("#dry-run").click()
    expect(page.locator("#stat-skipped")).to_have_text(str(len(entries)), timeout=LOAD)
    expect(page.locator("#stat-imported")).to_have_text("0")
    expect(page.locator("#import-confirm")).to_be_disabled()
    page.locator("#clear-browser-copy").click()
    page.locator("#confirm-clear").click()
    expect(page.locator("#clear-result")).to_contain_text("Removed", timeout=LOAD)
    assert _local_storage(page, KEY) is None
    assert _local_storage(page, "other-app") == json.dumps({"theme": "dark"})
    assert _local_storage(page, "capital_session")  # still signed in
    assert entry_count(tenant.actor()) == len(entries)
    page.goto("/import")  # the page no longer shows the cleared copy as data in hand
    wait_ready(page)
    expect(page.locator("#nothing-found")).to_be_visible(timeout=LOAD)
    expect(page.locator("#data-origin")).to_have_count(0)


def test_bad_input_shows_every_problem_and_imports_nothing(page: Page) -> None:
    tenant = make_tenant("Bad import")
    sign_in(page, tenant.editor, "/import")
    wait_ready(page)
    expect(page.locator("#nothing-found")).to_be_visible(timeout=LOAD)

    # Broken JSON, pasted: one problem about the file as a whole.
    page.locator("#paste-toggle").click()
    page.locator("#paste-text").fill('[{"id": "hist_1", "sourceId": ')
    page.locator("#paste-submit").click()
    expect(page.locator("#data-origin")).to_contain_text("pasted text", timeout=LOAD)
    page.locator("#dry-run").click()
    expect(page.locator("#problem-count")).to_have_text("1 problem", timeout=LOAD)
    expect(page.locator(".problem-row")).to_have_count(1)
    expect(page.locator(".problem-row")).to_contain_text("The file")
    expect(page.locator(".problem-row")).to_contain_text("JSON")

    # A file too large for the page, and a file that is not JSON: refused before reading.
    _upload(page, "huge.json", b" " * (10 * 1024 * 1024 + 1))
    expect(page.locator("#import-failure")).to_contain_text("up to 10 MB", timeout=LOAD)
    _upload(page, "notes.txt", b"hello", mime="text/plain")
    expect(page.locator("#import-failure")).to_contain_text("is not a JSON file", timeout=LOAD)

    # Three bad entries in the middle of a good export: all three reported, nothing written.
    entries = load(SAMPLE)
    entries[8]["currency"] = "USD"
    entries[14]["effectiveDate"] = "2999-01-01T00:00:00.000Z"
    entries[21]["availableCents"] = Decimal("1250.5")
    _upload(page, "edited-backup.json", dumps(entries).encode())
    expect(page.locator("#data-origin")).to_contain_text("edited-backup.json", timeout=LOAD)
    expect(page.locator("#import-failure")).to_have_count(0)
    page.locator("#dry-run").click()
    expect(page.locator("#problem-count")).to_have_text("3 problems", timeout=LOAD)
    rows = page.locator(".problem-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Entry 8")
    expect(rows.nth(0)).to_contain_text("currency")
    expect(rows.nth(0)).to_contain_text(entries[8]["id"])
    expect(rows.nth(1)).to_contain_text("Entry 14")
    expect(rows.nth(1)).to_contain_text("in the future")
    expect(rows.nth(2)).to_contain_text("Entry 21")
    expect(rows.nth(2)).to_contain_text("whole number of cents")
    expect(page.locator("#import-confirm")).to_have_count(0)  # no import with problems
    with page.expect_download() as download:
        page.locator("#problems-download").click()
    listed = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in listed] == ["entry", "8", "14", "21"]
    snap(page, "import-problems")
    assert entry_count(tenant.actor()) == 0


def test_a_viewer_is_told_they_cannot_import(page: Page) -> None:
    tenant = make_tenant("Viewer import")
    sign_in(page, tenant.viewer)
    wait_ready(page)
    expect(page.locator("#nav-import")).to_have_count(0)
    _put_in_local_storage(page, {KEY: (FIXTURES / SAMPLE).read_text(encoding="utf-8")})
    page.goto("/import")
    wait_ready(page)
    expect(page.locator("#import-not-allowed")).to_contain_text(
        "Only editors and administrators", timeout=LOAD
    )
    for control in ("#dry-run", "#backup-download", "#import-confirm", "#import-file"):
        expect(page.locator(control)).to_have_count(0)
    page.locator("#guide-link").click()  # the guide is for everyone
    expect(page.locator("#guide h2", has_text="What moves")).to_be_visible(timeout=LOAD)
    expect(page.locator("#back-to-import")).to_have_count(0)
    assert entry_count(tenant.actor()) == 0


def test_the_large_sample_comes_from_local_storage_in_one_piece(page: Page) -> None:
    """12,000 entries (3.9 MB): more than one default WebSocket message; dry run only."""
    tenant = make_tenant("Large import")
    text = (FIXTURES / "large-export.json").read_text(encoding="utf-8")
    entries = load("large-export.json")
    total, wacc = independent_wacc(entries)
    sign_in(page, tenant.editor)
    wait_ready(page)
    older = (FIXTURES / SAMPLE).read_text(encoding="utf-8")
    _put_in_local_storage(page, {KEY: text, "capital-history-2024": older})
    page.goto("/import")
    wait_ready(page)
    # Both copies are offered; the prototype's own key is the one chosen first.
    expect(page.locator("#found-copies")).to_contain_text("capital-history-2024", timeout=LOAD)
    expect(page.locator("#found-copies")).to_contain_text(f"{len(load(SAMPLE))} entries")
    expect(page.locator("#data-origin")).to_contain_text(f"“{KEY}”")
    expect(page.locator("#data-origin")).to_contain_text(f"{len(entries):,} entries")
    with page.expect_download() as download:
        page.locator("#backup-download").click()
    assert Path(download.value.path()).read_text(encoding="utf-8") == text
    page.evaluate(  # remember every progress line the page shows while it checks
        """() => { window.__progress = [];
        new MutationObserver(() => {
            const line = document.querySelector('#import-progress-text');
            if (line && !window.__progress.includes(line.textContent))
                window.__progress.push(line.textContent);
        }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
    )
    page.locator("#dry-run").click()
    expect(page.locator("#stat-entries")).to_have_text(f"{len(entries):,}", timeout=LOAD)
    expect(page.locator("#import-progress")).to_have_count(0)  # gone once the report is in
    shown = page.evaluate("window.__progress")
    assert shown and shown[0] == "Starting…", shown
    assert all(line == "Starting…" or line.startswith(("Reading", "Checking")) for line in shown)
    expect(page.locator("#stat-imported")).to_have_text(f"{len(entries):,}")
    expect(page.locator("#stat-total")).to_have_text(format_money(total))
    expect(page.locator("#stat-wacc")).to_have_text(format_rate(wacc))
    assert entry_count(tenant.actor()) == 0
