"""Finding leads: every filter of the list page and the API, always inside the actor's scope."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from leadtrack.models import (
    TEMPERATURES,
    Lead,
    LeadEmail,
    LeadPhone,
    LeadStatus,
    LeadTag,
    Organization,
    User,
)
from leadtrack.services import access
from leadtrack.services.contact_fields import normalize_phone
from leadtrack.services.errors import ValidationError
from leadtrack.services.ids import MAX_ID, parse_id

SORTS = {
    "created": Lead.created_at,
    "name": Lead.name_key,
    "value": Lead.value,
    "follow_up": Lead.follow_up_at,
    "updated": Lead.updated_at,
}
TIME_FRAMES = ("today", "yesterday", "7d", "30d", "90d")
PAGE_SIZE = 50
MAX_LIMIT = 200


@dataclass
class LeadFilters:
    """Every filter, as strings from a query string (the URL is the state of the list)."""

    q: str = ""  # search over name, e-mail, phone, company
    time_frame: str = ""  # today, yesterday, 7d, 30d, 90d (or created_from/created_to)
    created_from: str = ""
    created_to: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    tag: str = ""
    assignee: str = ""  # a user id, "me", or "none" (unassigned)
    source: str = ""
    status: str = ""  # a status id, or a category name: new, open, won, lost, dead, closed
    state: str = ""  # the response clock: new, open, overdue, closed (Lead.state)
    temperature: str = ""  # hot, warm, cold
    profession: str = ""
    address: str = ""
    company: str = ""
    district: str = ""
    division: str = ""
    unit: str = ""  # a unit id: the unit and its subtree
    overdue: str = ""  # "1": follow-up date passed and still open
    follow_up: str = ""  # today, overdue, upcoming, or a date YYYY-MM-DD
    sort: str = "-created"

    @classmethod
    def from_args(cls, args) -> LeadFilters:
        names = {f.name for f in fields(cls)}
        return cls(**{k: str(v).strip() for k, v in args.items() if k in names and v is not None})

    def active(self) -> dict[str, str]:
        """The filters that are set, for URLs and CSV file names."""
        default = LeadFilters()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }


def build_query(
    session: Session, org: Organization, actor: User | None, filters: LeadFilters, now: datetime
) -> Select[Any]:
    """A select of the visible, not-merged leads matching the filters (unsorted).
    `actor` None: the whole organization (an API key, which has no user)."""
    stmt = select(Lead) if actor is None else access.visible(session, actor, Lead)
    stmt = stmt.where(Lead.org_id == org.id, Lead.merged_into_id.is_(None))
    errors: dict[str, str] = {
        name: "Remove the control characters from this filter."
        for name, value in filters.active().items()
        if any(ord(ch) < 32 for ch in value)
    }
    if errors:
        raise ValidationError(errors)
    for condition in _conditions(session, org, actor, filters, now, errors):
        stmt = stmt.where(condition)
    if errors:
        raise ValidationError(errors)
    return stmt


def _conditions(session, org, actor, f: LeadFilters, now, errors):
    zone = ZoneInfo(org.timezone)
    if f.q:
        yield _search(org, f.q)
    if f.time_frame:
        if f.time_frame not in TIME_FRAMES:
            errors["time_frame"] = "Use one of: " + ", ".join(TIME_FRAMES) + "."
        else:
            start, end = _time_frame(f.time_frame, now, zone)
            yield and_(Lead.created_at >= start, Lead.created_at < end)
    for name, op in (("created_from", "ge"), ("created_to", "lt")):
        value = getattr(f, name)
        if value:
            day = _date(value, name, errors)
            if day:
                edge = datetime.combine(day + timedelta(days=op == "lt"), time(), zone)
                yield Lead.created_at >= edge if op == "ge" else Lead.created_at < edge
    if f.name:
        yield Lead.name_key.startswith(f.name.lower(), autoescape=True)
    if f.phone:
        phone = _phone(f.phone, org)
        yield Lead.id.in_(
            select(LeadPhone.lead_id).where(
                LeadPhone.org_id == org.id, LeadPhone.phone.startswith(phone, autoescape=True)
            )
        )
    if f.email:
        yield Lead.id.in_(
            select(LeadEmail.lead_id).where(
                LeadEmail.org_id == org.id,
                LeadEmail.email.startswith(f.email.lower(), autoescape=True),
            )
        )
    if f.tag:
        yield Lead.id.in_(
            select(LeadTag.lead_id).where(LeadTag.org_id == org.id, LeadTag.tag == f.tag.lower())
        )
    if f.assignee:
        yield _assignee(f.assignee, actor, errors)
    if f.source:
        yield Lead.source == f.source.lower()
    if f.status:
        yield _status(f.status, errors)
    if f.state:
        if f.state not in STATES:
            errors["state"] = "Use one of: " + ", ".join(STATES) + "."
        else:
            yield _state(f.state)
    if f.temperature:
        if f.temperature not in TEMPERATURES:
            errors["temperature"] = "Use one of: " + ", ".join(TEMPERATURES) + "."
        else:
            yield Lead.temperature == f.temperature
    for column in ("profession", "company", "district", "division", "address"):
        value = getattr(f, column)
        if value:
            yield func.lower(getattr(Lead, column)).contains(value.lower(), autoescape=True)
    if f.unit:
        unit_id = _int(f.unit, "unit", errors)
        if unit_id is not None:
            yield Lead.unit_id.in_(access.unit_subtree_ids(session, unit_id))
    if f.overdue == "1":
        yield and_(Lead.follow_up_at < now, Lead.closed_at.is_(None))
    if f.follow_up:
        condition = _follow_up(f.follow_up, now, zone, errors)
        if condition is not None:
            yield condition


def _search(org: Organization, q: str):
    text = q.lower()
    options = [
        Lead.name_key.startswith(text, autoescape=True),
        Lead.company_key.startswith(text, autoescape=True),
    ]
    if "@" in text:
        options.append(
            Lead.id.in_(
                select(LeadEmail.lead_id).where(
                    LeadEmail.org_id == org.id, LeadEmail.email.startswith(text, autoescape=True)
                )
            )
        )
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4:
        try:
            phone = normalize_phone(q, org.default_country)
        except ValueError:
            phone = None
        pattern = phone or f"%{digits}"
        options.append(
            Lead.id.in_(
                select(LeadPhone.lead_id).where(
                    LeadPhone.org_id == org.id,
                    LeadPhone.phone == phone if phone else LeadPhone.phone.like(pattern),
                )
            )
        )
    return or_(*options)


def start_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    """Midnight of `now`'s day in `zone`: where "today" begins for the organization."""
    return datetime.combine(now.astimezone(zone).date(), time(), zone)


