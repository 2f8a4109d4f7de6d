"""The spreadsheet import over HTTP: CSV and .xlsx uploads, a dry run with every problem by
row, all or nothing, problem+json for every refusal."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from decimal import Decimal

import openpyxl

from capital_app.service import history_queries as queries
from capital_app.service.api_keys import create_key
from tests.api.conftest import Api
from tests.api.helpers import assert_problem, snapshot
from tests.support.factories import Tenant

IMPORT = "/api/import/spreadsheet"
PREVIEW = "/api/import/spreadsheet/preview"
CSV = (
    "Lender,Type,Principal (KES),Interest rate %,Value date,Comment\n"
    'KCB term loan,add,"2,500,000.00",13.25,2025-01-15,first\n'
    'Equity overdraft,add,"500,000.00",14.5,2025-02-01,\n'
    "Equity overdraft,change rate,,15,2025-07-01,\n"
)
CSV_FILE = {"file": ("sources.csv", CSV.encode(), "text/csv")}


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def active(tenant: Tenant) -> dict[str, tuple[int, Decimal]]:
    return {
        s.name: (s.available_cents, s.annual_rate)
        for s in queries.active_sources(tenant.actor("VIEWER"))
    }


def test_preview_shows_columns_sample_and_guessed_mapping(api: Api, tenant: Tenant) -> None:
    answer = api.as_user(tenant.editor).post(PREVIEW, files=CSV_FILE)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["format"] == "csv" and body["sheet"] is None and body["dataRows"] == 3
    assert body["columns"][0] == "Lender" and body["sample"][0][2] == "2,500,000.00"
    assert body["mapping"] == {
        "columns": {
            "source": "Lender",
            "action": "Type",
            "amount": "Principal (KES)",
            "rate": "Interest rate %",
            "effectiveDate": "Value date",
            "notes": "Comment",
        },
        "rateUnit": "percent",
    }
    assert body["problems"] == []


def test_a_csv_dry_run_then_import(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.editor)
    dry = client.post(IMPORT, params={"dryRun": "true"}, files=CSV_FILE)
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dryRun"] and body["imported"] == 3 and body["errors"] == []
    assert body["totalCents"] == 300000000 and body["newSources"] == 2
    assert active(tenant) == {}
    done = client.post(IMPORT, files=CSV_FILE)
    assert done.status_code == 200, done.text
    body = done.json()
    assert not body["dryRun"] and body["importId"] and body["fileName"] == "sources.csv"
    assert body["importedByAction"] == {
        "ADDED": 2,
        "AMOUNT_CHANGED": 0,
        "RATE_CHANGED": 1,
        "REMOVED": 0,
    }
    exact = json.loads(done.text, parse_float=Decimal)
    assert exact["wacc"] == queries.wacc(tenant.actor("VIEWER")).summary.wacc
    assert exact["wacc"] > Decimal("0.1354") and exact["wacc"] < Decimal("0.1355")
    assert active(tenant) == {
        "KCB term loan": (250000000, Decimal("0.1325")),
        "Equity overdraft": (50000000, Decimal("0.15")),
    }


def test_every_problem_comes_back_with_row_and_column_and_nothing_is_written(
    api: Api, tenant: Tenant
) -> None:
    before = snapshot(tenant)
    content = (
        CSV + "Stanbic,add,-10,13,2025-01-01,\n"
        "Absa,add,100,120,01/02/2025,\n"
        "Nobody,remove,,,2025-01-01,\n"
        "KCB term loan,change amount,1.005,,2025-03-01,\n"
    )
    answer = api.as_user(tenant.editor).post(
        IMPORT, files={"file": ("bad.csv", content.encode(), "text/csv")}
    )
    body = assert_problem(answer, 422, "amount", "rate", "effectiveDate", "source")
    assert [(e["row"], e["field"], e["column"]) for e in body["errors"]] == [
        (5, "amount", "Principal (KES)"),
        (6, "effectiveDate", "Value date"),
        (6, "rate", "Interest rate %"),
        (7, "source", "Lender"),
        (8, "amount", "Principal (KES)"),
    ]
    assert body["errorsTotal"] == 5 and body["imported"] == 0
    assert "negative" in body["errors"][0]["message"]
    assert snapshot(tenant) == before
    dry = api.as_user(tenant.editor).post(
        IMPORT, params={"dryRun": "true"}, files={"file": ("bad.csv", content.encode())}
    )
    assert dry.status_code == 200 and dry.json()["errorsTotal"] == 5


def test_an_xlsx_with_an_explicit_mapping(api: Api, tenant: Tenant) -> None:
    content = xlsx(
        [
            ["Facility", "Limit", "Cost", "Start"],
            ["Absa revolver", 1_500_000.25, 0.1175, datetime(2025, 3, 1)],
            ["I&M bond", 3_000_000, 0.095, datetime(2025, 4, 1)],
        ]
    )
    mapping = {
        "columns": {"source": "facility", "amount": 1, "rate": "Cost", "effectiveDate": "Start"},
        "rateUnit": "fraction",
    }
    answer = api.as_user(tenant.admin).post(
        IMPORT,
        files={"file": ("f.xlsx", content)},
        data={"mapping": json.dumps(mapping)},
        params={"fileName": "treasury.xlsx"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["format"] == "xlsx" and body["sheet"] == "Sheet"
    assert body["fileName"] == "treasury.xlsx"
    assert body["mapping"]["columns"]["amount"] == "Limit"
    assert active(tenant) == {
        "Absa revolver": (150000025, Decimal("0.1175")),
        "I&M bond": (300000000, Decimal("0.095")),
    }


def test_an_xlsx_with_a_float_that_is_not_whole_cents_is_refused(api: Api, tenant: Tenant) -> None:
    content = xlsx([["Source", "Amount", "Rate", "Date"], ["S", 10.5, 13, "2025-01-01"]])
    # Excel writes a formula's double in full; openpyxl would round it to 15 digits.
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<v>10.5</v>", b"<v>20.299999999999997</v>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    answer = api.as_user(tenant.editor).post(IMPORT, files={"file": ("f.xlsx", out.getvalue())})
    body = assert_problem(answer, 422, "amount")
    assert body["errors"][0]["row"] == 2 and "20.299999999999997" in body["errors"][0]["message"]
    assert active(tenant) == {}


def test_mapping_and_request_problems(api: Api, tenant: Tenant) -> None:
    client = api.as_user(tenant.editor)
    bad = client.post(IMPORT, files=CSV_FILE, data={"mapping": "{not json"})
    assert_problem(bad, 422, "mapping")
    unknown = client.post(
        IMPORT, files=CSV_FILE, data={"mapping": json.dumps({"columns": {"amount": "Nope"}})}
    )
    body = assert_problem(unknown, 422, "mapping.columns.amount")
    assert "no column “Nope”" in body["errors"][0]["message"]
    missing = client.post(
        IMPORT, files=CSV_FILE, data={"mapping": json.dumps({"columns": {"source": "Lender"}})}
    )
    body = assert_problem(missing, 422, "effectiveDate", "amount", "rate")
    assert all(e["row"] is None for e in body["errors"])
    no_file = client.post(IMPORT, data={"mapping": "{}"})
    assert_problem(no_file, 422, "file")
    old_xls = client.post(IMPORT, files={"file": ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1xx")})
    body = assert_problem(old_xls, 422, "file")
    assert ".xls" in body["errors"][0]["message"]


def test_roles_and_api_keys(api: Api, tenant: Tenant) -> None:
    viewer = api.as_user(tenant.viewer)
    assert_problem(viewer.post(IMPORT, params={"dryRun": "true"}, files=CSV_FILE), 403)
    assert_problem(viewer.post(PREVIEW, files=CSV_FILE), 403)
    assert_problem(api.client().post(IMPORT, files=CSV_FILE), 401)
    read_key = create_key(tenant.actor("ADMIN"), name="reader", scopes=["read"])
    reader = api.client(token=read_key.secret)
    assert_problem(reader.post(IMPORT, files=CSV_FILE), 403)
    write_key = create_key(tenant.actor("ADMIN"), name="writer", scopes=["write"])
    writer = api.client(token=write_key.secret)
    assert writer.post(IMPORT, files=CSV_FILE).status_code == 200
    assert len(active(tenant)) == 2


def test_an_upload_over_the_cap_is_a_413_problem(api: Api, tenant: Tenant) -> None:
    big = b"Source\n" + b"x" * (17 * 1024 * 1024)
    answer = api.as_user(tenant.editor).post(IMPORT, files={"file": ("big.csv", big)})
    assert_problem(answer, 413)
