"""The response clock on the lead pages: the state badge (New, Open, Overdue 12 min, Closed)
on the lead page, in the list and in the API; the list's state filter; the clock's steps in
the history in words; the deadline with a countdown that ticks in the browser.

Rules go in through `rules_document.apply`, timers fire through `clock_steps.fire` with an
explicit `now` after the deadline — the same calls the worker makes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import Lead, Organization, Timer, TimerState, User
from leadtrack.services import clock_steps, lead_clock_view, lead_settings, leads, rules_document
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead
from tests.test_api_leads import api_for
from tests.test_browser import sign_in

RULES = {
    "response": [
        {
            "name": "Web leads in 2 seconds",
            "when": {"field": "source", "op": "is", "value": "web"},
            "within": "2s",
            "business_time": False,
            "warnings": [],
            "ladder": [
                {"to": "backup", "action": "reassign", "channels": ["email"]},
                {"after": "5s", "to": "manager", "action": "notify"},
            ],
        },
        {
            "name": "Phone leads in an hour",
            "when": {"field": "source", "op": "is", "value": "phone"},
            "within": "1h",
            "business_time": False,
            "ladder": [{"to": "supervisor", "action": "watch"}],
        },
    ]
}
HX = {"HX-Request": "true", "HX-Target": "lead-results"}


def apply_rules(app, tenant) -> None:
    """The rules above; the agent's backup is the harbour agent."""
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        admin = db.session.get(User, tenant.admin.id)
        db.session.get(User, tenant.agent.id).backup_id = tenant.other_agent.id
        rules_document.apply(db.session, org, RULES, Actor(org.id, user=admin), utcnow())
        db.session.commit()


def web_lead(app, tenant, name: str, created: datetime, **fields) -> int:
    return make_lead(
        app,
        tenant.org.id,
        by=tenant.admin.id,
        now=created,
        name=name,
        source="web",
        assignee_id=tenant.agent.id,
        **fields,
    )


def fire_due(app, lead_id: int, now: datetime) -> list[str]:
    """Fire the lead's pending timers that are due at `now`, as the worker would."""
    with app.app_context():
        ids = db.session.scalars(
            select(Timer.id)
            .where(
                Timer.lead_id == lead_id,
                Timer.state == TimerState.PENDING,
                Timer.fire_at <= now,
            )
            .order_by(Timer.fire_at)
        ).all()
        return [clock_steps.fire(db.session, timer_id, now) for timer_id in ids]


def overdue_lead(app, tenant, name: str = "Olga Overdue", late: timedelta | None = None) -> int:
    """A web lead whose 2-second deadline passed `late` ago (12 min 30 s) and whose ladder's
    first step (marked overdue, reassigned to the backup) ran."""
    created = utcnow() - (late or timedelta(minutes=12, seconds=30)) - timedelta(seconds=2)
    lead_id = web_lead(app, tenant, name, created)
    outcomes = fire_due(app, lead_id, created + timedelta(seconds=3))
    assert len(outcomes) == 1 and "marked overdue" in outcomes[0], outcomes
    return lead_id