def _time_frame(frame: str, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start_of_today = start_of_day(now, zone)
    if frame == "today":
        return start_of_today, start_of_today + timedelta(days=1)
    if frame == "yesterday":
        return start_of_today - timedelta(days=1), start_of_today
    days = int(frame.rstrip("d"))
    return start_of_today - timedelta(days=days - 1), start_of_today + timedelta(days=1)


def _follow_up(value: str, now: datetime, zone: ZoneInfo, errors):
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(), zone)
    if value == "today":
        return and_(Lead.follow_up_at >= start, Lead.follow_up_at < start + timedelta(days=1))
    if value == "overdue":
        return and_(Lead.follow_up_at < now, Lead.closed_at.is_(None))
    if value == "upcoming":
        return Lead.follow_up_at >= now
    day = _date(value, "follow_up", errors)
    if day is None:
        return None
    day_start = datetime.combine(day, time(), zone)
    return and_(Lead.follow_up_at >= day_start, Lead.follow_up_at < day_start + timedelta(days=1))


def _assignee(value: str, actor: User | None, errors):
    if value == "me":
        if actor is None:
            errors["assignee"] = "An API key is nobody: give a user id, or none."
            return None
        return Lead.assignee_id == actor.id
    if value == "none":
        return Lead.assignee_id.is_(None)
    user_id = _int(value, "assignee", errors)
    return Lead.assignee_id == user_id


