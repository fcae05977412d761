"""Delivering the outbox: claim a row (so two workers never send it twice), hold back what is
over the recipient's hourly cap, render the text, hand it to the channel, and record the
outcome: sent, retried later with exponential backoff, or dead (the dead-letter list)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app, render_template
from markupsafe import Markup, escape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload, scoped_session

from leadtrack import channels
from leadtrack.channels import Accounts, DeliveryFailure, DeliveryRun, OutgoingAlert
from leadtrack.models import ChannelName, DeliveryStatus, Notification, Organization, User
from leadtrack.services import alert_context, alert_templates, outbox, secret_box
from leadtrack.services.alert_templates import Rendered
from leadtrack.timeutil import utcnow

log = logging.getLogger(__name__)

URL = re.compile(r"https?://[^\s<>\"']+")

DEFAULT_HOURLY_CAPS = {
    ChannelName.EMAIL: 30,
    ChannelName.SMS: 10,
    ChannelName.VOICE: 5,
    ChannelName.WEBHOOK: 60,
}
CAP_WINDOW = timedelta(hours=1)
QUIET_PLACE = {  # "to keep your … quiet" in the summary
    ChannelName.EMAIL: "inbox",
    ChannelName.SMS: "phone",
    ChannelName.VOICE: "phone",
    ChannelName.WEBHOOK: "team chat",
}
SUMMARY_EVENT = "alert_summary"
SUMMARY_LINES = 10
STUCK_AFTER = timedelta(minutes=10)  # a claim older than this belonged to a worker that died
CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
NEEDS_ADDRESS = (ChannelName.EMAIL, ChannelName.SMS, ChannelName.VOICE)


def deliver(
    session: Session, ids: Iterable[int], clock: Callable[[], datetime] = utcnow
) -> dict[int, DeliveryStatus]:
    """Deliver these notifications (those still due and unclaimed): one claim for the batch,
    then one commit per notification, so a crash midway keeps what was sent."""
    with _kept_after_commit(session):
        batch = Batch(session, claim(session, list(ids), clock()))
        outcomes = {}
        with DeliveryRun() as run:
            for notification in batch.claimed:
                status = deliver_claimed(session, notification, clock(), run, batch)
                outcomes[notification.id] = status
    return outcomes


@contextmanager
def _kept_after_commit(session: Session) -> Iterator[None]:
    """The batch's rows (and their leads and recipients) stay loaded across the commit after
    each notification, instead of being read again one by one: the claim makes them ours."""
    real = session() if isinstance(session, scoped_session) else session
    previous = real.expire_on_commit
    real.expire_on_commit = False
    try:
        yield
    finally:
        real.expire_on_commit = previous


def claim(session: Session, ids: list[int], now: datetime) -> list[Notification]:
    """Take the rows that are due and not taken: only the job whose UPDATE hits a row sends
    it, however many jobs (and sweeps) name it."""
    if not ids:
        return []
    claimed = session.scalars(
        update(Notification)
        .where(
            Notification.id.in_(ids),
            Notification.status.in_(CLAIMABLE),
            Notification.next_attempt_at <= now,
        )
        .values(status=DeliveryStatus.SENDING, claimed_at=now)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    if not claimed:
        return []
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.id.in_(claimed))
            .options(joinedload(Notification.recipient), joinedload(Notification.lead))
            .order_by(Notification.id)
            .execution_options(populate_existing=True)
        )
    )


class Batch:
    """What the notifications of one job share: accounts, sender names, and how many alerts
    each recipient got in the last hour (counted once, then kept up to date)."""

    def __init__(self, session: Session, claimed: list[Notification]) -> None:
        self.claimed = claimed
        self._accounts: dict[int, tuple[Accounts, str]] = {}
        self._sent = self._recent_counts(session, claimed)

    def accounts(self, session: Session, org_id: int) -> tuple[Accounts, str]:
        if org_id not in self._accounts:
            org = session.get(Organization, org_id)
            sender = (org.sender_name or org.name) if org else "LeadTrack"
            self._accounts[org_id] = (accounts_for(session, org), sender)
        return self._accounts[org_id]

    def over_cap(self, session: Session, notification: Notification) -> bool:
        if notification.recipient_id is None or notification.event == SUMMARY_EVENT:
            return False
        cap = hourly_cap(session, notification)
        sent = self._sent.get((notification.recipient_id, notification.channel), 0)
        return cap is not None and sent >= cap

    def count(self, notification: Notification) -> None:
        key = (notification.recipient_id, notification.channel)
        self._sent[key] = self._sent.get(key, 0) + 1

    @staticmethod
    def _recent_counts(session: Session, claimed: list[Notification]) -> dict[tuple, int]:
        recipients = {n.recipient_id for n in claimed if n.recipient_id is not None}
        if not recipients:
            return {}
        since = min(n.claimed_at for n in claimed) - CAP_WINDOW
        rows = session.execute(
            select(Notification.recipient_id, Notification.channel, func.count())
            .where(
                Notification.recipient_id.in_(recipients),
                Notification.status == DeliveryStatus.SENT,
                Notification.sent_at > since,
            )
            .group_by(Notification.recipient_id, Notification.channel)
        )
        return {(recipient, channel): sent for recipient, channel, sent in rows}


def deliver_claimed(
    session: Session, notification: Notification, now: datetime, run: DeliveryRun, batch: Batch
) -> DeliveryStatus:
    try:
        _attempt(session, notification, now, run, batch)
    except DeliveryFailure as failure:
        _failed(notification, now, failure)
    except Exception as exc:  # a bug of ours: keep the alert, retry it, show the error
        log.exception("delivering notification %s failed unexpectedly", notification.id)
        _failed(notification, now, channels.TemporaryFailure(f"Internal error: {exc!r}"))
    status = notification.status_enum
    session.commit()
    return status


def _attempt(
    session: Session, notification: Notification, now: datetime, run: DeliveryRun, batch: Batch
) -> None:
    notification.attempts += 1
    if batch.over_cap(session, notification):
        _fold(session, notification, now)
        return
    adapter = channels.get(notification.channel)
    if adapter is None:
        _skip(notification, f"The {notification.channel_enum.label} channel is not set up.")
        return
    if notification.channel in NEEDS_ADDRESS and not notification.address:
        _skip(notification, _missing_address(notification))
        return
    accounts, sender_name = batch.accounts(session, notification.org_id)
    context = _context(session, notification, now)
    rendered = _text(session, notification, context)
    alert = OutgoingAlert(
        notification_id=notification.id,
        channel=notification.channel_enum,
        to=notification.address,
        subject=rendered.subject,
        text=rendered.body,
        html=_html(rendered, context) if notification.channel == ChannelName.EMAIL else None,
        sender_name=sender_name,
        links=context.get("links", {}),
        headers=_headers(notification, context),
    )
    notification.receipt = adapter.send(alert, accounts, run)[:200]
    notification.status = DeliveryStatus.SENT
    notification.sent_at = now
    notification.last_error = ""
    batch.count(notification)


def _text(session: Session, notification: Notification, context: dict) -> Rendered:
    """A message a rep wrote to a lead is sent as written; alerts render their template."""
    if notification.context.get("written"):
        return Rendered(notification.subject, notification.body)
    rendered = alert_templates.render(
        session, notification.org_id, notification.event, notification.channel_enum, context
    )
    notification.subject = rendered.subject[:300]
    notification.body = rendered.body
    notification.used_fallback = rendered.used_fallback
    return rendered


def _context(session: Session, notification: Notification, now: datetime) -> dict:
    context = alert_context.build(session, notification)
    if notification.event == SUMMARY_EVENT:
        context["summary"] = _summary_of(session, notification)
    if notification.event == "lead_message" and notification.created_by_id:
        sender = session.get(User, notification.created_by_id)
        context["sender"] = {"name": sender.name if sender else ""}
    return context


def _html(rendered: Rendered, context: dict) -> str:
    return render_template(
        "mail/alert.html",
        subject=rendered.subject,
        paragraphs=[_linked(p) for p in rendered.body.split("\n\n") if p.strip()],
        links=context.get("links", {}),
        has_lead="lead" in context,
    )


def _linked(paragraph: str) -> Markup:
    """Escaped text with its line breaks kept and its URLs clickable."""
    escaped = str(escape(paragraph.strip()))
    linked = URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return Markup(linked.replace("\n", "<br>\n"))  # noqa: S704 - built from escaped text


def _headers(notification: Notification, context: dict) -> dict[str, str]:
    headers = {"X-LeadTrack-Alert": str(notification.id)}  # support can find the row
    if notification.recipient_id is not None:
        headers["List-Unsubscribe"] = f"<{context['links']['preferences']}>"
    return headers


def _missing_address(notification: Notification) -> str:
    who = notification.recipient.name if notification.recipient else "The lead"
    if notification.channel == ChannelName.EMAIL:
        return f"{who} has no e-mail address."
    return f"{who} has no phone number on file."


def _skip(notification: Notification, reason: str) -> None:
    notification.status = DeliveryStatus.SKIPPED
    notification.last_error = reason


def _failed(notification: Notification, now: datetime, failure: DeliveryFailure) -> None:
    notification.last_error = str(failure)[:2000]
    max_attempts = current_app.config["ALERT_MAX_ATTEMPTS"]
    if failure.permanent or notification.attempts >= max_attempts:
        notification.status = DeliveryStatus.DEAD
        if not failure.permanent:
            notification.last_error = (
                f"Gave up after {notification.attempts} attempts. Last: {failure}"[:2000]
            )
        return
    notification.status = DeliveryStatus.RETRYING
    notification.next_attempt_at = now + backoff(notification.attempts)


def backoff(attempts: int) -> timedelta:
    """30 s, 2 min, 8 min, 32 min, … after the 1st, 2nd, 3rd, 4th failure (base configurable)."""
    base = current_app.config["ALERT_RETRY_SECONDS"]
    return timedelta(seconds=base * 4 ** max(0, attempts - 1))


# -- accounts ------------------------------------------------------------------------------


def accounts_for(session: Session, org: Organization | None) -> Accounts:
    config = current_app.config
    own = outbox.settings_of(session, org.id) if org else None
    twilio_own = bool(own and own.twilio_account_sid)
    return Accounts(
        smtp_url=(own and secret_box.open_secret(own.smtp_url_secret)) or config["SMTP_URL"],
        mail_from=(own and own.mail_from) or config["MAIL_FROM"],
        mail_drop_dir=f"{config['INSTANCE_PATH']}/mail",
        twilio_account_sid=own.twilio_account_sid if twilio_own else config["TWILIO_ACCOUNT_SID"],
        twilio_auth_token=secret_box.open_secret(own.twilio_token_secret)
        if twilio_own
        else config["TWILIO_AUTH_TOKEN"],
        twilio_from=own.twilio_from if twilio_own else config["TWILIO_FROM"],
        twilio_api_base=config["TWILIO_API_BASE"],
        webhook_url=(own and secret_box.open_secret(own.webhook_url_secret))
        or config["CHAT_WEBHOOK_URL"],
        base_url=config["BASE_URL"].rstrip("/"),
    )


# -- caps ----------------------------------------------------------------------------------


def hourly_cap(session: Session, notification: Notification) -> int | None:
    caps = {**DEFAULT_HOURLY_CAPS, **(outbox.settings_of(session, notification.org_id).hourly_caps)}
    cap = caps.get(notification.channel)
    return int(cap) if cap else None


def _fold(session: Session, notification: Notification, now: datetime) -> None:
    """Over the cap: this alert is told in one summary, sent when the hour has passed."""
    window = now.replace(minute=0, second=0, microsecond=0)
    summary = Notification(
        org_id=notification.org_id,
        event=SUMMARY_EVENT,
        channel=notification.channel,
        recipient_id=notification.recipient_id,
        recipient=notification.recipient,
        address=notification.address,
        dedupe_key=outbox.dedupe_key(
            SUMMARY_EVENT,
            notification.recipient_id,
            None,
            window.strftime("%Y%m%d%H"),
            notification.channel,
        ),
        context={"details": {}},
        next_attempt_at=now + CAP_WINDOW,
        created_at=now,
    )
    if not outbox.write_once(session, summary, now):
        summary = session.scalars(
            select(Notification).where(
                Notification.org_id == summary.org_id,
                Notification.dedupe_key == summary.dedupe_key,
            )
        ).one()
    notification.status = DeliveryStatus.FOLDED
    notification.receipt = f"summary:{summary.id}"
    notification.last_error = "Over the hourly limit for this channel; told in a summary."
    _text(session, notification, _context(session, notification, now))  # for the summary


def _summary_of(session: Session, summary: Notification) -> dict:
    folded = list(
        session.scalars(
            select(Notification)
            .where(Notification.receipt == f"summary:{summary.id}")
            .order_by(Notification.id)
        )
    )
    items = [n.subject or n.body[:160] for n in folded[:SUMMARY_LINES]]
    if len(folded) > SUMMARY_LINES:
        items.append(f"… and {len(folded) - SUMMARY_LINES} more")
    where = QUIET_PLACE.get(summary.channel_enum, summary.channel_enum.label)
    return {"count": len(folded), "channel": where, "lines": items}


# -- the sweep and the dead-letter list -------------------------------------------------------


def due_ids(session: Session, now: datetime, limit: int = 1000) -> list[int]:
    """Rows a delivery job should take now: due and unclaimed, or claimed by a worker that
    died (those are released first)."""
    session.execute(
        update(Notification)
        .where(
            Notification.status == DeliveryStatus.SENDING,
            Notification.claimed_at < now - STUCK_AFTER,
        )
        .values(status=DeliveryStatus.RETRYING, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(
        session.scalars(
            select(Notification.id)
            .where(Notification.status.in_(CLAIMABLE), Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at)
            .limit(limit)
        )
    )


def retry(session: Session, notification: Notification, now: datetime) -> None:
    """From the dead-letter list: try again now, with a fresh count of attempts."""
    if notification.status_enum is not DeliveryStatus.DEAD:
        return
    notification.status = DeliveryStatus.PENDING
    notification.attempts = 0
    notification.next_attempt_at = now
    outbox.queue_after_commit(session, notification.id)
