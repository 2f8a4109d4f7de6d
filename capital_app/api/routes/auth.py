"""Signing in: a bearer token for an email and password (JSON or the OAuth2 form)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from capital_app.api import representations as out
from capital_app.api import schemas
from capital_app.api.deps import TOKEN_URL, CurrentActor, client_address
from capital_app.api.problems import problem
from capital_app.api.routing import ExactJSONResponse, api_router, error_responses
from capital_app.service import users
from capital_app.service.authentication import authenticate, issue_api_token

router = api_router(tags=["auth"])

# OAuth2 clients (and the Authorize button of /api/docs) send these beside the credentials.
_OAUTH2_FIELDS = {"grant_type", "scope", "client_id", "client_secret"}

_TOKEN_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": schemas.TokenRequest.model_json_schema(by_alias=True),
        },
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string", "description": "The email address."},
                    "password": {"type": "string", "format": "password"},
                    "organization": {
                        "type": "string",
                        "maxLength": 200,
                        "description": "The organization's id or name, when a 409 asks.",
                    },
                    "grant_type": {"type": "string", "enum": ["password"]},
                    "scope": {"type": "string"},
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"},
                },
            }
        },
    },
}


def _invalid(errors: list[dict[str, Any]]) -> RequestValidationError:
    return RequestValidationError(errors)


async def _json_credentials(request: Request) -> tuple[str, str, str | None]:
    try:
        body = await request.json()
    except json.JSONDecodeError as error:
        raise _invalid(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", error.pos),
                    "msg": "",
                    "ctx": {"error": error.msg},
                }
            ]
        ) from None
    try:
        parsed = schemas.TokenRequest.model_validate(body)
    except ValidationError as error:
        raise _invalid(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
    return parsed.email, parsed.password, parsed.organization


async def _form_credentials(request: Request) -> tuple[str, str, str | None]:
    form = await request.form(max_files=0, max_fields=10)
    errors: list[dict[str, Any]] = []
    values: dict[str, str] = {}
    for name in ("username", "password"):
        value = form.get(name)
        if not isinstance(value, str):
            errors.append({"type": "missing", "loc": ("body", name), "msg": "Field required"})
        else:
            values[name] = value
    organization = form.get("organization")
    if organization is not None and (not isinstance(organization, str) or len(organization) > 200):
        errors.append({"type": "invalid", "loc": ("body", "organization"), "msg": "Invalid."})
    for name in form:
        if name not in ("username", "password", "organization") and name not in _OAUTH2_FIELDS:
            errors.append({"type": "extra_forbidden", "loc": ("body", name), "msg": ""})
    if form.get("grant_type") not in (None, "password"):
        errors.append(
            {
                "type": "invalid",
                "loc": ("body", "grant_type"),
                "msg": "grant_type must be password.",
            }
        )
    if errors:
        raise _invalid(errors)
    return (
        values["username"],
        values["password"],
        organization if isinstance(organization, str) else None,
    )


@router.post(
    TOKEN_URL,
    summary="Get an access token",
    response_model=schemas.TokenResponse,
    responses=error_responses(400, 401, 409, 413, 415, 422, 429, 503),
    openapi_extra={"requestBody": _TOKEN_BODY},
)
async def issue_token(
    request: Request, client: Annotated[str, Depends(client_address)]
) -> Response:
    """JSON `{"email", "password"}` or the OAuth2 password form (`username`, `password`).

    401 for a wrong email or password (the same answer for both); after repeated
    failures for one email or one client address, 429 with `Retry-After`. When the
    email and password fit accounts in several organizations, 409 with
    `organizations` (id and name of each): send again with `organization`.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_form = content_type == "application/x-www-form-urlencoded"
    if is_form:
        email, password, organization = await _form_credentials(request)
    elif content_type == "application/json" or content_type.endswith("+json"):
        email, password, organization = await _json_credentials(request)
    else:
        return problem(
            415,
            "Unsupported media type",
            "Send the credentials as application/json or application/x-www-form-urlencoded.",
            instance=request.url.path,
        )
    user = await run_in_threadpool(authenticate, email, password, client, organization)
    token, expires_in = issue_api_token(user)
    body: dict[str, Any] = {"accessToken": token, "tokenType": "bearer", "expiresIn": expires_in}
    if is_form:  # RFC 6749 clients read the snake_case names
        body.update(access_token=token, token_type="bearer", expires_in=expires_in)
    return ExactJSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get(
    "/api/me",
    summary="The signed-in user",
    response_model=schemas.MeOut,
    responses=error_responses(401, 503),
)
def me(actor: CurrentActor) -> Response:
    return ExactJSONResponse(out.me_body(users.me(actor)))
