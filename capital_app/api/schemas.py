"""Request and response shapes of the REST API (camelCase on the wire).

Request models forbid unknown fields and validate each value with the same
domain checks the service layer applies, so one 422 lists every bad field with
the message a person would see in the UI. Response models document what
`representations.py` writes (exact numbers: `annualRate` 0.1325, never a float).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from capital_app.domain import alerts as alert_rules
from capital_app.domain import commands
from capital_app.domain.currencies import (
    FX_RATE_MAX,
    FX_RATE_PLACES,
    MINOR_UNITS,
    Kind,
    check_fx_rate,
    check_iso_currency,
    check_kind,
    check_tax_rate,
)
from capital_app.domain.errors import InvalidInput
from capital_app.domain.values import (
    MAX_CENTS,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_NOTES_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_SEQUENCE,
    MIN_CENTS,
    MIN_PASSWORD_LENGTH,
    Action,
    check_active,
    check_cents,
    check_currency,
    check_email,
    check_expected_sequence,
    check_name,
    check_notes,
    check_password_rules,
    check_rate,
    check_role,
    check_source_id,
    parse_instant,
    rate_meant,
)

# --- field types: a domain check as the validator, an honest JSON schema -----


def domain_check(check: Callable[[Any], Any], *, optional: bool = False) -> PlainValidator:
    """Run a domain `check_*` as a Pydantic validator, keeping its message."""

    def validate(value: Any) -> Any:
        if optional and value is None:
            return None
        try:
            return check(value)
        except InvalidInput as error:
            raise PydanticCustomError("invalid", error.errors[0].message) from None

    return PlainValidator(validate)


def _instant(end_of_day: bool) -> Callable[[Any], datetime]:
    def parse(value: Any) -> datetime:
        if not isinstance(value, str):
            raise InvalidInput.one("date", "Date must be a string like 2026-03-01.")
        return parse_instant(value, "date", end_of_day=end_of_day)

    return parse


_DATE_OR_DATETIME = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
    "examples": ["2026-03-01", "2026-03-01T09:00:00Z"],
}
_NUMBER = {"type": "number"}
_NULLABLE_NUMBER = {"anyOf": [{"type": "number"}, {"type": "null"}]}
_NULLABLE_INTEGER = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
_NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}]}
_RATE_SCHEMA = {
    "type": "number",
    "minimum": 0,
    "maximum": 1,
    "description": "A decimal fraction with at most 6 decimal places: 0.1325 is 13.25 %. "
    "A JavaScript double's rounding noise is forgiven (0.13250000000000001 is 0.1325).",
    "examples": [0.1325],
}
_CENTS_SCHEMA = {
    "type": "integer",
    "minimum": MIN_CENTS,
    "maximum": MAX_CENTS,
    "description": "Whole minor units (cents). A fraction, a string or a boolean is refused.",
    "examples": [250000000],
}

Name = Annotated[
    str,
    domain_check(check_name),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}),
]


def check_api_rate(value: Any) -> Decimal:
    """`check_rate`, after forgiving a JavaScript client's float noise.

    A browser computing 2.14 / 100 sends 0.021400000000000002; the prototype's own
    client does (its stored exports are full of such rates). A number a double can
    print (at most 17 significant digits, not underflowing) within 1e-9 of a 6-place
    rate is that rate, the rule the importer applies to the prototype's files.
    Anything else keeps check_rate's answer (1e-400 or 0.1234567 are still refused).
    """
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and 0 < value <= 1
        and len(value.as_tuple().digits) <= 17
        and float(value) != 0.0
    ):
        meant = rate_meant(value)
        value = value if meant is None else meant  # 0 is a rate too
    return check_rate(value)


Rate = Annotated[Decimal, domain_check(check_api_rate), WithJsonSchema(_RATE_SCHEMA)]
Cents = Annotated[int, domain_check(check_cents), WithJsonSchema(_CENTS_SCHEMA)]
Notes = Annotated[
    str | None,
    domain_check(check_notes, optional=True),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "maxLength": MAX_NOTES_LENGTH}, {"type": "null"}]}
    ),
]
SourceId = Annotated[
    str,
    domain_check(check_source_id),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}),
]
ExpectedSequence = Annotated[
    int | None,
    domain_check(check_expected_sequence, optional=True),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_SEQUENCE}, {"type": "null"}],
            "description": "The source's latest `sequence` as you last read it; "
            "a different current sequence answers 409 with the latest entry.",
        }
    ),
]
EffectiveDate = Annotated[
    datetime,
    domain_check(_instant(end_of_day=False)),
    WithJsonSchema(
        {
            **_DATE_OR_DATETIME,
            "description": "When the change took effect (not in the future). "
            "A bare date means the start of that day, UTC.",
        }
    ),
]
# Query bounds: a bare date as an upper bound means the end of that day.
StartBound = Annotated[
    datetime | None, domain_check(_instant(False), optional=True), WithJsonSchema(_DATE_OR_DATETIME)
]
EndBound = Annotated[
    datetime | None, domain_check(_instant(True), optional=True), WithJsonSchema(_DATE_OR_DATETIME)
]
# Optional query parameters: absent means "no filter" (a query string has no null).
SourceIdFilter = Annotated[
    str | None,
    domain_check(check_source_id, optional=True),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}),
]
ActionFilter = Annotated[
    Action | None, WithJsonSchema({"type": "string", "enum": [a.value for a in Action]})
]
Email = Annotated[
    str,
    domain_check(check_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]
RoleName = Literal["ADMIN", "EDITOR", "VIEWER"]
Role = Annotated[
    RoleName, domain_check(check_role), WithJsonSchema({"enum": ["ADMIN", "EDITOR", "VIEWER"]})
]
OptionalRole = Annotated[
    RoleName | None,
    domain_check(check_role, optional=True),
    WithJsonSchema({"anyOf": [{"enum": ["ADMIN", "EDITOR", "VIEWER"]}, {"type": "null"}]}),
]
OptionalName = Annotated[
    str | None,
    domain_check(check_name, optional=True),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
                {"type": "null"},
            ]
        }
    ),
]
OptionalCurrency = Annotated[
    str | None,
    domain_check(check_currency, optional=True),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": "^[A-Z]{3}$"}, {"type": "null"}]}),
]
_ISO_CURRENCY_SCHEMA = {
    "type": "string",
    "enum": sorted(MINOR_UNITS),
    "description": "An ISO 4217 code (KES, USD, EUR, JPY, KWD …).",
}
IsoCurrency = Annotated[str, domain_check(check_iso_currency), WithJsonSchema(_ISO_CURRENCY_SCHEMA)]
OptionalIsoCurrency = Annotated[
    str | None,
    domain_check(check_iso_currency, optional=True),
    WithJsonSchema({"anyOf": [_ISO_CURRENCY_SCHEMA, {"type": "null"}]}),
]
_KIND_SCHEMA = {"type": "string", "enum": [k.value for k in Kind]}
OptionalKind = Annotated[
    str | None,
    domain_check(lambda v: check_kind(v).value, optional=True),
    WithJsonSchema(
        {
            "anyOf": [_KIND_SCHEMA, {"type": "null"}],
            "description": "debt (default) or equity: debt's cost is tax-deductible.",
        }
    ),
]
FxRateValue = Annotated[
    Decimal,
    domain_check(check_fx_rate),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string"}],
            "description": f"1 unit of fromCurrency in toCurrency: above 0, below {FX_RATE_MAX:,},"
            f" at most {FX_RATE_PLACES} decimals. A decimal string keeps every digit.",
            "examples": ["129.5"],
        }
    ),
]
TaxRateValue = Annotated[
    Decimal,
    domain_check(check_tax_rate),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string"}],
            "description": "A fraction, 0 ≤ rate < 1, at most 6 decimals: 0.3 is 30 %.",
            "examples": ["0.3"],
        }
    ),
]
FactDate = Annotated[
    date,
    WithJsonSchema(
        {"type": "string", "format": "date", "description": "The day it is in force from."}
    ),
]
OptionalActive = Annotated[
    bool | None,
    domain_check(check_active, optional=True),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "null"}]}),
]
Password = Annotated[
    str,
    domain_check(check_password_rules),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": MIN_PASSWORD_LENGTH,
            "maxLength": MAX_PASSWORD_LENGTH,
            "format": "password",
        }
    ),
]
Text = Annotated[str, Field(strict=True)]

# Response-only types: what the server writes.
Decimal_ = Annotated[Decimal, WithJsonSchema(_NUMBER)]
NullableDecimal = Annotated[Decimal | None, WithJsonSchema(_NULLABLE_NUMBER)]
NullableInt = Annotated[int | None, WithJsonSchema(_NULLABLE_INTEGER)]
NullableText = Annotated[str | None, WithJsonSchema(_NULLABLE_STRING)]
NullableInstant = Annotated[
    datetime | None,
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}),
]
NullableId = Annotated[
    UUID | None, WithJsonSchema({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]})
]


class ApiModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, validate_by_alias=True, validate_by_name=False
    )


# --- requests ------------------------------------------------------------------


class TokenRequest(ApiModel):
    email: Text
    password: Text
    organization: Annotated[
        str | None,
        Field(
            strict=True,
            max_length=200,
            description="The organization's id or name. Needed only when the email and"
            " password fit accounts in several organizations (a 409 lists them).",
        ),
    ] = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "editor@demo.capital-ledger.test", "password": "demo-editor-2026"}
            ]
        }
    )


class NewSourceTerms(ApiModel):
    name: Name
    annual_rate: Rate
    available_cents: Cents
    # Left out of dumps when not given: the request's canonical bytes (its idempotency
    # fingerprint) stay what they were before currencies.
    currency: OptionalIsoCurrency = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The source's currency (availableCents are its minor units);"
        " default the organization's.",
    )
    kind: OptionalKind = Field(default=None, exclude_if=lambda value: value is None)


class AddSourceRequest(ApiModel):
    source: NewSourceTerms
    effective_date: EffectiveDate
    notes: Notes = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source": {
                        "name": "KCB term loan",
                        "annualRate": 0.1325,
                        "availableCents": 250000000,
                    },
                    "effectiveDate": "2026-03-01",
                    "notes": "signed 28 Feb",
                }
            ]
        }
    )

    def to_command(self) -> commands.AddSource:
        terms = commands.SourceTerms(
            name=self.source.name,
            annual_rate=self.source.annual_rate,
            available_cents=self.source.available_cents,
            currency=self.source.currency,
            kind=self.source.kind,
        )
        return commands.AddSource(terms, self.effective_date, self.notes)


class FxRateRequest(ApiModel):
    from_currency: IsoCurrency
    to_currency: OptionalIsoCurrency = Field(
        default=None, description="Must be the reporting currency; default it."
    )
    rate: FxRateValue
    effective_date: FactDate

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"fromCurrency": "USD", "rate": "129.5", "effectiveDate": "2025-03-03"}]
        }
    )


class TaxRateRequest(ApiModel):
    rate: TaxRateValue
    effective_date: FactDate

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"rate": "0.3", "effectiveDate": "2025-01-01"}]}
    )


class UpdateAmountRequest(ApiModel):
    source_id: SourceId
    available_cents: Cents
    effective_date: EffectiveDate
    notes: Notes = None
    expected_sequence: ExpectedSequence = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sourceId": "5f0c7a8e-3b1d-4c59-9d7e-2a6f1e0b9c41",
                    "availableCents": 230000000,
                    "effectiveDate": "2026-03-01",
                    "notes": "partial repayment",
                    "expectedSequence": 2,
                }
            ]
        }
    )

    def to_command(self) -> commands.ChangeAmount:
        return commands.ChangeAmount(
            source_id=self.source_id,
            available_cents=self.available_cents,
            effective_date=self.effective_date,
            notes=self.notes,
            expected_sequence=self.expected_sequence,
        )


class UpdateRateRequest(ApiModel):
    source_id: SourceId
    annual_rate: Rate
    effective_date: EffectiveDate
    notes: Notes = None
    expected_sequence: ExpectedSequence = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sourceId": "5f0c7a8e-3b1d-4c59-9d7e-2a6f1e0b9c41",
                    "annualRate": 0.14,
                    "effectiveDate": "2026-03-01T00:00:00Z",
                    "notes": "repriced",
                    "expectedSequence": 3,
                }
            ]
        }
    )

    def to_command(self) -> commands.ChangeRate:
        return commands.ChangeRate(
            source_id=self.source_id,
            annual_rate=self.annual_rate,
            effective_date=self.effective_date,
            notes=self.notes,
            expected_sequence=self.expected_sequence,
        )


class RemoveSourceRequest(ApiModel):
    source_id: SourceId
    effective_date: EffectiveDate
    notes: Notes = None
    expected_sequence: ExpectedSequence = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sourceId": "5f0c7a8e-3b1d-4c59-9d7e-2a6f1e0b9c41",
                    "effectiveDate": "2026-06-30",
                    "notes": "repaid in full",
                }
            ]
        }
    )

    def to_command(self) -> commands.RemoveSource:
        return commands.RemoveSource(
            source_id=self.source_id,
            effective_date=self.effective_date,
            notes=self.notes,
            expected_sequence=self.expected_sequence,
        )


class CreateUserRequest(ApiModel):
    email: Email
    name: Name
    role: Role
    password: Password

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "jane@example.co.ke",
                    "name": "Jane Mwangi",
                    "role": "EDITOR",
                    "password": "a long passphrase",
                }
            ]
        }
    )


class UpdateUserRequest(ApiModel):
    role: OptionalRole = None
    active: OptionalActive = None
    name: OptionalName = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "VIEWER"}, {"active": False}]}
    )


class UpdateOrganizationRequest(ApiModel):
    name: OptionalName = None
    currency: OptionalCurrency = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Acme Treasury Ltd"}]})


# --- responses -------------------------------------------------------------------


class TokenResponse(ApiModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="Seconds until the token expires.")
    # Only in answers to the OAuth2 form, for RFC 6749 clients (and /api/docs' Authorize).
    oauth2_access_token: str | None = Field(None, alias="access_token")
    oauth2_token_type: Literal["bearer"] | None = Field(None, alias="token_type")
    oauth2_expires_in: int | None = Field(None, alias="expires_in")


class HistoryEntryOut(ApiModel):
    id: str
    organization_id: UUID
    source_id: str
    sequence: int
    effective_date: datetime
    name: str
    annual_rate: Decimal_
    available_cents: int
    action: Action
    previous_rate: NullableDecimal
    previous_amount: NullableInt
    notes: NullableText
    created_at: datetime = Field(
        description="When this ledger recorded the entry (the database's transaction time; "
        "what knownAt compares with). For an imported entry: when it was imported."
    )
    created_by: NullableText = Field(
        description="Who recorded it here (a user id; for an imported entry, the importer)."
    )
    recorded_by: NullableId = Field(description="The user who recorded it here.")
    import_id: NullableId = Field(description="The import that brought it in, if any.")
    original_created_at: NullableInstant = Field(
        description="An imported entry's own createdAt from the file (as claimed there)."
    )
    original_created_by: NullableText = Field(
        description="An imported entry's own createdBy from the file (as claimed there)."
    )
    api_key_id: NullableId = Field(description="The API key that wrote this entry, if one did.")
    api_key_name: NullableText = Field(description="That key's name, when it wrote the entry.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6f9b0e-8a0e-4f5e-b1f3-3c2d9e7a1f20",
                    "organizationId": "7d1b2c3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
                    "sourceId": "5f0c7a8e-3b1d-4c59-9d7e-2a6f1e0b9c41",
                    "sequence": 3,
                    "effectiveDate": "2026-03-01T00:00:00Z",
                    "name": "KCB term loan",
                    "annualRate": 0.1325,
                    "availableCents": 250000000,
                    "action": "RATE_CHANGED",
                    "previousRate": 0.14,
                    "previousAmount": None,
                    "notes": "repriced",
                    "createdAt": "2026-03-02T09:14:07.123456Z",
                    "createdBy": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
                    "recordedBy": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
                    "importId": None,
                    "originalCreatedAt": None,
                    "originalCreatedBy": None,
                    "apiKeyId": None,
                    "apiKeyName": None,
                }
            ]
        }
    )


class CommandResponse(ApiModel):
    source_id: str
    entry: HistoryEntryOut


class FeedEventOut(ApiModel):
    """One event of GET /api/events: an entry and where it sits in commit order."""

    event_id: str = Field(description="Resume after this event: `cursor` or `Last-Event-ID`.")
    revision: int = Field(description="The write transaction's revision (commit order).")
    entry: HistoryEntryOut


class ActiveSourceOut(ApiModel):
    source_id: str
    name: str
    annual_rate: Decimal_
    available_cents: int
    sequence: int
    added_date: datetime
    last_changed_date: datetime
    # Only with include=currency (migration 0013):
    currency: str | None = Field(
        default=None,
        description="With include=currency: ISO 4217; availableCents are its minor units.",
    )
    kind: Literal["debt", "equity"] | None = Field(
        default=None, description="With include=currency: debt or equity."
    )


_TOTAL_DOC = (
    "In the reporting currency's minor units. Null only with include=reporting when an"
    " FX rate is missing (see missingRates); without it a missing rate answers 409."
)
_AFTER_TAX_DOC = (
    "With include=reporting: (Σ equity × rate + Σ debt × rate × (1 − tax)) / Σ amounts,"
    " at the tax rate in force; null with afterTaxWaccReason when there is none."
)
_REASON_DOC = (
    "With include=reporting: why afterTaxWacc is null, e.g. 'no corporate tax rate on or"
    " before 3 Mar 2025'."
)
_CURRENCY_DOC = "With include=reporting: the organization's reporting currency."
_MISSING_DOC = (
    "With include=reporting: one message per missing FX rate, e.g. 'no USD→KES rate on or"
    " before 3 Mar 2025'; when not empty, totalCents, wacc and afterTaxWacc are null."
)


class WaccOut(ApiModel):
    as_of: datetime
    known_at: datetime
    total_cents: NullableInt = Field(description=_TOTAL_DOC)
    wacc: NullableDecimal = Field(description="null when no source is active")
    source_count: int
    # Only with include=reporting (migration 0013):
    after_tax_wacc: NullableDecimal = Field(default=None, description=_AFTER_TAX_DOC)
    after_tax_wacc_reason: NullableText = Field(default=None, description=_REASON_DOC)
    reporting_currency: str | None = Field(default=None, description=_CURRENCY_DOC)
    missing_rates: list[str] | None = Field(default=None, description=_MISSING_DOC)


class SeriesPointOut(ApiModel):
    date: date
    total_cents: NullableInt = Field(description=_TOTAL_DOC)
    wacc: NullableDecimal
    # Only with include=reporting (migration 0013):
    after_tax_wacc: NullableDecimal = Field(default=None, description=_AFTER_TAX_DOC)
    after_tax_wacc_reason: NullableText = Field(default=None, description=_REASON_DOC)
    reporting_currency: str | None = Field(default=None, description=_CURRENCY_DOC)
    missing_rates: list[str] | None = Field(default=None, description=_MISSING_DOC)


class FxRateOut(ApiModel):
    id: UUID
    from_currency: str
    to_currency: str
    rate: Decimal_
    effective_date: date
    recorded_at: datetime
    recorded_by: NullableId


class FxRatesOut(ApiModel):
    reporting_currency: str
    rates: list[FxRateOut] = Field(description="By effective date, then recording time.")


class TaxRateOut(ApiModel):
    id: UUID
    rate: Decimal_
    effective_date: date
    recorded_at: datetime
    recorded_by: NullableId


class TaxRatesOut(ApiModel):
    rates: list[TaxRateOut] = Field(description="By effective date, then recording time.")


class FxRateRowOut(ApiModel):
    row: int
    from_currency: str
    to_currency: str
    rate: Decimal_
    effective_date: date


class FxUploadOut(ApiModel):
    dry_run: bool
    rows: list[FxRateRowOut]
    rates: list[FxRateOut] = Field(description="What was stored (empty on a dry run).")


class MeOut(ApiModel):
    id: UUID
    email: str
    name: str
    role: RoleName
    organization_id: UUID


class OrganizationOut(ApiModel):
    id: UUID
    name: str
    currency: str = Field(description="The reporting currency of every amount.")
    created_at: datetime
    currency_changeable: bool = Field(
        description="False once the organization has history: the currency is then fixed."
    )


class UserOut(ApiModel):
    id: UUID
    email: str
    name: str
    role: RoleName
    active: bool
    organization_id: UUID


class PoolHealthOut(ApiModel):
    """This process's connection pool; `checkedOut` at `size` + `maxOverflow` means
    requests wait up to `timeoutSeconds` for a connection, then answer 503."""

    size: int
    max_overflow: int
    checked_out: int
    overflow: int
    timeout_seconds: float


class DatabaseHealthOut(ApiModel):
    reachable: bool
    revision: NullableText = Field(description="The migration the database is at.")
    head: NullableText = Field(description="The newest migration this code ships.")
    up_to_date: bool
    pool: PoolHealthOut


class RealtimeHealthOut(BaseModel):
    """This backend process's realtime listener, as capital_app.realtime reports it."""

    model_config = ConfigDict(extra="allow")
    state: str = Field(description="connected, connecting, reconnecting, stopped or not running")


