"""The spreadsheet import's answers as OpenAPI models (beside `schemas`, not in it:
one purpose per file, and the import's shapes change without touching the rest)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from capital_app.api.schemas import (
    NullableDecimal,
    NullableInstant,
    NullableInt,
    NullableText,
    Problem,
)


class SpreadsheetErrorOut(BaseModel):
    """One problem: the spreadsheet's row number (the header is row 1; null for the file
    or the mapping as a whole), the field, the header of its column, the words."""

    row: NullableInt = None
    field: str
    column: NullableText = None
    message: str


class SpreadsheetMappingOut(BaseModel):
    """Each field's column, by its header text; `rateUnit` for plain rate numbers."""

    columns: dict[str, str]
    rateUnit: str


class SpreadsheetPreviewOut(BaseModel):
    """The file's columns, its first rows and the mapping its header suggests."""

    format: str = Field(description="csv or xlsx (told by the content, not the name)")
    sheet: NullableText = Field(description="The worksheet read (the first); null for CSV.")
    columns: list[str]
    sample: list[list[str]] = Field(description="The first 5 rows, each cell as text.")
    dataRows: int
    mapping: SpreadsheetMappingOut
    problems: list[str] = Field(description="Why the file cannot be imported as it is.")


class SpreadsheetReportOut(BaseModel):
    """What an import did, or (`dryRun`) would do, and the table and mapping it used."""

    dryRun: bool
    format: str
    sheet: NullableText
    columns: list[str]
    mapping: SpreadsheetMappingOut
    imported: int = Field(description="Entries written (a dry run: that would be written).")
    errors: list[SpreadsheetErrorOut] = Field(
        description="The first problems (at most 200, in row order); an import with any "
        "answers 422 and writes nothing."
    )
    errorsTotal: int
    errorCounts: dict[str, int]
    errorsTruncated: bool
    rows: int = Field(description="Non-empty data rows in the file.")
    importedByAction: dict[str, int]
    sourcesInFile: int
    newSources: int
    firstEffectiveDate: NullableInstant
    lastEffectiveDate: NullableInstant
    totalCents: NullableInt
    wacc: NullableDecimal
    activeSources: NullableInt
    importId: NullableText
    revision: NullableInt
    fileName: NullableText
    contentSha256: str


class SpreadsheetRefusedProblem(Problem):
    """A 422 for a spreadsheet: every problem (the first 200 listed, all counted), with
    the report's other members."""

    errors: list[SpreadsheetErrorOut]
    errorsTotal: int | None = None
    errorCounts: dict[str, int] | None = None
    errorsTruncated: bool | None = None
    dryRun: bool | None = None
    imported: int | None = None
