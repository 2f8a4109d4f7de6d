"""Read a large JSON list one element at a time, numbers as exact Decimals.

An export can hold 100,000 entries. Decoding it whole would keep the text and
every parsed object in memory at once; this reader keeps a small window of text
and hands out one element at a time. Numbers with a fraction or an exponent
become `Decimal` (never `float`), whole numbers `int`; `NaN` and `Infinity`
become `NotANumber` so the caller can say what is wrong with them instead of
the reader guessing. Pure: it reads from chunks the caller supplies.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_COMPACT_AFTER = 1 << 16
_AFTER_NUMBER = frozenset(" \t\n\r,]}:")


@dataclass(frozen=True, slots=True)
class NotANumber:
    """`NaN`, `Infinity` or `-Infinity` as written in the file."""

    text: str


class JsonObject(dict[str, object]):
    """A decoded JSON object that remembers keys written more than once."""

    __slots__ = ("repeated_keys",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        super().__init__(pairs)
        self.repeated_keys: tuple[str, ...] = ()
        if len(self) != len(pairs):
            seen: set[str] = set()
            repeated: list[str] = []
            for key, _ in pairs:
                if key in seen:
                    repeated.append(key)
                seen.add(key)
            self.repeated_keys = tuple(dict.fromkeys(repeated))


class JsonStreamError(Exception):
    """The text is not the JSON shape expected; `message` says where, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=NotANumber, object_pairs_hook=JsonObject
)


class JsonReader:
    """A window over the text with just enough JSON tokenizing to walk a list."""

    def __init__(self, chunks: Iterable[bytes | str]) -> None:
        self._chunks = iter(chunks)
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self._text = ""
        self._pos = 0
        self._lines_before = 0  # line breaks in text already dropped from the window
        self._eof = False
        self._started = False

    # -- the window ---------------------------------------------------------------

    def _read_more(self) -> bool:
        """Append the next chunk of text; False at the end of the input."""
        if self._eof:
            return False
        for chunk in self._chunks:
            try:
                text = self._utf8.decode(chunk) if isinstance(chunk, bytes) else chunk
            except UnicodeDecodeError:
                raise JsonStreamError(
                    "The file is not UTF-8 text; save or export it again as UTF-8."
                ) from None
            if not self._started and text:
                text = text.removeprefix("\ufeff")
                self._started = True
            if text:
                self._append(text)
                return True
        self._eof = True
        try:
            tail = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise JsonStreamError("The file ends in the middle of a character.") from None
        if tail:
            self._append(tail)
            return True
        return False

    def _append(self, text: str) -> None:
        if self._pos > _COMPACT_AFTER:
            self._lines_before += self._text.count("\n", 0, self._pos)
            self._text = self._text[self._pos :]
            self._pos = 0
        self._text += text

    def where(self, pos: int | None = None) -> str:
        """'line L, column C' of a position in the window (default: the current one)."""
        pos = self._pos if pos is None else pos
        line = self._lines_before + self._text.count("\n", 0, pos) + 1
        column = pos - self._text.rfind("\n", 0, pos)
        return f"line {line}, column {column}"

    # -- tokens -------------------------------------------------------------------

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the input)."""
        while True:
            self._pos = _WHITESPACE.match(self._text, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._text):
                return self._text[self._pos]
            if not self._read_more():
                return ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self._pos += 1
            return True
        return False

    def value(self) -> object:
        """Decode one complete JSON value, reading more text until it is whole."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._pos)
                # A bare number is whole only once a delimiter follows: "1" of "1E-8"
                # may be all that has arrived yet. Everything else closes itself.
                whole = not isinstance(value, int | Decimal) or (
                    end < len(self._text) and self._text[end] in _AFTER_NUMBER
                )
                if whole or self._eof:
                    self._pos = end
                    return value
            except json.JSONDecodeError as error:
                if self._eof:
                    raise JsonStreamError(
                        f"The file is not valid JSON ({error.msg} at {self.where(error.pos)})."
                    ) from None
            except (ValueError, RecursionError) as error:
                if self._eof:
                    raise JsonStreamError(
                        f"The file is not valid JSON near {self.where()}: {error}."
                    ) from None
            # Read at least as much again as is waiting, so one huge value costs
            # a few decoding attempts, not one per chunk.
            wanted = 2 * (len(self._text) - self._pos) + 1
            while len(self._text) - self._pos < wanted and self._read_more():
                pass


def iter_list(reader: JsonReader, what: str = "entries") -> Iterator[object]:
    """The elements of the JSON list starting at the reader's position."""
    if not reader.take("["):
        raise JsonStreamError(f"Expected a list of {what} ([ … ]) at {reader.where()}.")
    if reader.take("]"):
        return
    while True:
        yield reader.value()
        if reader.take(","):
            continue
        if reader.take("]"):
            return
        if reader.peek() == "":
            raise JsonStreamError(f"The file ends before the list of {what} is closed.")
        raise JsonStreamError(
            f"Expected a comma or the end of the list of {what} at {reader.where()}."
        )


def expect_end(reader: JsonReader) -> None:
    if reader.peek() != "":
        raise JsonStreamError(f"Unexpected text after the end of the data at {reader.where()}.")
