"""Every PostgreSQL advisory lock class execflow takes, in one place.

Each lock is taken with two keys, (class, object): the class says what it guards, the
object which one (a schema's or a name's hash). No two purposes share a class. (Plain
ints, not an IntEnum: psycopg sends an enum member as its name.)
"""

from typing import Final

# A projection batch takes it shared; a rebuild's swap takes it exclusive.
PROJECTION_SWAP: Final = 7_351_002
# One release pass of held work at a time, per schema.
DISPATCH: Final = 7_351_003
# One scheduler writes a schema's event store at a time.
SCHEDULER_WRITER: Final = 7_351_004
# Versions of one workflow are numbered one registration at a time.
WORKFLOW_REGISTRATION: Final = 7_351_005
# Versions of one test suite (the test platform's dialect) likewise.
SUITE_REGISTRATION: Final = 7_351_006

ALL: Final = (
    PROJECTION_SWAP,
    DISPATCH,
    SCHEDULER_WRITER,
    WORKFLOW_REGISTRATION,
    SUITE_REGISTRATION,
)
