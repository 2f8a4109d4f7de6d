"""JSON in and out with exact decimals: no float ever touches money or a rate.

Request bodies are parsed with every fraction as a Decimal (so 0.1325 stays
0.1325 and a fractional cent amount can be refused), and Decimals are written
back as plain JSON numbers without float noise or NUMERIC's trailing zeros.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from capital_app.domain.money import decimal_text

_INT64 = 2**63


class BodyNotJson(json.JSONDecodeError):
    """Raised for any body that is not one valid JSON document (FastAPI answers 422)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(body: bytes) -> Any:
    """Parse a request body: UTF-8 JSON, fractions as Decimal, no NaN/Infinity."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyNotJson("The body must be UTF-8 encoded JSON", "", 0) from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise BodyNotJson(error.msg, error.doc[:200], error.pos) from None
    except (ValueError, RecursionError) as error:  # huge integers, NaN, deep nesting
        message = str(error) if isinstance(error, ValueError) else "The body is nested too deeply"
        raise BodyNotJson(message.splitlines()[0][:200], "", 0) from None


# Decimal → its JSON text. Rates repeat on every entry of a page (a few distinct values
# per source), so a lookup replaces formatting each one. Equal non-zero Decimals have
# one text (0.1325 and 0.132500 both write 0.1325); zeros are not cached (-0 and 0 are
# equal but write differently). Bounded: cleared when full.
_TEXTS: dict[Decimal, orjson.Fragment] = {}
_TEXTS_MAX = 4096


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        found = _TEXTS.get(value)
        if found is None:
            found = orjson.Fragment(decimal_text(value))
            if value and value.is_finite():
                if len(_TEXTS) >= _TEXTS_MAX:
                    _TEXTS.clear()
                _TEXTS[value] = found
        return found
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _wide_ints(value: Any) -> Any:
    """Integers beyond 64 bits (a total of many large sources) as exact fragments."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return orjson.Fragment(str(value)) if not -_INT64 <= value < _INT64 else value
    if isinstance(value, Mapping):
        return {k: _wide_ints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wide_ints(v) for v in value]
    return value


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Serialize for a response: Decimals exact, datetimes as RFC 3339 with Z."""
    option = orjson.OPT_UTC_Z | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, default=_default, option=option)
    except TypeError as error:
        if "64-bit" not in str(error):
            raise
        return orjson.dumps(_wide_ints(value), default=_default, option=option)


def canonical(value: Any) -> bytes:
    """One byte string per meaning (sorted keys), for fingerprinting request bodies."""
    return dumps(value, sort_keys=True)
