"""What the history adds up to: active sources and WACC, now or as of any moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from capital_app.api import representations as out
from capital_app.api import schemas
from capital_app.api.deps import AsOf, CurrentActor, KnownAt
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.domain.series import Interval
from capital_app.service import history_queries as queries
from capital_app.service import hot_reads
from capital_app.settings import get_settings

router = api_router(tags=["sources and WACC"])

_READ_ERRORS = error_responses(401, 422, 503)
_WACC_ERRORS = error_responses(401, 409, 422, 503)
Include = Annotated[
    Literal["reporting"] | None,
    Query(
        description="`reporting`: add afterTaxWacc, afterTaxWaccReason, reportingCurrency"
        " and missingRates (a missing FX rate then answers 200 with null totals)."
    ),
]


@router.get(
    "/api/capital-sources/active",
    summary="Active sources",
    response_model=list[schemas.ActiveSourceOut],
    responses=_READ_ERRORS,
)
async def active_sources(
    actor: CurrentActor,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    include: Annotated[
        Literal["currency"] | None,
        Query(description="`currency`: add each source's currency and kind."),
    ] = None,
) -> Response:
    """The sources active as of `asOf`, as known at `knownAt`, largest first; each with the
    `sequence` to send as `expectedSequence`. `availableCents` are minor units of the
    source's own currency (`include=currency` names it)."""
    if get_settings().async_reads and queries.moments(as_of, known_at)[2]:
        sources = await hot_reads.current_sources(actor)
    else:
        sources = await run_in_threadpool(queries.active_sources, actor, as_of, known_at)
    with_currency = include == "currency"
    return ExactJSONResponse(
        [out.active_source_body(s, with_currency=with_currency) for s in sources]
    )


@router.get(
    "/api/wacc",
    summary="Weighted average cost of capital",
    response_model=schemas.WaccOut,
    responses=_WACC_ERRORS,
)
async def wacc(
    actor: CurrentActor, as_of: AsOf = None, known_at: KnownAt = None, include: Include = None
) -> Response:
    """Σ(amount × rate) / Σ(amount) over the active sources, exact to 10 decimal places;
    `wacc` is null when no source is active. Amounts are converted to the reporting
    currency at the FX rate in force on `asOf`'s day, as known at `knownAt`; a missing
    rate answers 409 naming it, or, with `include=reporting`, 200 with `missingRates` and
    null totals. `include=reporting` also adds `afterTaxWacc` and `reportingCurrency`."""
    moment, _, current = queries.moments(as_of, known_at)
    if get_settings().async_reads and current and as_of is None and known_at is None:
        answer = await hot_reads.current_wacc(actor, moment)
    else:
        answer = await run_in_threadpool(queries.wacc, actor, as_of, known_at)
    return ExactJSONResponse(out.wacc_body(answer, with_reporting=include == "reporting"))


DEFAULT_SPAN = timedelta(days=365)


def _day(moment: datetime | None) -> date | None:
    return moment.astimezone(UTC).date() if moment else None


@router.get(
    "/api/wacc/series",
    summary="WACC and total capital over time",
    response_model=list[schemas.SeriesPointOut],
    responses=_WACC_ERRORS,
)
async def wacc_series(
    actor: CurrentActor,
    start_date: Annotated[
        schemas.StartBound,
        Query(alias="startDate", description="First day (UTC). Default: a year before endDate."),
    ] = None,
    end_date: Annotated[
        schemas.StartBound, Query(alias="endDate", description="Last day (UTC). Default: today.")
    ] = None,
    interval: Annotated[Interval, Query(description="Spacing of the points.")] = Interval.MONTH,
    known_at: KnownAt = None,
    include: Include = None,
) -> Response:
    """One point per interval from `startDate`, plus `endDate` itself; each point is the
    state at the end of its day, as known at `knownAt` (default now), converted at the FX
    rate of that day. At most 1,000 points. A missing rate on any point answers 409; with
    `include=reporting` each point carries its own `missingRates`, `afterTaxWacc` and
    `reportingCurrency`."""
    end = _day(end_date) or datetime.now(UTC).date()
    start = _day(start_date) or (end - DEFAULT_SPAN if end - date.min > DEFAULT_SPAN else date.min)
    if get_settings().async_reads and known_at is None:
        points = await hot_reads.wacc_series(actor, start, end, interval)
    else:
        points = await run_in_threadpool(queries.wacc_series, actor, start, end, interval, known_at)
    return ExactJSONResponse(out.series_bodies(points, with_reporting=include == "reporting"))
