"""The live lead board: leads as cards in status columns (or table rows), most urgent first,
each with the deadline it is running against; moving a card changes the lead's status.

The board shows the open leads in the viewer's scope and the leads closed today, so a card
dropped on "Won" stays in sight until tomorrow."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from leadtrack.models import Lead, LeadStatus, Organization, Timer, TimerKind, TimerState, User
from leadtrack.services import lead_query, lead_settings, leads
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.services.ids import parse_id

PER_COLUMN = 50
VIEWS = ("board", "table")
NO_DEADLINE = 10**12  # rank of cards without a deadline: after every dated one


@dataclass
class BoardFilters:
    """The board's filters, kept in the URL."""

    assignee: str = ""  # a user id, "me" or "none"
    unit: str = ""
    source: str = ""
    status: str = ""
    temperature: str = ""
    overdue: str = ""  # "1": only leads past their response deadline
    view: str = "board"

    @classmethod
    def from_args(cls, args) -> BoardFilters:
        names = {f.name for f in fields(cls)}
        return cls(**{k: str(v).strip() for k, v in args.items() if k in names and v})

    def active(self) -> dict[str, str]:
        default = BoardFilters()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    def lead_filters(self) -> lead_query.LeadFilters:
        return lead_query.LeadFilters(
            assignee=self.assignee,
            unit=self.unit,
            source=self.source,
            status=self.status,
            temperature=self.temperature,
            state="overdue" if self.overdue == "1" else "",
        )


@dataclass(frozen=True)
class Card:
    lead: Lead
    deadline: datetime | None  # what the lead is running against now
    deadline_kind: str  # "response", "follow-up" or ""
    warn_at: datetime | None  # when the countdown turns amber (the rule's warning)
    rank: str  # sorts cards by urgency, as text (the browser places live cards by it)


@dataclass
class Column:
    status: LeadStatus
    cards: list[Card]
    total: int

    @property
    def closed(self) -> bool:
        return self.status.category_enum.is_closed


def deadline_of(lead: Lead) -> tuple[datetime | None, str]:
    if lead.closed_at is not None:
        return None, ""
    if lead.first_response_at is None and lead.response_due_at is not None:
        return lead.response_due_at, "response"
    if lead.follow_up_at is not None:
        return lead.follow_up_at, "follow-up"
    return None, ""


_deadline_sql = case(
    (
        and_(Lead.closed_at.is_(None), Lead.first_response_at.is_(None)),
        Lead.response_due_at,
    ),
    (Lead.closed_at.is_(None), Lead.follow_up_at),
    else_=None,
)
URGENCY = (case((_deadline_sql.is_(None), 1), else_=0), _deadline_sql, Lead.created_at.desc())


def query(
    session: Session, org: Organization, viewer: User, filters: BoardFilters, now: datetime
) -> Select[Any]:
    """The board's leads: visible to the viewer, matching the filters, open or closed today.
    Raises ValidationError for a filter that makes no sense."""
    stmt = lead_query.build_query(session, org, viewer, filters.lead_filters(), now)
    today = lead_query.start_of_day(now, ZoneInfo(org.timezone))
    return stmt.where(or_(Lead.closed_at.is_(None), Lead.closed_at >= today))


def columns(
    session: Session, org: Organization, viewer: User, filters: BoardFilters, now: datetime
) -> list[Column]:
    stmt = query(session, org, viewer, filters, now)
    matching = stmt.subquery()
    totals = dict(
        session.execute(
            select(matching.c.status_id, func.count()).group_by(matching.c.status_id)
        ).all()
    )
    place = func.row_number().over(partition_by=Lead.status_id, order_by=URGENCY).label("place")
    first = stmt.with_only_columns(Lead.id, place).subquery()
    ids = select(first.c.id).where(first.c.place <= PER_COLUMN)
    chosen = session.scalars(
        lead_query.with_relations(select(Lead).where(Lead.id.in_(ids))).order_by(*URGENCY)
    ).all()
    by_status: dict[int, list[Card]] = {}
    for card in cards(session, list(chosen)):
        by_status.setdefault(card.lead.status_id, []).append(card)
    return [
        Column(status, by_status.get(status.id, []), totals.get(status.id, 0))
        for status in lead_settings.statuses(session, org.id)
    ]


def table(
    session: Session, org: Organization, viewer: User, filters: BoardFilters, now: datetime
) -> tuple[list[Card], int]:
    stmt = query(session, org, viewer, filters, now)
    total = lead_query.count(session, stmt)
    limit = PER_COLUMN * 4
    chosen = session.scalars(lead_query.with_relations(stmt).order_by(*URGENCY).limit(limit))
    return cards(session, list(chosen)), total


def card(
    session: Session,
    org: Organization,
    viewer: User,
    filters: BoardFilters,
    now: datetime,
    lead_id: int,
) -> Card | None:
    """One lead's card as this viewer's board shows it; None when it is not on their board
    (another viewer's lead, filtered out, closed before today, or no such lead)."""
    stmt = query(session, org, viewer, filters, now).where(Lead.id == lead_id)
    lead = session.scalars(lead_query.with_relations(stmt)).first()
    return cards(session, [lead])[0] if lead is not None else None


def cards(session: Session, chosen: list[Lead]) -> list[Card]:
    warnings = _warning_times(session, [lead.id for lead in chosen])
    return [_card(lead, warnings.get(lead.id)) for lead in chosen]


def _card(lead: Lead, warn_at: datetime | None) -> Card:
    deadline, kind = deadline_of(lead)
    return Card(
        lead=lead,
        deadline=deadline,
        deadline_kind=kind,
        warn_at=warn_at if kind == "response" else None,
        rank=rank(deadline, lead.created_at),
    )


def rank(deadline: datetime | None, created_at: datetime) -> str:
    """Urgency as sortable text: nearest deadline first (overdue ones are the nearest), then
    the newest lead without one."""
    if deadline is not None:
        return f"0{int(deadline.timestamp()):012d}"
    return f"1{NO_DEADLINE - int(created_at.timestamp()):012d}"


def _warning_times(session: Session, lead_ids: list[int]) -> dict[int, datetime]:
    """The latest response warning of each lead: the moment its countdown turns amber."""
    if not lead_ids:
        return {}
    rows = session.execute(
        select(Timer.lead_id, func.max(Timer.fire_at))
        .where(
            Timer.lead_id.in_(lead_ids),
            Timer.kind == TimerKind.WARNING.value,
            Timer.state != TimerState.CANCELLED.value,
        )
        .group_by(Timer.lead_id)
    )
    return dict(rows.all())


def move(
    session: Session,
    org: Organization,
    lead: Lead,
    status_id: str,
    reason: str,
    actor: Actor,
    now: datetime,
) -> None:
    """A card dropped on a column: the lead takes that status (closing needs a reason)."""
    status = _status(session, org, status_id)
    if status.category_enum.is_closed:
        leads.close(session, lead, status, reason, actor, now)
    else:
        leads.change_status(session, lead, status, actor, now)


def _status(session: Session, org: Organization, status_id: str) -> LeadStatus:
    status = session.get(LeadStatus, parse_id(status_id) or 0)
    if status is None or status.org_id != org.id or not status.active:
        raise ValidationError({"status": "That column is not a status of this organization."})
    return status