class HealthOut(ApiModel):
    status: Literal["ok", "unavailable"]
    database: DatabaseHealthOut
    realtime: RealtimeHealthOut


class FieldErrorOut(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; some problems add members (see the subclasses)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class ValidationProblem(Problem):
    errors: list[FieldErrorOut]


class OrganizationChoice(BaseModel):
    id: str
    name: str


class ConflictProblem(Problem):
    """A 409. A stale `expectedSequence` adds the source's current latest entry; a
    sign-in whose email and password fit several organizations lists them."""

    expectedSequence: int | None = None
    currentSequence: int | None = None
    latestEntry: HistoryEntryOut | None = None
    organizations: list[OrganizationChoice] | None = None


class ThrottledProblem(Problem):
    retryAfter: int


class ServerErrorProblem(Problem):
    errorId: str


# --- migration and export ------------------------------------------------------


class ImportErrorOut(BaseModel):
    """One problem in an import file: the entry's position (from 0; null for the file
    as a whole), the field, a plain-words message, and the entry's id when it has one."""

    index: int | None = None
    field: str
    message: str
    entryId: str | None = None


class ImportReportOut(BaseModel):
    """What an import did, or (`dryRun`) would do. `totalCents`, `wacc` and
    `activeSources` describe the organization after the import."""

    dryRun: bool
    imported: int = Field(description="Entries written (a dry run: that would be written).")
    skipped: int = Field(description="Entries already stored (or repeated in the file).")
    errors: list[ImportErrorOut] = Field(
        description="The first problems found (at most 200, in file order); an import with "
        "any answers 422 and writes nothing."
    )
    errorsTotal: int = Field(description="How many problems the file has (all counted).")
    errorCounts: dict[str, int] = Field(
        description="Problems counted by kind: the field, `entry` or `file` (at most 64 "
        "kinds; any further kind counts as `other`)."
    )
    errorsTruncated: bool = Field(description="True when `errors` lists fewer than all.")
    entriesInFile: int
    importedByAction: dict[str, int]
    sourcesInFile: int
    newSources: int
    firstEffectiveDate: datetime | None
    lastEffectiveDate: datetime | None
    totalCents: int | None
    wacc: NullableDecimal
    activeSources: int | None
    importId: str | None = Field(description="The import log entry (null for a dry run).")
    revision: int | None
    fileName: str | None
    contentSha256: str


class ImportRefusedProblem(Problem):
    """A 422 for an import: `errors` lists the first problems (with `index` for the file's
    entries; `errorsTotal` and `errorCounts` count them all); for a refused file the
    report's counts come along too."""

    errors: list[ImportErrorOut]
    errorsTotal: int | None = None
    errorCounts: dict[str, int] | None = None
    errorsTruncated: bool | None = None
    dryRun: bool | None = None
    imported: int | None = None
    skipped: int | None = None
    entriesInFile: int | None = None


class ExportEntryOut(BaseModel):
    """One exported entry: the prototype's shape plus `sequence` (re-importable)."""

    id: str
    sourceId: str
    sequence: int
    action: Action
    effectiveDate: datetime
    name: str
    annualRate: Decimal_
    availableCents: int
    previousRate: NullableDecimal
    previousAmount: NullableInt
    notes: NullableText
    createdAt: datetime
    createdBy: NullableText


_PROTOTYPE_DATE = {"type": "string", "examples": ["2024-01-22T09:00:00.000Z"]}
_LEGACY_ENTRY = {
    "type": "object",
    "description": "A browser-prototype history entry. Optional keys may be absent or null; "
    "`annualRate` may carry JavaScript float noise (0.13250000000000001 is 0.1325).",
    "required": [
        "id",
        "sourceId",
        "action",
        "effectiveDate",
        "name",
        "annualRate",
        "availableCents",
        "createdAt",
    ],
    "properties": {
        "id": {"type": "string", "examples": ["hist_1737000000000_k3j9x"]},
        "sourceId": {"type": "string", "examples": ["src_1737000000000_a81bz"]},
        "sequence": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
        "action": {"enum": [a.value for a in Action]},
        "effectiveDate": _PROTOTYPE_DATE,
        "name": {"type": "string"},
        "annualRate": {"type": "number", "minimum": 0, "maximum": 1},
        "availableCents": {"type": "integer", "minimum": MIN_CENTS, "maximum": MAX_CENTS},
        "previousRate": _NULLABLE_NUMBER,
        "previousAmount": _NULLABLE_INTEGER,
        "notes": _NULLABLE_STRING,
        "createdAt": _PROTOTYPE_DATE,
        "createdBy": _NULLABLE_STRING,
    },
}
IMPORT_BODY_SCHEMA: dict[str, Any] = {
    "description": "A browser-prototype export, or this API's JSON export: a list of "
    'entries, or {"entries": [...]}. Read as a stream; at most `CAPITAL_MAX_IMPORT_BYTES` '
    "(64 MiB unless configured).",
    "anyOf": [
        {"type": "array", "items": _LEGACY_ENTRY},
        {
            "type": "object",
            "required": ["entries"],
            "properties": {"entries": {"type": "array", "items": _LEGACY_ENTRY}},
        },
    ],
}


# --- API keys ------------------------------------------------------------------

ScopeName = Literal["read", "write", "admin"]
_NULLABLE_INSTANT = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
OptionalInstant = Annotated[
    datetime | None,
    domain_check(_instant(end_of_day=True), optional=True),
    WithJsonSchema({"anyOf": [*_DATE_OR_DATETIME["anyOf"], {"type": "null"}]}),
]


class CreateApiKeyRequest(ApiModel):
    name: Name
    scopes: Annotated[
        list[str],
        WithJsonSchema(
            {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": ["read", "write", "admin"]},
                "description": "read: every read; write: also history commands; "
                "admin: also users (write and admin include read).",
            }
        ),
    ]
    expires_at: OptionalInstant = Field(
        default=None, description="Optional; a bare date means the end of that day, UTC."
    )


class ApiKeyOut(ApiModel):
    id: UUID
    name: str
    prefix: str = Field(description="The secret's first characters, to tell keys apart.")
    scopes: list[ScopeName]
    created_by: UUID
    created_by_name: str
    created_at: datetime
    expires_at: Annotated[datetime | None, WithJsonSchema(_NULLABLE_INSTANT)]
    last_used_at: Annotated[
        datetime | None,
        WithJsonSchema({**_NULLABLE_INSTANT, "description": "To the minute."}),
    ]
    revoked_at: Annotated[datetime | None, WithJsonSchema(_NULLABLE_INSTANT)]


class CreatedApiKeyOut(ApiKeyOut):
    secret: str = Field(description="The key itself, shown only in this answer.")


_EVENT_TYPES = [
    "source.added",
    "source.amount_changed",
    "source.rate_changed",
    "source.removed",
    "alert.triggered",
]


class CreateWebhookRequest(ApiModel):
    url: Annotated[
        str,
        WithJsonSchema(
            {
                "type": "string",
                "maxLength": 2000,
                "description": "https URL of the receiver; its host must resolve to public"
                " addresses (unless the server allows private ones).",
            }
        ),
    ]
    event_types: Annotated[
        list[str] | None,
        WithJsonSchema(
            {
                "type": ["array", "null"],
                "minItems": 1,
                "items": {"type": "string", "enum": _EVENT_TYPES},
                "description": "Which events to send (default: all, alert.triggered too).",
            }
        ),
    ] = None


class UpdateWebhookRequest(ApiModel):
    disabled: bool = Field(description="true stops deliveries; false resumes at the cursor.")


class WebhookOut(ApiModel):
    id: UUID
    url: str
    event_types: list[str]
    created_by: UUID
    created_at: datetime
    disabled_at: Annotated[datetime | None, WithJsonSchema(_NULLABLE_INSTANT)]
    failing_since: Annotated[datetime | None, WithJsonSchema(_NULLABLE_INSTANT)]
    status: str = Field(description="active, disabled or failing")
    delivered_revision: int = Field(description="Delivered (or skipped) up to this revision.")
    next_attempt_at: Annotated[datetime | None, WithJsonSchema(_NULLABLE_INSTANT)]


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_…), shown only in this answer.")


