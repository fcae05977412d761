"""The delivery log: every alert and message the outbox holds, filtered for the admin
"Deliveries" page and the lead page. Organization admins see their organization; managers see
deliveries to people in their units (and messages to leads they can see)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from leadtrack.models import ChannelName, DeliveryStatus, Lead, Notification, Role, User
from leadtrack.services import access, alert_events, delivery
from leadtrack.services.errors import Forbidden, NotFound, ValidationError
from leadtrack.services.ids import parse_id
from leadtrack.services.paging import NumberedPage, numbered_page

PAGE_SIZE = 50
LEAD_LOG_LIMIT = 100
MAY_VIEW = (Role.ORG_ADMIN, Role.MANAGER)
STATUS_LABELS = {
    DeliveryStatus.PENDING: "Pending",
    DeliveryStatus.SENDING: "Sending",
    DeliveryStatus.SENT: "Sent",
    DeliveryStatus.RETRYING: "Retrying",
    DeliveryStatus.DEAD: "Failed (dead letter)",
    DeliveryStatus.FOLDED: "In a summary",
    DeliveryStatus.SKIPPED: "Skipped",
}


@dataclass(frozen=True)
class DeliveryFilters:
    status: str = ""
    channel: str = ""
    event: str = ""
    recipient: str = ""  # part of a name, e-mail address or phone number
    lead: str = ""
    date_from: str = ""  # YYYY-MM-DD, in the viewer's time zone
    date_to: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> DeliveryFilters:
        return cls(**{f.name: (args.get(f.name) or "").strip()[:200] for f in fields(cls)})

    def as_args(self, **changes: str) -> dict[str, str]:
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return {k: v for k, v in values.items() if v}

    @property
    def any(self) -> bool:
        return bool(self.as_args())


def event_label(key: str) -> str:
    event = alert_events.EVENTS.get(key)
    return event.label if event else key.replace("_", " ").capitalize()


def status_label(status: str) -> str:
    return STATUS_LABELS.get(DeliveryStatus(status), status)


def event_choices() -> list[tuple[str, str]]:
    return [(key, event.label) for key, event in alert_events.EVENTS.items()]


def ensure_may_view(actor: User) -> None:
    if actor.org_id is None or actor.role_enum not in MAY_VIEW:
        raise Forbidden("Only organization admins and managers see the deliveries.")


def scoped(session: Session, actor: User) -> Select:
    """The actor's organization's deliveries; a manager's narrowed to their people and leads."""
    ensure_may_view(actor)
    stmt = select(Notification).where(Notification.org_id == actor.org_id)
    if actor.role_enum is Role.ORG_ADMIN:
        return stmt
    people = access.visible(session, actor, User).with_only_columns(User.id)
    leads = access.visible(session, actor, Lead).with_only_columns(Lead.id)
    return stmt.where(
        or_(
            Notification.recipient_id.in_(people),
            Notification.recipient_id.is_(None) & Notification.lead_id.in_(leads),
        )
    )


def search(session: Session, actor: User, filters: DeliveryFilters, zone: str) -> Select:
    """The filtered deliveries, newest first; a ValidationError names each bad filter."""
    stmt = scoped(session, actor)
    errors: dict[str, str] = {}
    stmt = _by_choice(stmt, filters, errors)
    stmt = _by_recipient(stmt, filters.recipient)
    if filters.lead:
        lead_id = parse_id(filters.lead.lstrip("#"))
        if lead_id is None:
            errors["lead"] = "Give a lead number."
        else:
            stmt = stmt.where(Notification.lead_id == lead_id)
    stmt = _by_dates(stmt, filters, ZoneInfo(zone), errors)
    if errors:
        raise ValidationError(errors)
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def _by_choice(stmt: Select, filters: DeliveryFilters, errors: dict[str, str]) -> Select:
    if filters.status:
        if filters.status not in DeliveryStatus.__members__.values():
            errors["status"] = "Choose a status from the list."
        else:
            stmt = stmt.where(Notification.status == filters.status)
    if filters.channel:
        if filters.channel not in ChannelName.__members__.values():
            errors["channel"] = "Choose a channel from the list."
        else:
            stmt = stmt.where(Notification.channel == filters.channel)
    if filters.event:
        if filters.event not in alert_events.EVENTS:
            errors["event"] = "Choose an event from the list."
        else:
            stmt = stmt.where(Notification.event == filters.event)
    return stmt


def _by_recipient(stmt: Select, text: str) -> Select:
    if not text:
        return stmt
    pattern = f"%{text.lower()}%"
    people = select(User.id).where(
        or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern))
    )
    return stmt.where(
        or_(func.lower(Notification.address).like(pattern), Notification.recipient_id.in_(people))
    )


def _by_dates(
    stmt: Select, filters: DeliveryFilters, zone: ZoneInfo, errors: dict[str, str]
) -> Select:
    for name, later in (("date_from", False), ("date_to", True)):
        value = getattr(filters, name)
        if not value:
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            errors[name] = "Give a date as YYYY-MM-DD."
            continue
        edge = datetime.combine(day + timedelta(days=int(later)), time(), zone).astimezone(UTC)
        stmt = stmt.where(
            Notification.created_at < edge if later else Notification.created_at >= edge
        )
    return stmt


def page(session: Session, stmt: Select, number: int = 1, size: int = PAGE_SIZE) -> NumberedPage:
    with_people = stmt.options(
        selectinload(Notification.recipient), selectinload(Notification.lead)
    )
    return numbered_page(session, with_people, number, size)


def dead_count(session: Session, actor: User) -> int:
    dead = scoped(session, actor).where(Notification.status == DeliveryStatus.DEAD)
    return session.scalar(select(func.count()).select_from(dead.subquery())) or 0


def get(session: Session, actor: User, notification_id: int) -> Notification:
    found = session.scalars(
        scoped(session, actor).where(Notification.id == notification_id)
    ).first()
    if found is None:
        raise NotFound(f"delivery {notification_id}")
    return found


def retry(session: Session, actor: User, notification_id: int, now: datetime) -> Notification:
    """Send a dead letter again now (a fresh count of attempts); others are left alone."""
    notification = get(session, actor, notification_id)
    if notification.status_enum is not DeliveryStatus.DEAD:
        raise ValidationError({"retry": "Only a failed delivery can be retried."})
    delivery.retry(session, notification, now)
    return notification


def of_lead(session: Session, lead: Lead, limit: int = LEAD_LOG_LIMIT) -> list[Notification]:
    """What was sent about this lead, and to it; the caller has checked the lead is visible."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.org_id == lead.org_id, Notification.lead_id == lead.id)
            .options(selectinload(Notification.recipient))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )
