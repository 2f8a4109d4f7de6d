"""FX rates and corporate tax rates: dated facts, listed by any member, added by EDITORs
and ADMINs (one by one, or FX rates as a CSV file, all or nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from capital_app.api import representations as out
from capital_app.api import schemas
from capital_app.api.deps import CurrentActor
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.service import rates

router = api_router(tags=["currencies and tax"])

_WRITE_ERRORS = error_responses(401, 403, 413, 422, 503)


@router.get(
    "/api/fx-rates",
    summary="FX rates (any member)",
    response_model=schemas.FxRatesOut,
    responses=error_responses(401, 503),
)
def list_fx_rates(actor: CurrentActor) -> Response:
    """Every FX rate recorded, oldest effective date first; corrections (a later rate for
    the same day) are listed beside what they correct. Rates are never changed or deleted."""
    view = rates.list_rates(actor)
    return ExactJSONResponse(
        {
            "reportingCurrency": view.reporting_currency,
            "rates": [out.fx_rate_body(r) for r in view.fx],
        }
    )


@router.post(
    "/api/fx-rates",
    summary="Record an FX rate (EDITOR, ADMIN)",
    status_code=201,
    response_model=schemas.FxRateOut,
    responses=_WRITE_ERRORS,
)
def add_fx_rate(body: schemas.FxRateRequest, actor: CurrentActor) -> Response:
    """1 `fromCurrency` = `rate` of the reporting currency, in force from `effectiveDate`
    (not in the future) until the next rate of that currency. A correction is a new rate
    for the same day: answers as known before it keep the old one."""
    stored = rates.add_fx_rate(
        actor,
        from_currency=body.from_currency,
        to_currency=body.to_currency,
        rate=body.rate,
        effective_date=body.effective_date,
    )
    return ExactJSONResponse(out.fx_rate_body(stored), status_code=201)


@router.post(
    "/api/fx-rates/upload",
    summary="Upload FX rates as CSV, all or nothing (EDITOR, ADMIN)",
    response_model=schemas.FxUploadOut,
    responses={
        **_WRITE_ERRORS,
        201: {"description": "Every row stored", "model": schemas.FxUploadOut},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "A header row naming from_currency, rate and effective_date"
            " (to_currency optional), then one rate per row.",
        }
    },
)
async def upload_fx_rates(
    request: Request,
    actor: CurrentActor,
    dry_run: Annotated[
        bool, Query(alias="dryRun", description="Check every row; store nothing.")
    ] = False,
    file_name: Annotated[
        str | None, Query(alias="fileName", max_length=200, description="For the audit log.")
    ] = None,
) -> Response:
    """Every row is checked first; any problem → 422 listing every one of them
    (`errors[].field` is `row N: column`) and nothing is stored. A clean file is stored in
    one transaction (201); `dryRun=true` answers 200 with the rows and stores nothing."""
    content = await request.body()
    result = await run_in_threadpool(
        rates.upload_fx_rates, actor, content, file_name=file_name, dry_run=dry_run
    )
    return ExactJSONResponse(out.fx_upload_body(result), status_code=200 if dry_run else 201)


@router.get(
    "/api/tax-rates",
    summary="Corporate tax rates (any member)",
    response_model=schemas.TaxRatesOut,
    responses=error_responses(401, 503),
)
def list_tax_rates(actor: CurrentActor) -> Response:
    view = rates.list_rates(actor)
    return ExactJSONResponse({"rates": [out.tax_rate_body(r) for r in view.tax]})


@router.post(
    "/api/tax-rates",
    summary="Record a corporate tax rate (EDITOR, ADMIN)",
    status_code=201,
    response_model=schemas.TaxRateOut,
    responses=_WRITE_ERRORS,
)
def add_tax_rate(body: schemas.TaxRateRequest, actor: CurrentActor) -> Response:
    """The rate in force from `effectiveDate` (not in the future) for the after-tax WACC."""
    stored = rates.add_tax_rate(actor, rate=body.rate, effective_date=body.effective_date)
    return ExactJSONResponse(out.tax_rate_body(stored), status_code=201)
