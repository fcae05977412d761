"""Row ids from the outside world (URLs, forms, JSON): digits only, within the column's range."""

from __future__ import annotations

from typing import Any

# Primary keys are 32-bit integers (PostgreSQL INTEGER); a larger number cannot be a row, and
# handing it to the database would be an error instead of "not found".
MAX_ID = 2**31 - 1


def parse_id(value: Any) -> int | None:
    """The id, or None for anything that is not a plain positive integer in range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_ID else None
