"""The in-app notification centre: a user's own in-app alerts, newest first, read or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, selectinload

from leadtrack.models import ChannelName, DeliveryStatus, Notification, User
from leadtrack.services.errors import NotFound
from leadtrack.services.paging import NumberedPage, numbered_page

PAGE_SIZE = 50


def _own_alerts(user: User) -> tuple:
    return (
        Notification.org_id == user.org_id,
        Notification.recipient_id == user.id,
        Notification.channel == ChannelName.IN_APP,
        Notification.status == DeliveryStatus.SENT,
    )


def _mine(user: User) -> Select:
    return select(Notification).where(*_own_alerts(user))


def _unread(user: User) -> Select:
    return _mine(user).where(Notification.read_at.is_(None))


def unread_count(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(_unread(user).subquery())) or 0


def newest_unread(session: Session, user: User) -> Notification | None:
    return session.scalars(_unread(user).order_by(Notification.id.desc()).limit(1)).first()


def page(session: Session, user: User, number: int = 1, size: int = PAGE_SIZE) -> NumberedPage:
    stmt = (
        _mine(user)
        .options(selectinload(Notification.lead))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return numbered_page(session, stmt, number, size)


def get_own(session: Session, user: User, notification_id: int) -> Notification:
    """One of the user's in-app alerts; anyone else's (or another channel's) is not found."""
    found = session.scalars(_mine(user).where(Notification.id == notification_id)).first()
    if found is None:
        raise NotFound(f"notification {notification_id}")
    return found


def mark_read(session: Session, user: User, notification_id: int, now: datetime) -> Notification:
    notification = get_own(session, user, notification_id)
    if notification.read_at is None:
        notification.read_at = now
    return notification


def mark_all_read(session: Session, user: User, now: datetime) -> int:
    result = session.execute(
        update(Notification)
        .where(*_own_alerts(user), Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return result.rowcount
