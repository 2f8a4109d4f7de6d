"""Import sources and changes from a CSV or .xlsx upload (multipart), with a dry run.

`POST /api/import/spreadsheet/preview` shows the file's columns, first rows and the
mapping its header suggests; `POST /api/import/spreadsheet` checks (`dryRun=true`)
or imports it, all or nothing, through the service (`service.spreadsheet_import`).
Both take the file as the multipart part `file`; the import also takes an optional
part `mapping` (JSON: `{"columns": {"source": "Lender", ...}, "rateUnit": "percent"}`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from starlette.responses import Response

from capital_app.api import spreadsheet_schemas as out
from capital_app.api.body_size import (
    SPREADSHEET_BODY_BYTES,
    SPREADSHEET_PATH,
    SPREADSHEET_PREVIEW_PATH,
)
from capital_app.api.deps import CurrentActor
from capital_app.api.problems import problem, problem_type
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.domain.errors import InvalidInput
from capital_app.domain.prototype_format import ImportProblem
from capital_app.domain.spreadsheet_rows import (
    ColumnMapping,
    Field,
    MappingRequest,
    mapping_request_from_json,
)
from capital_app.service import spreadsheet_import
from capital_app.service.spreadsheet_files import MAX_SPREADSHEET_BYTES
from capital_app.service.spreadsheet_import import (
    SheetPreview,
    SpreadsheetRefused,
    SpreadsheetReport,
)

router = api_router(tags=["migration and export"])

_FIELDS = {f.value for f in Field}


def _mapping_body(mapping: ColumnMapping, header: tuple[str, ...]) -> dict[str, Any]:
    return mapping.as_json(header)


def _error_body(p: ImportProblem, mapping: ColumnMapping, header: tuple[str, ...]) -> dict:
    field = p.field or ("file" if p.index is None else "row")
    column = None
    if p.field in _FIELDS:
        index = mapping.columns.get(Field(p.field))
        if index is not None and index < len(header):
            column = header[index]
    return {"row": p.index, "field": field, "column": column, "message": p.message}


def report_body(result: SpreadsheetReport) -> dict[str, Any]:
    """The service's report in this endpoint's shape (problems by row and column)."""
    report = result.report
    body = report.as_json()
    for key in ("skipped", "entriesInFile"):
        body.pop(key)
    body["errors"] = [_error_body(p, result.mapping, result.header) for p in report.errors]
    body.update(
        rows=report.entries_in_file,
        format=result.kind.value,
        sheet=result.sheet_name,
        columns=list(result.header),
        mapping=_mapping_body(result.mapping, result.header),
    )
    return body


def _preview_body(preview: SheetPreview) -> dict[str, Any]:
    return {
        "format": preview.kind.value,
        "sheet": preview.sheet_name,
        "columns": list(preview.header),
        "sample": preview.sample,
        "dataRows": preview.data_rows,
        "mapping": _mapping_body(preview.mapping, preview.header),
        "problems": preview.problems,
    }


def _content(file: UploadFile) -> bytes:
    return file.file.read(MAX_SPREADSHEET_BYTES + 1)  # the service refuses a larger one


def _mapping(text: str | None) -> MappingRequest | None:
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput.one("mapping", "The mapping part is not JSON.") from None
    return mapping_request_from_json(value)


_RESPONSES = error_responses(400, 401, 403, 413, 422, 503)
_RESPONSES[413] = {
    "model": out.Problem,
    "description": f"The upload is larger than {MAX_SPREADSHEET_BYTES:,} bytes.",
}
_IMPORT_RESPONSES = dict(_RESPONSES)
_IMPORT_RESPONSES[422] = {
    "model": out.SpreadsheetRefusedProblem,
    "description": "The file or the mapping has problems (or a parameter is wrong); nothing "
    "was written. `errors` lists every one, with its `row`.",
}
_BODY_LIMIT = SPREADSHEET_BODY_BYTES
FileField = Annotated[UploadFile, File(description="The .csv or .xlsx file.")]


@router.post(
    SPREADSHEET_PREVIEW_PATH,
    summary="Preview a spreadsheet: its columns and the mapping its header suggests",
    response_model=out.SpreadsheetPreviewOut,
    responses=_RESPONSES,
    max_body_size=_BODY_LIMIT,
)
def preview_spreadsheet(actor: CurrentActor, file: FileField) -> Response:
    """EDITOR or ADMIN. Reads the file (CSV or the first sheet of an .xlsx) and writes
    nothing. `problems` says why it could not be imported as it is (not UTF-8, too many
    rows, an old .xls, …)."""
    preview = spreadsheet_import.preview_spreadsheet(actor, _content(file))
    return ExactJSONResponse(_preview_body(preview))


@router.post(
    SPREADSHEET_PATH,
    summary="Import sources and changes from a CSV or .xlsx (all or nothing)",
    response_model=out.SpreadsheetReportOut,
    responses=_IMPORT_RESPONSES,
    max_body_size=_BODY_LIMIT,
)
def import_spreadsheet(
    request: Request,
    actor: CurrentActor,
    file: FileField,
    mapping: Annotated[
        str | None,
        Form(
            description='JSON: {"columns": {"source": "Lender", "action": "Type", "amount": '
            '"Principal", "rate": "Rate %", "effectiveDate": "Date", "notes": "Notes"}, '
            '"rateUnit": "percent"}; a column by header text or position (from 0). '
            "Absent: the mapping the header suggests (see /preview)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, Query(alias="dryRun", description="Check and report; write nothing.")
    ] = False,
    file_name: Annotated[
        str | None,
        Query(
            alias="fileName",
            max_length=255,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="The file's name for the import log (default: the upload's).",
        ),
    ] = None,
) -> Response:
    """EDITOR or ADMIN. Every row is checked (dates, numbers, names, actions, the
    sources it names, repeated rows); any problem answers 422 with every one (`row`,
    `field`, `column`, `message`) and writes nothing. With `dryRun=true` the answer is
    200 with the same report, problems included. Amounts are in the organization's
    currency (`1,234.56`); rates in per cent (`13.25`) unless `rateUnit` is fraction."""
    name = file_name if file_name is not None else _upload_name(file)
    try:
        result = spreadsheet_import.import_spreadsheet(
            actor,
            _content(file),
            file_name=name,
            mapping=_mapping(mapping),
            dry_run=dry_run,
        )
    except SpreadsheetRefused as error:
        return _refused(request, error)
    return ExactJSONResponse(report_body(result))


def _upload_name(file: UploadFile) -> str | None:
    name = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in name if c.isprintable())[:255]
    return cleaned or None


def _refused(request: Request, error: SpreadsheetRefused) -> Response:
    """422 problem+json carrying the report: every problem by row, all counted."""
    body = report_body(error.result)
    return problem(
        422,
        error.title,
        error.message,
        type_=problem_type(error),
        instance=request.url.path,
        **body,
    )
