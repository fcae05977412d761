"""Numbered pages of a query (page 1, 2, …) for lists people page through by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class NumberedPage:
    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def numbered_page(session: Session, stmt: Select, number: int, size: int) -> NumberedPage:
    """Page `number` of an ordered select; one row more than the page tells if another follows."""
    number = max(1, number)
    rows = list(session.scalars(stmt.offset((number - 1) * size).limit(size + 1)))
    return NumberedPage(rows[:size], number, has_next=len(rows) > size)
