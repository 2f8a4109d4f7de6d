"""Text PostgreSQL cannot store (NUL, lone surrogates) is refused with a clear message."""

from __future__ import annotations

import pytest

from capital_app.auth.passwords import hash_password, verify_password
from capital_app.domain.errors import InvalidInput
from capital_app.domain.values import (
    check_email,
    check_idempotency_key,
    check_name,
    check_notes,
    check_source_id,
)


@pytest.mark.parametrize("check", [check_name, check_notes, check_source_id])
@pytest.mark.parametrize("bad", ["a\x00b", "lone \ud800", "\udfff"])
def test_unstorable_text_is_refused(check, bad):
    with pytest.raises(InvalidInput):
        check(bad)


@pytest.mark.parametrize("text", ["Mkopo 💰 🇰🇪", "名前", "O'Brien; DROP TABLE x"])
def test_unusual_but_valid_text_is_kept(text):
    assert check_name(text) == text
    assert check_notes(text) == text


@pytest.mark.parametrize("bad", ["a\x00@b.test", "a@b\ud800.test", "a b@c.test", "a@b"])
def test_emails_with_unstorable_or_invalid_characters_are_refused(bad):
    with pytest.raises(InvalidInput):
        check_email(bad)


@pytest.mark.parametrize("key", ["550e8400-e29b-41d4-a716-446655440000", "k", "k" * 200, "a:b/c"])
def test_idempotency_keys(key):
    assert check_idempotency_key(key) == key


@pytest.mark.parametrize("key", ["", "k" * 201, "has space", "tab\tkey", "ключ", None, 5])
def test_bad_idempotency_keys(key):
    with pytest.raises(InvalidInput):
        check_idempotency_key(key)


def test_a_password_with_a_lone_surrogate_hashes_instead_of_crashing():
    hashed = hash_password("pass \ud800 word")
    assert verify_password("pass \ud800 word", hashed)
    assert not verify_password("pass  word", hashed)


def test_instants_out_of_range_in_utc_are_invalid_input():
    from capital_app.domain.values import parse_instant

    with pytest.raises(InvalidInput):
        parse_instant("0001-01-01T00:00:00+01:01", "effectiveDate")


@pytest.mark.parametrize("value", [2**31, 2046969084181689139200])
def test_expected_sequences_beyond_the_column_are_invalid(value):
    from capital_app.domain.values import check_expected_sequence

    with pytest.raises(InvalidInput):
        check_expected_sequence(value)


_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2060",
              "\u2064", "\u2066", "\u2069", "\ufeff", "\u061c"]  # fmt: skip


@pytest.mark.parametrize("check", [check_name, check_notes])
@pytest.mark.parametrize("char", _INVISIBLE)
def test_invisible_and_text_direction_characters_are_refused_naming_the_code_point(check, char):
    for text in (char, f"txt{char}exe", f"Loan {char * 3}"):
        with pytest.raises(InvalidInput) as refused:
            check(text)
        assert f"U+{ord(char):04X}" in refused.value.message
        assert "invisible or text-direction" in refused.value.message


@pytest.mark.parametrize("blank", ["\u00a0", "\u2003\u3000", "\u00ad\u00ad"])
def test_names_of_only_blank_or_format_characters_are_refused(blank):
    with pytest.raises(InvalidInput) as refused:
        check_name(blank)
    assert refused.value.message in ("Name is required.", "Name must contain visible characters.")


def test_visible_text_around_ordinary_spaces_is_kept():
    assert check_name("KCB\u00a0term loan") == "KCB\u00a0term loan"  # NBSP inside: shown as typed
    assert check_notes("שלום and مرحبا") == "שלום and مرحبا"  # right-to-left text itself is fine