class WebhookDeliveryOut(ApiModel):
    id: UUID
    message_id: str = Field(description="The webhook-id header sent.")
    entry_id: str
    revision: int
    event_type: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    response_code: int | None
    latency_ms: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: Annotated[datetime | None, WithJsonSchema(_NULLABLE_INSTANT)]
    delivered_at: Annotated[datetime | None, WithJsonSchema(_NULLABLE_INSTANT)]
    resend_requested: bool


# --- alerts -----------------------------------------------------------------------

_ALERT_KINDS = [kind.value for kind in alert_rules.AlertKind]


def _threshold_rate(value: Any) -> Decimal:
    return alert_rules.check_threshold_rate(check_api_rate(value))


class CreateAlertRuleRequest(ApiModel):
    """The fields of the kind only: wacc_above → thresholdRate; wacc_change →
    thresholdBasisPoints and windowDays; total_below → thresholdCents."""

    kind: Annotated[
        str,
        domain_check(alert_rules.check_kind),
        WithJsonSchema({"type": "string", "enum": _ALERT_KINDS}),
    ]
    threshold_rate: Annotated[
        Decimal | None,
        domain_check(_threshold_rate, optional=True),
        WithJsonSchema(
            {
                "anyOf": [{**_RATE_SCHEMA, "exclusiveMinimum": 0}, {"type": "null"}],
                "description": "wacc_above: the WACC level, a fraction (0.12 is 12 %).",
            }
        ),
    ] = None
    threshold_basis_points: Annotated[
        int | None,
        domain_check(alert_rules.check_basis_points, optional=True),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": alert_rules.MAX_BASIS_POINTS},
                    {"type": "null"},
                ],
                "description": "wacc_change: alert when the WACC moved by more than this"
                " many basis points (either way) over windowDays.",
            }
        ),
    ] = None
    window_days: Annotated[
        int | None,
        domain_check(alert_rules.check_window_days, optional=True),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": alert_rules.MAX_WINDOW_DAYS},
                    {"type": "null"},
                ]
            }
        ),
    ] = None
    threshold_cents: Annotated[
        int | None,
        domain_check(alert_rules.check_threshold_cents, optional=True),
        WithJsonSchema(
            {
                "anyOf": [_CENTS_SCHEMA, {"type": "null"}],
                "description": "total_below: alert when the total capital falls below this"
                " many minor units.",
            }
        ),
    ] = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "wacc_above", "thresholdRate": 0.12},
                {"kind": "wacc_change", "thresholdBasisPoints": 50, "windowDays": 30},
                {"kind": "total_below", "thresholdCents": 100000000000},
            ]
        }
    )


