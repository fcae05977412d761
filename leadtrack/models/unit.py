"""The unit tree: organization -> areas -> stores/teams, any depth."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadtrack.models.base import Base
from leadtrack.timeutil import utcnow

if TYPE_CHECKING:
    from leadtrack.models.user import User

UNIT_KINDS = ("area", "store", "team", "department")


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("org_id", "parent_id", "name"),)
    __scope_unit__ = "id"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="team")
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", use_alter=True), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.name")
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id], post_update=True)

    def __repr__(self) -> str:
        return f"<Unit {self.name}>"
