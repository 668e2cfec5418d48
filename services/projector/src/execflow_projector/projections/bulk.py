"""Many rows into one table in one statement: each column goes as one binary array, and
the server unnests them in the order given.

An `executemany`, even pipelined, is a Bind and an Execute per row on both sides, and a
busy batch writes hundreds of rows to the same few tables. Binary arrays need no
escaping (text ones would escape every JSON body again).
"""

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, sql


class RowsInsert:
    """INSERT of rows given as tuples in `columns`' order: (name, SQL type) pairs.
    `on_conflict` is the statement's conflict clause, e.g. "ON CONFLICT DO NOTHING"."""

    def __init__(self, table: str, columns: Sequence[tuple[str, str]], on_conflict: str = ""):
        names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
        arrays = sql.SQL(", ").join(
            sql.SQL("%b::{}[]").format(sql.SQL(sql_type)) for _, sql_type in columns
        )
        self._query = sql.SQL(
            "INSERT INTO {table} ({names}) SELECT {names}"
            " FROM unnest({arrays}) WITH ORDINALITY AS given({names}, position_)"
            " ORDER BY position_ {on_conflict}"
        ).format(
            table=sql.Identifier(table),
            names=names,
            arrays=arrays,
            on_conflict=sql.SQL(on_conflict),
        )

    async def run(self, conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await conn.execute(self._query, [list(column) for column in zip(*rows, strict=True)])