class AlertRuleOut(ApiModel):
    id: UUID
    kind: str = Field(description="wacc_above, wacc_change or total_below")
    threshold_rate: NullableDecimal
    threshold_basis_points: NullableInt
    window_days: NullableInt
    threshold_cents: NullableInt
    description: str = Field(description="The rule in words.")
    active: bool
    created_by: UUID
    created_at: datetime
    deactivated_at: Annotated[datetime | None, WithJsonSchema(_NULLABLE_INSTANT)]
    deactivated_by: NullableId


class AlertOut(ApiModel):
    id: UUID
    rule_id: UUID
    kind: str
    threshold_rate: NullableDecimal
    threshold_basis_points: NullableInt
    window_days: NullableInt
    threshold_cents: NullableInt
    description: str
    triggered_at: datetime = Field(description="When the change that crossed it was recorded.")
    revision: int = Field(description="The organization's revision of that change.")
    entry_id: NullableText = Field(description="The history entry that crossed it (a command).")
    source_id: NullableText
    sequence: NullableInt
    import_id: NullableId = Field(description="The import that crossed it (else null).")
    value_before: NullableDecimal = Field(
        description="The rule's measure just before the change: the WACC (wacc_above), the"
        " signed move in basis points (wacc_change) or the total in cents (total_below)."
    )
    value_after: Decimal_ = Field(description="The same measure just after the change.")
    total_cents: int = Field(description="Total capital after the change.")
    wacc: NullableDecimal = Field(description="WACC after the change.")