def text_of(html: str) -> str:
    """The page's words, tags dropped and white space folded (for sentence checks)."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def badge_of(html: str, element_id: str = "lead-state-badge") -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"no #{element_id} on the page"
    return match.group(1).strip()


# -- the service -----------------------------------------------------------------------------


class TestBadge:
    def test_words_for_each_state(self):
        now = datetime(2026, 11, 23, 14, 0, tzinfo=utcnow().tzinfo)
        lead = Lead(created_at=now - timedelta(hours=1), escalation_tier=1)
        assert lead_clock_view.badge(lead, now).label == "New"
        lead.response_due_at = now - timedelta(minutes=12, seconds=40)
        lead.overdue_at = lead.response_due_at
        assert lead_clock_view.badge(lead, now).label == "Overdue 12 min"
        assert lead_clock_view.badge(lead, lead.response_due_at + timedelta(seconds=45)).label == (
            "Overdue 45 s"
        )
        assert lead_clock_view.badge(lead, now + timedelta(hours=2)).label == "Overdue 2 h 12 min"
        lead.first_response_at = now
        assert lead_clock_view.badge(lead, now).label == "Open"
        lead.closed_at = now
        assert lead_clock_view.badge(lead, now).label == "Closed"

    def test_countdown_text_matches_the_browser_clock(self):
        now = datetime(2026, 11, 23, 14, 0, tzinfo=utcnow().tzinfo)
        words = lead_clock_view.countdown_words
        assert words(now + timedelta(minutes=4, seconds=59, milliseconds=300), now) == "5:00 left"
        assert words(now + timedelta(hours=1, seconds=3), now) == "1:00:03 left"
        assert words(now + timedelta(days=2, hours=3, seconds=5), now) == "2 d 03:00:05 left"
        assert words(now, now) == "0:00 over"
        assert words(now - timedelta(minutes=12, seconds=5), now) == "12:05 over"
        tone = lead_clock_view.countdown_tone
        assert tone(now + timedelta(minutes=6), now) == "ok"
        assert tone(now + timedelta(minutes=4), now) == "soon"
        assert tone(now - timedelta(seconds=1), now) == "over"


# -- the lead page ---------------------------------------------------------------------------


class TestLeadPage:
    def test_overdue_lead_shows_how_long_the_tier_the_next_step_and_the_history(
        self, web, app, tenant
    ):
        apply_rules(app, tenant)
        lead_id = overdue_lead(app, tenant)
        web.login(tenant.admin.email, PASSWORD)
        html = web.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert badge_of(html) == "Overdue 12 min"
        words = text_of(html)
        assert "No response yet" in words
        # The ladder's first step happened: the lead is with the agent's backup now.
        backup = tenant.other_agent.name
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            assert lead.assignee.name == backup
            assert lead.state == "overdue" and lead.escalation_tier == 2
        assert f"Tier 2: escalated — reassigned to {backup}" in words
        assert re.search(r"Next: escalation to tier 3 \(tell a manager\) at \d\d:\d\d", words)
        assert "Rule: Web leads in 2 seconds" in words
        assert 'id="response-countdown"' in html and "tone-over" in html
        assert re.search(r'data-deadline="[^"]+"', html)
        # The history in words, by the clock rather than "Unknown" or "system".
        sentence = (
            f"No response from {tenant.agent.name} within 2 s → marked overdue → "
            f"reassigned to {backup} ({tenant.agent.name}'s backup), alerted by E-mail"
        )
        assert sentence in words
        timeline = text_of(html.split('id="timeline"', 1)[1])
        assert "by LeadTrack clock" in timeline
        assert "by system" not in timeline and "Unknown" not in timeline

    def test_second_step_lands_in_the_history_too(self, web, app, tenant):
        apply_rules(app, tenant)
        lead_id = overdue_lead(app, tenant)
        with app.app_context():
            fire_at = db.session.scalar(
                select(Timer.fire_at).where(
                    Timer.lead_id == lead_id, Timer.state == TimerState.PENDING
                )
            )
        (outcome,) = fire_due(app, lead_id, fire_at + timedelta(seconds=1))
        assert "within 5 s" in outcome and "told" in outcome
        web.login(tenant.admin.email, PASSWORD)
        words = text_of(web.get(f"/leads/{lead_id}").get_data(as_text=True))
        assert outcome in words
        assert "Tier 3: escalated — " in words and " told" in words
        assert "Next:" not in words  # the ladder has no more steps

    def test_new_lead_counts_down_to_its_deadline(self, web, app, tenant):
        apply_rules(app, tenant)
        lead_id = make_lead(
            app,
            tenant.org.id,
            by=tenant.admin.id,
            name="Nina New",
            source="phone",
            assignee_id=tenant.agent.id,
        )
        web.login(tenant.agent.email, PASSWORD)
        html = web.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert badge_of(html) == "New"
        assert re.search(r'id="response-countdown"[^>]*>\s*(59:\d\d|1:00:00) left', html), html
        assert "tone-ok" in html
        words = text_of(html)
        assert re.search(r"Next: escalation to tier 2 \(add the supervisor as a watcher\)", words)

    def test_a_response_makes_it_open_and_stops_the_clock(self, web, app, tenant):
        apply_rules(app, tenant)
        lead_id = web_lead(app, tenant, "Rita Responded", utcnow())
        web.login(tenant.agent.email, PASSWORD)
        html = web.post(
            f"/leads/{lead_id}/activities", {"kind": "call", "outcome": "reached"}, htmx=True
        ).get_data(as_text=True)
        assert badge_of(html) == "Open"
        words = text_of(html)
        assert re.search(r"Answered in \d+ s, within the 2 s allowed", words), words
        assert 'id="response-countdown"' not in html and "Next:" not in words
        with app.app_context():
            timers = db.session.scalars(select(Timer.state).where(Timer.lead_id == lead_id))
            assert set(timers) == {TimerState.CANCELLED}

    def test_watchers_show(self, web, app, tenant):
        apply_rules(app, tenant)
        created = utcnow() - timedelta(hours=1, minutes=1)
        lead_id = make_lead(
            app,
            tenant.org.id,
            by=tenant.admin.id,
            now=created,
            name="Wanda Watched",
            source="phone",
            assignee_id=tenant.agent.id,
        )
        (outcome,) = fire_due(app, lead_id, created + timedelta(hours=1, seconds=1))
        assert "added as a watcher" in outcome
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            watcher = lead.assignee.effective_supervisor.name
        web.login(tenant.admin.email, PASSWORD)
        html = web.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert f"Watching: {watcher}" in text_of(html)
        assert badge_of(html) == "Overdue 1 min"
        assert f"Tier 2: escalated — {watcher} watches it" in text_of(html)

    def test_closed_lead_shows_closed_and_no_clock_running(self, web, app, tenant):
        apply_rules(app, tenant)
        lead_id = web_lead(app, tenant, "Carl Closed", utcnow())
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            lost = next(
                s for s in lead_settings.statuses(db.session, lead.org_id) if s.category == "lost"
            )
            admin = db.session.get(User, tenant.admin.id)
            leads.close(
                db.session, lead, lost, "bought elsewhere", Actor(lead.org_id, admin), utcnow()
            )
            db.session.commit()
        web.login(tenant.admin.email, PASSWORD)
        html = web.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert badge_of(html) == "Closed"
        assert 'id="response-countdown"' not in html and "Next:" not in text_of(html)

    def test_a_lead_without_a_clock_rule_has_no_clock_panel(self, web, app, tenant):
        lead_id = make_lead(app, tenant.org.id, name="Paula Plain")
        web.login(tenant.admin.email, PASSWORD)
        html = web.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert badge_of(html) == "New" and 'id="lead-clock"' not in html


# -- the list and the API --------------------------------------------------------------------


class TestListAndApi:
    @pytest.fixture
    def four_leads(self, app, tenant) -> dict[str, int]:
        apply_rules(app, tenant)
        ids = {
            "overdue": overdue_lead(app, tenant, "Olga Overdue"),
            "overdue_too": overdue_lead(app, tenant, "Otto Overdue", timedelta(hours=3)),
            "new": web_lead(app, tenant, "Nora New", utcnow()),
            "open": web_lead(app, tenant, "Oscar Open", utcnow()),
            "closed": web_lead(app, tenant, "Clara Closed", utcnow()),
        }
        with app.app_context():
            agent = db.session.get(User, tenant.agent.id)
            opened = db.session.get(Lead, ids["open"])
            leads.add_activity(
                db.session, opened, Actor(opened.org_id, agent), utcnow(), kind="call"
            )
            closed = db.session.get(Lead, ids["closed"])
            lost = next(
                s for s in lead_settings.statuses(db.session, closed.org_id) if s.category == "lost"
            )
            leads.close(
                db.session, closed, lost, "no budget", Actor(closed.org_id, agent), utcnow()
            )
            db.session.commit()
        return ids

    def test_the_list_shows_each_state(self, web, tenant, four_leads):
        web.login(tenant.admin.email, PASSWORD)
        html = web.get("/leads").get_data(as_text=True)
        rows = {
            name: text_of(row)
            for row in html.split("<tr>")[1:]
            for name in ("Olga Overdue", "Otto Overdue", "Nora New", "Oscar Open", "Clara Closed")
            if name in row
        }
        assert "Overdue 12 min" in rows["Olga Overdue"]
        assert "Overdue 3 h" in rows["Otto Overdue"]
        assert " New " in rows["Nora New"]
        assert " Open " in rows["Oscar Open"]
        assert " Closed " in rows["Clara Closed"]

    @pytest.mark.parametrize(
        ("state", "names"),
        [
            ("overdue", {"Olga Overdue", "Otto Overdue"}),
            ("new", {"Nora New"}),
            ("open", {"Oscar Open"}),
            ("closed", {"Clara Closed"}),
        ],
    )
    def test_the_state_filter(self, web, tenant, four_leads, state, names):
        web.login(tenant.admin.email, PASSWORD)
        html = web.get(f"/leads?state={state}", headers=HX).get_data(as_text=True)
        shown = set(re.findall(r'aria-label="Select ([^"]+)"', html)) - {"all"}
        assert shown == names
        page = web.get(f"/leads?state={state}").get_data(as_text=True)
        assert f'<option value="{state}" selected>' in page

    def test_an_unknown_state_is_refused_in_words(self, web, tenant, four_leads):
        web.login(tenant.admin.email, PASSWORD)
        html = web.get("/leads?state=late", headers=HX).get_data(as_text=True)
        assert "state: Use one of: new, open, overdue, closed." in html

    def test_the_api_says_overdue(self, app, tenant, four_leads):
        api = api_for(app, tenant)
        body = api.get(f"/leads/{four_leads['overdue']}").get_json()
        assert body["state"] == "overdue" and body["escalation_tier"] == 2
        assert body["overdue_at"] == body["response_due_at"] is not None
        assert api.get(f"/leads/{four_leads['open']}").get_json()["state"] == "open"
        assert api.get(f"/leads/{four_leads['new']}").get_json()["state"] == "new"
        listed = api.get("/leads", {"state": "overdue"}).get_json()["data"]
        assert {row["name"] for row in listed} == {"Olga Overdue", "Otto Overdue"}
        events = api.get(f"/leads/{four_leads['overdue']}/history").get_json()["data"]
        escalated = [e for e in events if e["kind"] == "escalated"]
        assert escalated and escalated[0]["text"].startswith("No response from ")


# -- in a browser ----------------------------------------------------------------------------


@pytest.mark.browser
def test_the_countdown_ticks_without_asking_the_server(page: Page, app, tenant):
    apply_rules(app, tenant)
    waiting = make_lead(
        app,
        tenant.org.id,
        by=tenant.admin.id,
        name="Tess Ticking",
        source="phone",
        assignee_id=tenant.agent.id,
    )
    late = overdue_lead(app, tenant, "Olga Overdue")
    sign_in(page, tenant.admin.email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, ")

    for lead_id, pattern, tone, direction in (
        (waiting, r"^(59:\d\d|1:00:00) left$", "tone-ok", -1),
        (late, r"^1[23]:\d\d over$", "tone-over", 1),
    ):
        page.goto(f"/leads/{lead_id}")
        countdown = page.locator("#response-countdown")
        expect(countdown).to_have_text(re.compile(pattern))
        expect(countdown).to_have_class(re.compile(tone))
        page.wait_for_load_state("networkidle")  # the lazy panels below have loaded
        requests: list[str] = []

        def seen(request, requests=requests):
            requests.append(request.url)

        page.on("request", seen)
        before = countdown.text_content()
        page.wait_for_timeout(2_200)
        after = countdown.text_content()
        page.remove_listener("request", seen)
        # Ticks once a second: the two reads, 2.2 s apart, are 1 to 4 ticks apart.
        assert after != before
        assert 1 <= (_seconds(after) - _seconds(before)) * direction <= 4, (before, after)
        assert requests == [], requests
    expect(page.locator("#lead-state-badge")).to_have_text(re.compile(r"^Overdue 1[23] min$"))


def _seconds(text: str) -> int:
    parts = [int(p) for p in text.split()[0].split(":")]
    total = 0
    for part in parts:
        total = total * 60 + part
    return total
