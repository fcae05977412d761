"""The live board over HTTP: columns and table, the viewer's scope, filters in the URL, the
card fragments live updates fetch, moves (with their refusals) and the manager's counters."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from leadtrack.extensions import db
from leadtrack.models import Lead, LeadEvent, LeadStatus, Organization, User
from leadtrack.services import board_counters
from leadtrack.timeutil import utcnow
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead


def _status_id(app, org_id: int, name: str) -> int:
    with app.app_context():
        return db.session.query(LeadStatus).filter_by(org_id=org_id, name=name).one().id


def _card_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="card-(\d+)"', html)]


def _column_of(html: str, lead_id: int) -> int:
    return int(re.search(rf'id="card-{lead_id}"[^>]*data-column="(\d+)"', html, re.S).group(1))


def _set(app, lead_id: int, **values) -> None:
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        for name, value in values.items():
            setattr(lead, name, value)
        db.session.commit()


def _history_kinds(app, lead_id: int) -> list[str]:
    with app.app_context():
        return [e.kind for e in db.session.query(LeadEvent).filter_by(lead_id=lead_id)]


@pytest.fixture
def as_admin(web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    return web


@pytest.fixture
def as_agent(web, tenant):
    web.login(tenant.agent.email, PASSWORD)
    return web


class TestTheBoard:
    def test_every_status_is_a_column_and_cards_sit_in_theirs(self, as_admin, app, tenant):
        lead_id = make_lead(app, tenant.org.id, name="Ann Column")
        html = as_admin.get("/board").get_data(as_text=True)
        for name in ("New", "Contacted", "Qualified", "Won", "Lost"):
            assert f">{name}</h2>" in html
        assert _column_of(html, lead_id) == _status_id(app, tenant.org.id, "New")
        assert "Ann Column" in html
        assert 'data-live-url="/live/events"' in html

    def test_a_card_shows_what_a_manager_needs_at_a_glance(self, as_admin, app, tenant):
        lead_id = make_lead(
            app, tenant.org.id, name="Bo Glance", value="1200", temperature="hot",
            assignee_id=tenant.agent.id, source="web",
        )  # fmt: skip
        due = utcnow() + timedelta(minutes=30)
        _set(app, lead_id, response_due_at=due, escalation_tier=2)
        html = as_admin.get(f"/board/cards/{lead_id}").get_data(as_text=True)
        assert "Bo Glance" in html
        assert "1,200" in html
        assert "temp-hot" in html
        assert tenant.agent.name in html
        assert "Tier 2" in html
        assert f'data-deadline="{due.isoformat()}"' in html
        assert "data-since=" in html

    def test_most_urgent_first_overdue_on_top(self, as_admin, app, tenant):
        now = utcnow()
        later = make_lead(app, tenant.org.id, name="Due later")
        soon = make_lead(app, tenant.org.id, name="Due soon")
        late = make_lead(app, tenant.org.id, name="Already late")
        calm = make_lead(app, tenant.org.id, name="No deadline")
        _set(app, later, response_due_at=now + timedelta(hours=2))
        _set(app, soon, response_due_at=now + timedelta(minutes=5))
        _set(app, late, response_due_at=now - timedelta(minutes=5), overdue_at=now)
        html = as_admin.get("/board").get_data(as_text=True)
        assert _card_ids(html) == [late, soon, later, calm]
        table = as_admin.get("/board?view=table").get_data(as_text=True)
        assert _card_ids(table) == [late, soon, later, calm]

    def test_closed_leads_stay_in_sight_only_on_the_day_they_closed(self, as_admin, app, tenant):
        today = make_lead(app, tenant.org.id, name="Won today")
        old = make_lead(app, tenant.org.id, name="Won last week")
        won = _status_id(app, tenant.org.id, "Won")
        _set(app, today, status_id=won, closed_at=utcnow())
        _set(app, old, status_id=won, closed_at=utcnow() - timedelta(days=7))
        html = as_admin.get("/board").get_data(as_text=True)
        assert _card_ids(html) == [today]

    def test_a_rep_sees_only_their_leads(self, as_agent, app, tenant, other_tenant):
        mine = make_lead(app, tenant.org.id, by=tenant.agent.id, name="Mine")
        theirs = make_lead(app, tenant.org.id, by=tenant.other_agent.id, name="Theirs")
        foreign = make_lead(app, other_tenant.org.id, name="Foreign")
        assert _card_ids(as_agent.get("/board").get_data(as_text=True)) == [mine]
        for lead_id in (theirs, foreign):
            response = as_agent.get(f"/board/cards/{lead_id}")
            assert response.status_code == 200
            assert response.get_data(as_text=True) == ""

    def test_another_organizations_lead_is_invisible_and_unmovable(
        self, as_admin, app, tenant, other_tenant
    ):
        foreign = make_lead(app, other_tenant.org.id, name="Foreign")
        contacted = _status_id(app, tenant.org.id, "Contacted")
        assert as_admin.get(f"/board/cards/{foreign}").get_data(as_text=True) == ""
        response = as_admin.post(f"/board/leads/{foreign}/move", {"status": contacted}, htmx=True)
        assert response.status_code == 404
        assert response.get_json()["error"] == "This lead is no longer on your board."
        assert "status_changed" not in _history_kinds(app, foreign)

    def test_filters_stay_in_the_url_and_narrow_the_board(self, as_admin, app, tenant):
        hot = make_lead(app, tenant.org.id, name="Hot one", temperature="hot", source="web")
        make_lead(app, tenant.org.id, name="Cold one", temperature="cold", source="web")
        mine_overdue = make_lead(app, tenant.org.id, name="Late one", assignee_id=tenant.admin.id)
        _set(
            app, mine_overdue, response_due_at=utcnow() - timedelta(minutes=1), overdue_at=utcnow()
        )
        assert _card_ids(as_admin.get("/board?temperature=hot").get_data(as_text=True)) == [hot]
        assert _card_ids(as_admin.get("/board?overdue=1").get_data(as_text=True)) == [mine_overdue]
        assert _card_ids(as_admin.get("/board?assignee=me").get_data(as_text=True)) == [
            mine_overdue
        ]
        page = as_admin.get("/board?temperature=hot&view=table").get_data(as_text=True)
        assert '<option value="hot" selected>' in page
        assert "/board?temperature=hot&amp;view=board" in page  # the view switch keeps filters
        # the card fragment applies the same filters: a cold lead is not on a "hot" board
        cold_card = as_admin.get(f"/board/cards/{hot + 1}?temperature=hot")
        assert cold_card.get_data(as_text=True) == ""

    def test_a_nonsense_filter_is_a_message_not_an_error(self, as_admin, app, tenant):
        response = as_admin.get("/board?temperature=boiling&unit=abc")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "temperature: Use one of: hot, warm, cold." in html

    def test_filters_answer_a_fragment_for_htmx(self, as_admin, app, tenant):
        make_lead(app, tenant.org.id, name="Frag")
        response = as_admin.get(
            "/board?view=table", headers={"HX-Request": "true", "HX-Target": "board-content"}
        )
        html = response.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="board-content" data-view="table">')
        assert "<html" not in html

    def test_an_empty_board_says_so(self, as_admin):
        html = as_admin.get("/board?view=table").get_data(as_text=True)
        assert "No leads on the board." in html
        assert "No leads</p>" in as_admin.get("/board").get_data(as_text=True)


class TestMoves:
    def test_a_move_changes_the_status_and_the_history_says_who(self, as_agent, app, tenant):
        lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id)
        contacted = _status_id(app, tenant.org.id, "Contacted")
        response = as_agent.post(f"/board/leads/{lead_id}/move", {"status": contacted}, htmx=True)
        assert response.status_code == 200
        assert _column_of(response.get_data(as_text=True), lead_id) == contacted
        with app.app_context():
            event = (
                db.session.query(LeadEvent).filter_by(lead_id=lead_id, kind="status_changed").one()
            )
            assert event.actor_id == tenant.agent.id
            assert (event.data["old"], event.data["new"]) == ("New", "Contacted")
            assert db.session.get(Lead, lead_id).first_response_at is not None

    def test_closing_needs_a_reason(self, as_agent, app, tenant):
        lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id)
        lost = _status_id(app, tenant.org.id, "Lost")
        refused = as_agent.post(f"/board/leads/{lead_id}/move", {"status": lost}, htmx=True)
        assert refused.status_code == 422
        assert refused.get_json()["fields"] == {"reason": "Say why the lead is closed."}
        closed = as_agent.post(
            f"/board/leads/{lead_id}/move",
            {"status": lost, "reason": "Bought elsewhere"},
            htmx=True,
        )
        assert closed.status_code == 200
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            assert (lead.status.name, lead.close_reason) == ("Lost", "Bought elsewhere")

    def test_only_a_manager_reopens_a_closed_lead(self, as_agent, app, tenant, other_web):
        lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id)
        won, contacted = (_status_id(app, tenant.org.id, n) for n in ("Won", "Contacted"))
        as_agent.post(
            f"/board/leads/{lead_id}/move", {"status": won, "reason": "Signed"}, htmx=True
        )
        refused = as_agent.post(f"/board/leads/{lead_id}/move", {"status": contacted}, htmx=True)
        assert refused.status_code == 403
        assert (
            refused.get_json()["error"] == "Your role does not allow you to reopen a closed lead."
        )
        other_web.login(tenant.store_manager.email, PASSWORD)
        reopened = other_web.post(f"/board/leads/{lead_id}/move", {"status": contacted}, htmx=True)
        assert reopened.status_code == 200
        assert _history_kinds(app, lead_id).count("status_changed") == 2

    def test_a_column_of_another_organization_is_refused(self, as_agent, app, tenant, other_tenant):
        lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id)
        foreign = _status_id(app, other_tenant.org.id, "Contacted")
        for status in (foreign, "abc", ""):
            response = as_agent.post(f"/board/leads/{lead_id}/move", {"status": status}, htmx=True)
            assert response.status_code == 422
            assert response.get_json()["fields"] == {
                "status": "That column is not a status of this organization."
            }

    def test_a_move_without_the_csrf_token_is_refused(self, as_agent, app, tenant):
        lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id)
        contacted = _status_id(app, tenant.org.id, "Contacted")
        response = as_agent.client.post(f"/board/leads/{lead_id}/move", data={"status": contacted})
        assert response.status_code == 400
        assert "status_changed" not in _history_kinds(app, lead_id)


class TestCounters:
    def test_the_four_numbers(self, app, tenant):
        now = utcnow()
        answered_in_time = make_lead(app, tenant.org.id, name="In time")
        answered_late = make_lead(app, tenant.org.id, name="Late")
        waiting = make_lead(app, tenant.org.id, name="Waiting")
        overdue = make_lead(app, tenant.org.id, name="Overdue")
        _set(app, answered_in_time, response_due_at=now - timedelta(minutes=1),
             first_response_at=now - timedelta(minutes=3))  # fmt: skip
        _set(app, answered_late, response_due_at=now - timedelta(minutes=10),
             first_response_at=now - timedelta(minutes=2))  # fmt: skip
        _set(app, waiting, response_due_at=now + timedelta(minutes=10))
        _set(app, overdue, response_due_at=now - timedelta(minutes=1), overdue_at=now)
        with app.app_context():
            org = db.session.get(Organization, tenant.org.id)
            admin = db.session.get(User, tenant.admin.id)
            numbers = board_counters.counters(db.session, org, admin, now)
        assert (numbers.new_today, numbers.unanswered, numbers.overdue) == (4, 2, 1)
        # measured: the two answered and the overdue one; the waiting one is not due yet
        assert (numbers.on_time, numbers.measured, numbers.on_time_percent) == (1, 3, 33)

    def test_counters_follow_the_viewers_scope(self, web, app, tenant):
        make_lead(app, tenant.org.id, by=tenant.agent.id)
        make_lead(app, tenant.org.id, by=tenant.other_agent.id)
        web.login(tenant.agent.email, PASSWORD)
        html = web.get("/board/counters").get_data(as_text=True)
        assert '<dd id="count-new">1</dd>' in html
        assert '<dd id="count-on-time" title="0 of 0 answered by their deadline">—</dd>' in html
