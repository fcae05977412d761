"""The tenant: an organization, its calendar (business hours and holidays)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadtrack.models.base import Base
from leadtrack.timeutil import utcnow

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Weekday index (Monday = 0, as str for JSON) -> list of [start, end] "HH:MM" intervals.
WeeklyHours = dict[str, list[list[str]]]

DEFAULT_BUSINESS_HOURS: WeeklyHours = {
    **{str(day): [["09:00", "18:00"]] for day in range(5)},
    "5": [["10:00", "16:00"]],
    "6": [],
}


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    default_country: Mapped[str] = mapped_column(String(2), default="US")
    business_hours: Mapped[WeeklyHours] = mapped_column(
        JSON, default=lambda: dict(DEFAULT_BUSINESS_HOURS)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    holidays: Mapped[list[Holiday]] = relationship(
        back_populates="organization", order_by="Holiday.day", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Organization {self.slug}>"


class Holiday(Base):
    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("org_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(120))

    organization: Mapped[Organization] = relationship(back_populates="holidays")
