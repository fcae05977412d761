"""Time counted in business hours: the organization's weekly hours, minus its holidays.
"Respond within 2 hours" given at 17:30 on a Friday, with 09:00–18:00 weekdays, falls due
at 10:30 on Monday."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import Holiday, Organization
from leadtrack.models.organization import WeeklyHours

MAX_DAYS = 3 * 366  # a calendar open one day a year still ends; nothing waits longer


@dataclass(frozen=True)
class Calendar:
    hours: WeeklyHours
    zone: ZoneInfo
    holidays: frozenset[date]

    @property
    def has_hours(self) -> bool:
        return any(self.hours.get(str(day)) for day in range(7))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of business time after `start`. A calendar with no open
        hours at all counts around the clock rather than never."""
        if not self.has_hours:
            return start + timedelta(seconds=seconds)
        left = timedelta(seconds=max(seconds, 0))
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            for opens, closes in self._intervals(day):
                begin = max(opens, start)
                if begin >= closes:
                    continue
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
            day += timedelta(days=1)
        return start + timedelta(seconds=seconds)

    def is_open(self, moment: datetime) -> bool:
        day = moment.astimezone(self.zone).date()
        return any(opens <= moment < closes for opens, closes in self._intervals(day))

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's open intervals as UTC moments (so a DST change counts real time)."""
        if day in self.holidays:
            return []
        out = []
        for opens, closes in self.hours.get(str(day.weekday())) or []:
            out.append((self._at(day, opens), self._at(day, closes)))
        return out

    def _at(self, day: date, clock: str) -> datetime:
        return datetime.combine(day, time.fromisoformat(clock), tzinfo=self.zone).astimezone(UTC)


def calendar_of(session: Session, org: Organization) -> Calendar:
    holidays = session.scalars(select(Holiday.day).where(Holiday.org_id == org.id))
    return Calendar(org.business_hours or {}, ZoneInfo(org.timezone), frozenset(holidays))


def add(calendar: Calendar | None, start: datetime, seconds: float) -> datetime:
    """`seconds` after `start`: in business time when a calendar is given, else plain time."""
    if calendar is None:
        return start + timedelta(seconds=seconds)
    return calendar.add(start, seconds)
