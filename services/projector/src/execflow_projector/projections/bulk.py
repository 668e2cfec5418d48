"""Many rows into (or onto) one table in one statement: each column goes as one binary
array, and the server unnests them in the order given.

An `executemany`, even pipelined, is a Bind and an Execute per row on both sides, and a
busy batch writes hundreds of rows to the same few tables. Binary arrays need no
escaping (text ones would escape every JSON body again).

Statements are composed once and kept as bytes: psycopg renders a composed statement
again at every execution (quoting each identifier through libpq), which was a tenth of
the projector's CPU.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any

from psycopg import AsyncConnection, sql


class RowsInsert:
    """INSERT of rows given as tuples in `columns`' order: (name, SQL type) pairs.
    `on_conflict` is the statement's conflict clause, e.g. "ON CONFLICT DO NOTHING"."""

    def __init__(self, table: str, columns: Sequence[tuple[str, str]], on_conflict: str = ""):
        names = _names(columns)
        statement = sql.SQL(
            "INSERT INTO {table} ({names}) SELECT {names}"
            " FROM unnest({arrays}) WITH ORDINALITY AS given({names}, position_)"
            " ORDER BY position_ {on_conflict}"
        ).format(
            table=sql.Identifier(table),
            names=names,
            arrays=_arrays(columns),
            on_conflict=sql.SQL(on_conflict),
        )
        self._query = statement.as_bytes()

    async def run(self, conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await conn.execute(self._query, as_arrays(rows))


Columns = tuple[tuple[str, str], ...]


@cache
def rows_update(table: str, key: Columns, sets: Columns) -> bytes:
    """UPDATE of many rows, each found by its `key` columns and given the values of
    `sets`; arrays in that order, each key once. Columns are (name, SQL type) pairs, in
    tuples so that each statement is made once."""
    given = (*key, *sets)
    assignments = [sql.SQL("{0} = given.{0}").format(sql.Identifier(name)) for name, _ in sets]
    statement = sql.SQL(
        "UPDATE {table} SET {assignments} FROM unnest({arrays}) AS given({names}) WHERE {match}"
    ).format(
        table=sql.Identifier(table),
        assignments=sql.SQL(", ").join(assignments),
        arrays=_arrays(given),
        names=_names(given),
        match=sql.SQL(" AND ").join(
            sql.SQL("{0}.{1} = given.{1}").format(sql.Identifier(table), sql.Identifier(name))
            for name, _ in key
        ),
    )
    return statement.as_bytes()


def as_arrays(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows of values as the column arrays the statements above take."""
    return [list(column) for column in zip(*rows, strict=True)]


def _names(columns: Sequence[tuple[str, str]]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)


def _arrays(columns: Sequence[tuple[str, str]]) -> sql.Composed:
    """A binary array parameter for each column, cast to an array of its type."""
    return sql.SQL(", ").join(sql.SQL("%b::{}[]").format(sql.SQL(t)) for _, t in columns)
