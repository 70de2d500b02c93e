"""Typed CSV tables for seeding, with errors naming the file, the line and the column.

A table is a header line and one row per line; columns may come in any order, empty cells
take the model's default, times are ISO-8601 (``2024-12-31T05:00Z``; no zone means UTC),
lists (capabilities) are separated by ``;`` or spaces, booleans are ``true/false``, ``1/0``
or ``yes/no``. Every row is validated by the model it builds; the first bad cell raises
:class:`SeedError` and nothing is written.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class SeedError(ValueError):
    """A seed file is unreadable or holds a bad value; ``line`` 1 is the header."""

    def __init__(
        self, path: Path, why: str, *, line: int | None = None, column: str | None = None
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.why = why
        where = (
            str(path)
            + (f", line {line}" if line else "")
            + (f", column {column}" if column else "")
        )
        super().__init__(f"{where}: {why}")


def parse_time(text: str) -> datetime:
    """An ISO time; UTC when it names no zone."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO time (e.g. 2024-12-31T05:00Z)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_float(text: str) -> float:
    """A number."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def parse_bool(text: str) -> bool:
    """``true/false``, ``1/0``, ``yes/no``."""
    low = text.strip().lower()
    if low in _TRUE | _FALSE:
        return low in _TRUE
    raise ValueError(f"{text!r} is not true or false")


def parse_set(text: str) -> frozenset[str]:
    """Names separated by ``;`` or spaces."""
    return frozenset(text.replace(";", " ").split())


@dataclass(frozen=True)
class Column:
    """A CSV column: its header, the model field it fills, how to parse a cell."""

    name: str
    field: str
    parse: Callable[[str], Any] = str


@dataclass(frozen=True)
class Table:
    """What a CSV file holds: its columns, the fields it must give, the model a row builds."""

    columns: Sequence[Column]
    required: frozenset[str]
    build: Callable[[dict[str, Any]], BaseModel]


def _header(path: Path, header: Sequence[str] | None, table: Table) -> dict[str, Column]:
    if not header:
        raise SeedError(path, "the file is empty (a header line is needed)", line=1)
    known = {c.name: c for c in table.columns}
    for name in header:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"expected {', '.join(known)}"
            raise SeedError(path, f"unknown column ({hint})", line=1, column=name)
    fields = {known[n].field for n in header}
    for name in sorted(table.required - fields):
        raise SeedError(path, "required column is missing", line=1, column=name)
    return {n: known[n] for n in header}


def _build(
    path: Path, line: int, table: Table, values: dict[str, Any], by_field: Mapping[str, str]
) -> BaseModel:
    try:
        return table.build(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise SeedError(path, reason, line=line, column=by_field.get(field)) from None


def read_table(path: Path, table: Table) -> list[BaseModel]:
    """Every row of ``path`` as the table's model; :class:`SeedError` on the first bad cell."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, skipinitialspace=True)
            columns = _header(path, reader.fieldnames, table)
            by_field = {c.field: name for name, c in columns.items()}
            out = []
            for row in reader:
                line = reader.line_num
                if None in row:
                    raise SeedError(path, "more cells than columns", line=line)
                values: dict[str, Any] = {}
                for name, column in columns.items():
                    cell = (row.get(name) or "").strip()
                    if not cell:
                        continue
                    try:
                        values[column.field] = column.parse(cell)
                    except ValueError as exc:
                        raise SeedError(path, str(exc), line=line, column=name) from None
                for field in sorted(table.required - values.keys()):
                    raise SeedError(path, "empty cell", line=line, column=by_field[field])
                out.append(_build(path, line, table, values, by_field))
    except OSError as exc:
        raise SeedError(path, exc.strerror or str(exc)) from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise SeedError(path, f"not a CSV file: {exc}") from exc
    return out


def read_models(path: Path, table: Table, model: type[M]) -> list[M]:
    """:func:`read_table`, typed."""
    return [row for row in read_table(path, table) if isinstance(row, model)]
