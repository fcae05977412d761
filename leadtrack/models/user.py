"""People who sign in: their role, place in the tree, backups and availability."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadtrack.models.base import Base
from leadtrack.models.organization import Organization, WeeklyHours
from leadtrack.models.roles import ROLE_PRIVILEGES, Privilege, Role
from leadtrack.models.unit import Unit
from leadtrack.timeutil import utcnow


class User(UserMixin, Base):
    __tablename__ = "user"
    __scope_unit__ = "unit_id"
    __scope_owner__ = "id"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL only for super admins, who stand above every organization.
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    phone: Mapped[str] = mapped_column(String(32), default="")
    timezone: Mapped[str | None] = mapped_column(String(64))
    # None means "the organization's business hours".
    working_hours: Mapped[WeeklyHours | None] = mapped_column(JSON)
    # Per-user overrides of the role's privileges: {"export_leads": true, ...}.
    privilege_overrides: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    # Assignment rules skip a user at this many open leads; None means no cap.
    max_open_leads: Mapped[int | None]
    is_active_user: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]

    organization: Mapped[Organization | None] = relationship()
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    supervisor: Mapped[User | None] = relationship(
        foreign_keys=[supervisor_id], remote_side=[id], post_update=True
    )
    backup: Mapped[User | None] = relationship(
        foreign_keys=[backup_id], remote_side=[id], post_update=True
    )
    out_of_office: Mapped[list[OutOfOffice]] = relationship(
        back_populates="user", order_by="OutOfOffice.starts_at", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of inactive users
        return self.is_active_user

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def privileges(self) -> frozenset[Privilege]:
        granted = set(ROLE_PRIVILEGES[self.role_enum])
        for name, allowed in (self.privilege_overrides or {}).items():
            if name not in Privilege.__members__.values():
                continue
            (granted.add if allowed else granted.discard)(Privilege(name))
        return frozenset(granted)

    def can(self, privilege: Privilege) -> bool:
        return privilege in self.privileges()

    @property
    def effective_supervisor(self) -> User | None:
        """The named supervisor, else the manager of the user's unit (never themself)."""
        if self.supervisor is not None:
            return self.supervisor
        unit = self.unit
        while unit is not None:
            if unit.manager is not None and unit.manager_id != self.id:
                return unit.manager
            unit = unit.parent
        return None

    @property
    def effective_timezone(self) -> str:
        """The user's own time zone, else their organization's, else UTC."""
        if self.timezone:
            return self.timezone
        return self.organization.timezone if self.organization is not None else "UTC"

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class OutOfOffice(Base):
    __tablename__ = "out_of_office"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(back_populates="out_of_office")
