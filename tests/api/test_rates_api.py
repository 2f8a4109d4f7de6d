"""Currencies over HTTP (migration 0013): /api/fx-rates, /api/tax-rates, sources with a
currency, and WACC in the reporting currency with after-tax WACC (include=reporting)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from capital_app.domain.dates import format_day
from capital_app.service import audit
from tests.api.helpers import assert_problem


def _today():
    return datetime.now(UTC).date()


def _add(client, name, cents, rate, days, **terms):
    effective = (_today() - timedelta(days=days)).isoformat()
    answer = client.post(
        "/api/capital-history/add-source",
        json={
            "source": {"name": name, "annualRate": rate, "availableCents": cents, **terms},
            "effectiveDate": effective,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["sourceId"]


def test_fx_rates_are_listed_added_by_editors_and_refused_to_viewers(api, tenant, other_tenant):
    editor, viewer = api.as_user(tenant.editor), api.as_user(tenant.viewer)
    assert viewer.get("/api/fx-rates").json() == {"reportingCurrency": "KES", "rates": []}
    day = (_today() - timedelta(days=3)).isoformat()
    body = {"fromCurrency": "USD", "rate": "129.500000000001", "effectiveDate": day}
    assert_problem(viewer.post("/api/fx-rates", json=body), 403)
    assert_problem(api.client().post("/api/fx-rates", json=body), 401)
    answer = editor.post("/api/fx-rates", json=body)
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["fromCurrency"] == "USD" and stored["toCurrency"] == "KES"
    assert '"rate":129.500000000001' in answer.text  # exact, not a float
    assert stored["effectiveDate"] == day and stored["recordedBy"] == str(tenant.editor.id)
    listed = viewer.get("/api/fx-rates").json()["rates"]
    assert [r["id"] for r in listed] == [stored["id"]]
    assert api.as_user(other_tenant.viewer).get("/api/fx-rates").json()["rates"] == []
    (event,) = audit.list_audit_events(tenant.actor("ADMIN"), actions=["rates.fx_rate_added"])
    assert event.details["rate"] == "129.500000000001"


def test_bad_fx_rates_get_422_naming_every_field(api, tenant):
    editor = api.as_user(tenant.editor)
    future = (_today() + timedelta(days=2)).isoformat()
    answer = editor.post(
        "/api/fx-rates", json={"fromCurrency": "XYZ", "rate": "-1", "effectiveDate": future}
    )
    assert_problem(answer, 422, "fromCurrency", "rate")
    answer = editor.post(
        "/api/fx-rates",
        json={"fromCurrency": "USD", "toCurrency": "EUR", "rate": "1", "effectiveDate": future},
    )
    body = assert_problem(answer, 422)
    assert "effectiveDate" in {e["field"] for e in body["errors"]}
    day = _today().isoformat()
    answer = editor.post(
        "/api/fx-rates",
        json={"fromCurrency": "USD", "toCurrency": "EUR", "rate": "1", "effectiveDate": day},
    )
    body = assert_problem(answer, 422, "toCurrency")
    assert "reporting currency KES" in body["detail"]
    assert editor.get("/api/fx-rates").json()["rates"] == []


def test_tax_rates(api, tenant):
    editor, viewer = api.as_user(tenant.editor), api.as_user(tenant.viewer)
    day = _today().isoformat()
    assert_problem(viewer.post("/api/tax-rates", json={"rate": "0.3", "effectiveDate": day}), 403)
    assert_problem(
        editor.post("/api/tax-rates", json={"rate": "1", "effectiveDate": day}), 422, "rate"
    )
    answer = editor.post("/api/tax-rates", json={"rate": "0.3", "effectiveDate": day})
    assert answer.status_code == 201, answer.text
    assert viewer.get("/api/tax-rates").json()["rates"] == [answer.json()]


def test_csv_upload_all_or_nothing_with_every_problem_and_a_dry_run(api, tenant):
    editor = api.as_user(tenant.editor)
    day = (_today() - timedelta(days=1)).isoformat()
    bad = f"from_currency,rate,effective_date\nUSD,abc,{day}\nEUR,140,{day}\nJPY,0.8,2099-01-01\n"
    answer = editor.post("/api/fx-rates/upload", content=bad, headers={"Content-Type": "text/csv"})
    body = assert_problem(answer, 422, "row 2: rate", "row 4: effective_date")
    assert len(body["errors"]) == 2
    assert editor.get("/api/fx-rates").json()["rates"] == []
    good = f"from_currency,rate,effective_date\nUSD,129.5,{day}\nEUR,140.25,{day}\n"
    dry = editor.post("/api/fx-rates/upload", params={"dryRun": "true"}, content=good)
    assert dry.status_code == 200, dry.text
    assert [r["row"] for r in dry.json()["rows"]] == [2, 3] and dry.json()["rates"] == []
    assert editor.get("/api/fx-rates").json()["rates"] == []
    assert_problem(api.as_user(tenant.viewer).post("/api/fx-rates/upload", content=good), 403)
    done = editor.post("/api/fx-rates/upload", params={"fileName": "rates.csv"}, content=good)
    assert done.status_code == 201, done.text
    assert [r["fromCurrency"] for r in done.json()["rates"]] == ["USD", "EUR"]
    assert len(editor.get("/api/fx-rates").json()["rates"]) == 2


def test_a_source_carries_its_currency_and_kind_only_when_asked(api, tenant):
    editor = api.as_user(tenant.editor)
    usd = _add(editor, "IFC equity", 10_000_00, 0.2, 5, currency="USD", kind="equity")
    kes = _add(editor, "KCB loan", 1_000_000_00, 0.14, 5)
    plain = editor.get("/api/capital-sources/active").json()
    assert all("currency" not in s and "kind" not in s for s in plain)
    terms = {
        s["sourceId"]: (s["currency"], s["kind"])
        for s in editor.get("/api/capital-sources/active", params={"include": "currency"}).json()
    }
    assert terms == {usd: ("USD", "equity"), kes: ("KES", "debt")}
    answer = editor.post(
        "/api/capital-history/add-source",
        json={
            "source": {
                "name": "Bad",
                "annualRate": 0.1,
                "availableCents": 1,
                "currency": "usd",
                "kind": "loan",
            },
            "effectiveDate": _today().isoformat(),
        },
    )
    assert_problem(answer, 422, "source.currency", "source.kind")


def test_wacc_in_the_reporting_currency_with_missing_rates_and_after_tax(api, tenant):
    editor = api.as_user(tenant.editor)
    _add(editor, "IFC equity", 10_000_00, 0.2, 40, currency="USD", kind="equity")
    _add(editor, "KCB loan", 1_000_000_00, 0.14, 40)
    message = f"no USD→KES rate on or before {format_day(_today())}"
    # The plain shape has no place for "unknown": 409 naming the rate, never a zero.
    body = assert_problem(editor.get("/api/wacc"), 409)
    assert message in body["detail"] and body["missingRates"] == [message]
    assert_problem(editor.get("/api/wacc", params={"asOf": _today().isoformat()}), 409)
    full = editor.get("/api/wacc", params={"include": "reporting"}).json()
    assert full["missingRates"] == [message]
    assert full["totalCents"] is None and full["wacc"] is None and full["afterTaxWacc"] is None
    assert full["reportingCurrency"] == "KES" and full["sourceCount"] == 2

    rate_day = _today() - timedelta(days=20)
    editor.post(
        "/api/fx-rates",
        json={"fromCurrency": "USD", "rate": "129.5", "effectiveDate": rate_day.isoformat()},
    )
    plain = editor.get("/api/wacc").json()
    assert set(plain) == {"asOf", "knownAt", "totalCents", "wacc", "sourceCount"}
    assert plain["totalCents"] == 2_295_000_00  # 1,000,000 + 10,000 × 129.5
    weighted = Decimal("1000000") * Decimal("0.14") + Decimal("1295000") * Decimal("0.2")
    assert Decimal(str(plain["wacc"])) == (weighted / 2_295_000).quantize(Decimal("1e-10"))
    full = editor.get("/api/wacc", params={"include": "reporting"}).json()
    assert full["afterTaxWacc"] is None
    assert full["afterTaxWaccReason"] == (
        f"no corporate tax rate on or before {format_day(_today())}"
    )
    editor.post("/api/tax-rates", json={"rate": "0.3", "effectiveDate": rate_day.isoformat()})
    full = editor.get("/api/wacc", params={"include": "reporting"}).json()
    after = Decimal("1000000") * Decimal("0.14") * Decimal("0.7") + Decimal("1295000") * Decimal(
        "0.2"
    )
    assert Decimal(str(full["afterTaxWacc"])) == (after / 2_295_000).quantize(Decimal("1e-10"))
    assert full["afterTaxWaccReason"] is None and full["missingRates"] == []

    # The series: points before the rate's day name it, later ones are converted.
    params = {
        "startDate": (_today() - timedelta(days=30)).isoformat(),
        "endDate": _today().isoformat(),
        "interval": "day",
    }
    assert_problem(editor.get("/api/wacc/series", params=params), 409)
    points = editor.get("/api/wacc/series", params={**params, "include": "reporting"}).json()
    for point in points:
        day = datetime.fromisoformat(point["date"]).date()
        if day < rate_day:
            assert point["missingRates"] == [f"no USD→KES rate on or before {format_day(day)}"]
            assert point["totalCents"] is None
        else:
            assert point["totalCents"] == 2_295_000_00 and point["missingRates"] == []
            assert point["afterTaxWacc"] == full["afterTaxWacc"]
    later = {**params, "startDate": rate_day.isoformat()}
    plain_points = editor.get("/api/wacc/series", params=later).json()
    assert all(set(p) == {"date", "totalCents", "wacc"} for p in plain_points)


@pytest.mark.parametrize("path", ["/api/fx-rates", "/api/tax-rates"])
def test_rate_lists_need_a_token(api, path):
    assert_problem(api.client().get(path), 401)
