"""Commands as data: the idempotency fingerprint is the bytes the API always hashed.

The reference below is the REST API's fingerprint as it was computed before commands
were data (api/deps.idempotency): keys stored then must still replay.
"""

from __future__ import annotations

import hashlib
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from capital_app.api import exact_json, schemas
from capital_app.domain import commands
from capital_app.domain.commands import AddSource, ChangeAmount, ChangeRate, RemoveSource

SID = "5f0c7a8e-3b1d-4c59-9d7e-2a6f1e0b9c41"


def api_fingerprint(name: str, body: schemas.ApiModel) -> str:
    canonical = exact_json.canonical(body.model_dump(by_alias=True))
    return hashlib.sha256(name.encode() + b"\n" + canonical).hexdigest()


CASES = [
    (
        "add-source",
        schemas.AddSourceRequest,
        [
            b'{"source":{"name":"KCB term loan","annualRate":0.1325,"availableCents":250000000},'
            b'"effectiveDate":"2026-03-01","notes":"signed"}',
            b'{"notes":" signed ","effectiveDate":"2026-03-01T00:00:00Z",'
            b'"source":{"availableCents":250000000,"annualRate":0.132500,"name":" KCB term loan"}}',
            b'{"source":{"name":"KCB term loan","annualRate":0.13250000000000001,'
            b'"availableCents":250000000},"effectiveDate":"2026-03-01T03:00:00+03:00",'
            b'"notes":"signed"}',
        ],
    ),
    (
        "update-amount",
        schemas.UpdateAmountRequest,
        [
            b'{"sourceId":"%s","availableCents":230000000,"effectiveDate":"2026-03-01",'
            b'"expectedSequence":2}' % SID.encode(),
            b'{"expectedSequence":2,"effectiveDate":"2026-03-01T00:00:00Z","notes":"  ",'
            b'"availableCents":230000000,"sourceId":"%s"}' % SID.encode(),
        ],
    ),
    (
        "update-rate",
        schemas.UpdateRateRequest,
        [
            b'{"sourceId":"%s","annualRate":5.0e-2,"effectiveDate":"2026-03-01"}' % SID.encode(),
            b'{"sourceId":"%s","annualRate":0.05,"effectiveDate":"2026-03-01","notes":null}'
            % SID.encode(),
            b'{"sourceId":"%s","annualRate":0.050000,"effectiveDate":"2026-03-01T00:00:00.000Z"}'
            % SID.encode(),
        ],
    ),
    (
        "remove-source",
        schemas.RemoveSourceRequest,
        [
            b'{"sourceId":"%s","effectiveDate":"2026-06-30","notes":"repaid"}' % SID.encode(),
            b'{"notes":"repaid\\n","effectiveDate":"2026-06-30T00:00:00+00:00","sourceId":"%s"}'
            % SID.encode(),
        ],
    ),
]


@pytest.mark.parametrize(("name", "model", "bodies"), CASES, ids=[c[0] for c in CASES])
def test_fingerprint_is_the_api_fingerprint_of_every_spelling(name, model, bodies):
    requests = [model.model_validate(exact_json.loads(raw)) for raw in bodies]
    prints = {commands.fingerprint(request.to_command()) for request in requests}
    assert prints == {api_fingerprint(name, request) for request in requests}
    assert len(prints) == 1  # formatting never makes a retry look like another request
    assert requests[0].to_command().name == name


def test_rate_spelled_5_0_and_5_00_percent_fingerprint_alike():
    at = datetime(2026, 3, 1, tzinfo=UTC)
    a = ChangeRate(SID, Decimal("0.050"), at)
    b = ChangeRate(SID, Decimal("0.0500"), at)
    body = schemas.UpdateRateRequest.model_validate(
        {"sourceId": SID, "annualRate": Decimal("0.05"), "effectiveDate": "2026-03-01"}
    )
    assert (
        commands.fingerprint(a) == commands.fingerprint(b) == api_fingerprint("update-rate", body)
    )


def test_an_instant_in_another_zone_fingerprints_as_its_utc_instant():
    utc = datetime(2026, 3, 1, 9, tzinfo=UTC)
    nairobi = utc.astimezone(timezone(timedelta(hours=3)))
    assert commands.fingerprint(RemoveSource(SID, utc)) == commands.fingerprint(
        RemoveSource(SID, nairobi)
    )


def test_each_field_changes_the_fingerprint():
    at = datetime(2026, 3, 1, tzinfo=UTC)
    base = ChangeAmount(SID, 100, at, "n", 2)
    others = [
        ChangeAmount(SID, 101, at, "n", 2),
        ChangeAmount(SID, 100, at + timedelta(seconds=1), "n", 2),
        ChangeAmount(SID, 100, at, None, 2),
        ChangeAmount(SID, 100, at, "n", None),
        ChangeAmount(SID.upper(), 100, at, "n", 2),
    ]
    prints = {commands.fingerprint(c) for c in [base, *others]}
    assert len(prints) == 6
    # the command's name is part of it: the same fields as another command differ
    removal = RemoveSource(SID, at, "n", 2)
    assert commands.fingerprint(removal) not in prints


def test_commands_are_frozen():
    add = AddSource(commands.SourceTerms("Loan", Decimal("0.1"), 100), datetime.now(UTC))
    with pytest.raises(FrozenInstanceError):
        add.notes = "x"  # type: ignore[misc]