def _status(value: str, errors):
    categories = ("new", "open", "won", "lost", "dead")
    if value in categories:
        return Lead.status_id.in_(select(LeadStatus.id).where(LeadStatus.category == value))
    if value == "closed":
        return Lead.closed_at.is_not(None)
    if value == "active":
        return Lead.closed_at.is_(None)
    status_id = parse_id(value)
    if status_id is None:
        errors["status"] = (
            "Use a status id, or one of: " + ", ".join((*categories, "closed", "active")) + "."
        )
    return Lead.status_id == status_id


STATES = ("new", "open", "overdue", "closed")


def _state(value: str):
    """Lead.state in SQL: closed; open (responded); overdue (marked by the ladder, no
    response); new (neither)."""
    if value == "closed":
        return Lead.closed_at.is_not(None)
    still_open = Lead.closed_at.is_(None)
    if value == "open":
        return and_(still_open, Lead.first_response_at.is_not(None))
    unanswered = and_(still_open, Lead.first_response_at.is_(None))
    if value == "overdue":
        return and_(unanswered, Lead.overdue_at.is_not(None))
    return and_(unanswered, Lead.overdue_at.is_(None))


def _int(value: str, name: str, errors) -> int | None:
    number = parse_id(value)
    if number is None:
        errors[name] = "Give a number."
    return number


def _date(value: str, name: str, errors) -> date | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not 1 < day.year < 9999:  # the edges overflow in UTC or at day + 1
        errors[name] = "Give a date as YYYY-MM-DD."
        return None
    return day


def _phone(value: str, org: Organization) -> str:
    try:
        return normalize_phone(value, org.default_country)
    except ValueError:
        digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
        return digits if digits.startswith("+") else "+" + digits


NULLABLE_SORTS = {"value", "follow_up"}


def sorted_query(stmt: Select[Any], sort: str) -> Select[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column = SORTS.get(key, Lead.created_at)
    order = column.desc() if descending else column.asc()
    if key in NULLABLE_SORTS:
        # Only where NULLs exist: NULLS LAST on a NOT NULL column stops PostgreSQL from
        # walking its index for ORDER BY … LIMIT.
        order = order.nulls_last()
    tie = Lead.id.desc() if descending else Lead.id.asc()
    return stmt.order_by(order, tie)


def with_relations(stmt: Select[Any]) -> Select[Any]:
    return stmt.options(
        selectinload(Lead.status),
        selectinload(Lead.assignee),
        selectinload(Lead.unit),
        selectinload(Lead.tag_rows),
    )


@dataclass(frozen=True)
class Page:
    leads: list[Lead]
    next_cursor: str | None


def page_by_cursor(session: Session, stmt: Select[Any], cursor: str | None, limit: int) -> Page:
    """Keyset pagination on (created_at, id), newest first: stable while leads arrive."""
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = stmt.order_by(Lead.created_at.desc(), Lead.id.desc())
    if cursor:
        created, lead_id = _decode_cursor(cursor)
        stmt = stmt.where(
            Lead.created_at <= created,  # redundant, but lets the index seek to the cursor
            or_(Lead.created_at < created, and_(Lead.created_at == created, Lead.id < lead_id)),
        )
    rows = list(session.scalars(with_relations(stmt.limit(limit + 1))))
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor)


def _encode_cursor(lead: Lead) -> str:
    raw = json.dumps([lead.created_at.isoformat(), lead.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, lead_id = json.loads(base64.urlsafe_b64decode(padded))
        moment = datetime.fromisoformat(created)
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        if not 0 < int(lead_id) <= MAX_ID:
            raise ValueError("not an id")
        return moment, int(lead_id)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValidationError({"cursor": "This cursor is not valid."}) from exc


COUNT_CAP = 10_000


def count(session: Session, stmt: Select[Any], cap: int | None = COUNT_CAP) -> int:
    """How many leads match, counting at most `cap` + 1 (an exact count of a million rows
    costs hundreds of milliseconds; "10,000+" tells a person the same)."""
    inner = stmt.order_by(None).with_only_columns(Lead.id)
    if cap is not None:
        inner = inner.limit(cap + 1)
    return session.scalar(select(func.count()).select_from(inner.subquery())) or 0
