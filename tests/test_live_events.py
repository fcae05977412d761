"""Live events: one per changed lead after commit, on the organization's stream, and each
viewer hears only about the leads their scope covers (the SSE stream and the polling
fallback alike)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis

from leadtrack.extensions import db
from leadtrack.models import Lead, Organization, User
from leadtrack.redis_conn import get_redis
from leadtrack.services import access, intake, leads, live_events
from leadtrack.services.access import Scope
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead


def _entries(app, org_id: int) -> list[dict[str, str]]:
    with app.app_context():
        return [entry for _, entry in live_events.read(get_redis(), org_id, "0-0", None)]


def _poll(web, last: str = "0-0") -> dict:
    response = web.get(f"/live/poll?last={last}")
    assert response.status_code == 200
    return response.get_json()


def _signed_in(web, person) -> None:
    web.login(person.email, PASSWORD)


class TestPublishing:
    def test_a_new_lead_is_one_event_naming_its_assignee_and_unit(self, app, tenant):
        lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id)
        entries = _entries(app, tenant.org.id)
        assert len(entries) == 1
        entry = entries[0]
        assert entry["lead"] == str(lead_id)
        assert entry["kinds"].split(",")[0] == "created"
        assert "assigned" in entry["kinds"]
        assert str(tenant.agent.id) in entry["users"].split(",")
        assert str(tenant.store.id) in entry["units"].split(",")

    def test_a_reassignment_names_both_reps_and_alerts_the_new_one(self, app, tenant):
        lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id)
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            manager = db.session.get(User, tenant.area_manager.id)
            other = db.session.get(User, tenant.other_agent.id)
            leads.assign(db.session, lead, other, Actor(tenant.org.id, user=manager), utcnow())
            db.session.commit()
        entry = _entries(app, tenant.org.id)[-1]
        assert set(entry["users"].split(",")) == {str(tenant.agent.id), str(tenant.other_agent.id)}
        assert set(entry["units"].split(",")) == {str(tenant.store.id), str(tenant.other_store.id)}
        assert entry["alert_user"] == str(tenant.other_agent.id)
        assert entry["alert"] == "assigned to you"

    def test_nothing_is_published_for_a_rolled_back_change(self, app, tenant):
        lead_id = make_lead(app, tenant.org.id)
        before = len(_entries(app, tenant.org.id))
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            agent = db.session.get(User, tenant.agent.id)
            leads.assign(db.session, lead, agent, Actor(tenant.org.id), utcnow())
            db.session.rollback()
            db.session.commit()  # an empty commit after the rollback publishes nothing either
        assert len(_entries(app, tenant.org.id)) == before

    def test_each_organization_has_its_own_stream(self, app, tenant, other_tenant):
        make_lead(app, other_tenant.org.id, name="Foreign")
        assert _entries(app, tenant.org.id) == []
        assert len(_entries(app, other_tenant.org.id)) == 1

    def test_a_commit_still_succeeds_when_redis_is_away(self, app, tenant):
        with app.app_context():
            saved = app.extensions["redis"]
            app.extensions["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2)
            try:
                org = db.session.get(Organization, tenant.org.id)
                raw = {"name": "Kept", "phones": "030 5550199", "source": "web"}
                intake.create_lead(db.session, org, raw, Actor(org.id, via="api"), utcnow())
                db.session.commit()
            finally:
                app.extensions["redis"] = saved
            assert db.session.query(Lead).filter_by(name="Kept").count() == 1


class TestScope:
    ENTRY = {"lead": "7", "kinds": "assigned", "users": "3,5", "units": "20"}

    @pytest.mark.parametrize(
        ("scope", "viewer", "seen"),
        [
            (Scope(org_id=1), 9, True),  # admin, receptionist: the whole organization
            (Scope(org_id=1, owner_id=3), 3, True),  # the rep it was taken from
            (Scope(org_id=1, owner_id=5), 5, True),  # the rep it went to
            (Scope(org_id=1, owner_id=4), 4, False),  # another rep
            (Scope(org_id=1, unit_ids=frozenset({20, 21}), owner_id=8), 8, True),  # its manager
            (Scope(org_id=1, unit_ids=frozenset({30}), owner_id=8), 8, False),  # another unit's
            (Scope(org_id=1, unit_ids=frozenset({30}), owner_id=5), 5, True),  # a manager's own
        ],
    )
    def test_who_may_see_an_event(self, scope, viewer, seen):
        assert live_events.may_see(scope, viewer, self.ENTRY) is seen

    def test_only_the_person_concerned_gets_the_alert_words(self):
        entry = {**self.ENTRY, "alert_user": "5", "alert": "assigned to you", "name": "Ann"}
        assert live_events.message_for(entry, 5)["alert"] == "Lead Ann assigned to you"
        assert "alert" not in live_events.message_for(entry, 3)

    def test_scopes_of_real_people(self, app, tenant):
        lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id)
        entry = _entries(app, tenant.org.id)[0]
        assert entry["lead"] == str(lead_id)
        with app.app_context():
            seen = {
                person.name: live_events.may_see(
                    access.scope_for(db.session, db.session.get(User, person.id)), person.id, entry
                )
                for person in (
                    tenant.admin,
                    tenant.area_manager,
                    tenant.store_manager,
                    tenant.agent,
                    tenant.other_agent,
                    tenant.receptionist,
                )
            }
        assert seen == {
            tenant.admin.name: True,
            tenant.area_manager.name: True,
            tenant.store_manager.name: True,
            tenant.agent.name: True,
            tenant.other_agent.name: False,
            tenant.receptionist.name: True,
        }


class TestPolling:
    def test_a_rep_hears_only_of_their_own_leads(self, web, app, tenant, other_tenant):
        mine = make_lead(app, tenant.org.id, by=tenant.agent.id, name="Mine")
        make_lead(app, tenant.org.id, by=tenant.other_agent.id, name="Theirs")
        make_lead(app, other_tenant.org.id, name="Foreign")
        _signed_in(web, tenant.agent)
        answer = _poll(web)
        assert [event["lead"] for event in answer["events"]] == [mine]
        assert answer["reset"] is False

    def test_polling_goes_on_from_the_last_id(self, web, app, tenant):
        _signed_in(web, tenant.admin)
        first = make_lead(app, tenant.org.id, name="First")
        answer = _poll(web)
        assert [e["lead"] for e in answer["events"]] == [first]
        second = make_lead(app, tenant.org.id, name="Second")
        later = _poll(web, answer["last"])
        assert [e["lead"] for e in later["events"]] == [second]
        assert _poll(web, later["last"])["events"] == []

    def test_nonsense_ids_start_from_now(self, web, app, tenant):
        make_lead(app, tenant.org.id)
        _signed_in(web, tenant.admin)
        assert _poll(web, "drop table")["events"] == []

    def test_signed_out_people_hear_nothing(self, web, app, tenant):
        make_lead(app, tenant.org.id)
        response = web.get("/live/poll?last=0-0")
        assert response.status_code == 302


def _stream(web, app, **headers) -> list[tuple[str, dict]]:
    """Read one whole (short-lived) stream; its events as (id, message)."""
    text = web.client.get("/live/events?last=0-0", headers=headers).get_data(as_text=True)
    events = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if fields.get("event") == "lead":
            events.append((fields["id"], json.loads(fields["data"])))
    return events


@pytest.fixture
def short_streams(app):
    saved = {k: app.config[k] for k in ("LIVE_STREAM_SECONDS", "LIVE_HEARTBEAT_SECONDS")}
    app.config.update(LIVE_STREAM_SECONDS=0.6, LIVE_HEARTBEAT_SECONDS=0.2)
    yield
    app.config.update(saved)


class TestStream:
    def test_the_stream_carries_the_viewers_events_and_ends(self, web, app, tenant, short_streams):
        mine = make_lead(app, tenant.org.id, by=tenant.agent.id, name="Mine")
        make_lead(app, tenant.org.id, by=tenant.other_agent.id, name="Theirs")
        _signed_in(web, tenant.agent)
        response = web.client.get("/live/events?last=0-0")
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-cache"
        text = response.get_data(as_text=True)
        assert text.startswith("retry: ")
        assert ": keep-alive" in text
        assert [message["lead"] for _, message in _stream(web, app)] == [mine]

    def test_last_event_id_resumes_after_what_was_seen(self, web, app, tenant, short_streams):
        _signed_in(web, tenant.admin)
        make_lead(app, tenant.org.id, name="Seen")
        (seen_id, _), *_ = _stream(web, app)
        missed = make_lead(app, tenant.org.id, name="Missed while away")
        resumed = _stream(web, app, **{"Last-Event-ID": seen_id})
        assert [message["lead"] for _, message in resumed] == [missed]

    def test_the_assigned_rep_gets_the_alert_words(self, web, app, tenant, short_streams):
        make_lead(app, tenant.org.id, name="Ann Alert", assignee_id=tenant.agent.id)
        _signed_in(web, tenant.agent)
        [(_, message)] = _stream(web, app)
        assert message["alert"] == "Lead Ann Alert assigned to you"

    def test_streams_beyond_the_cap_are_turned_to_polling(self, web, app, tenant):
        _signed_in(web, tenant.admin)
        saved = app.config["LIVE_MAX_STREAMS"]
        app.extensions.pop("live_slots", None)
        app.config["LIVE_MAX_STREAMS"] = 0
        try:
            response = web.client.get("/live/events")
        finally:
            app.config["LIVE_MAX_STREAMS"] = saved
            app.extensions.pop("live_slots", None)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"


def test_an_escalation_alerts_the_person_it_went_to(app, tenant):
    from tests.test_clock import WEDNESDAY, apply, fire_due, response_rule, web_lead

    with app.app_context():
        db.session.get(User, tenant.agent.id).backup_id = tenant.other_agent.id
        db.session.commit()
    apply(app, tenant, {"response": [response_rule(warnings=[])]})
    lead_id = web_lead(app, tenant, name="Esme Late")
    with app.app_context():
        fire_due(WEDNESDAY + timedelta(minutes=5))
    entry = _entries(app, tenant.org.id)[-1]
    assert entry["lead"] == str(lead_id)
    assert "escalated" in entry["kinds"].split(",")
    assert entry["alert_user"] == str(tenant.other_agent.id)
    message = live_events.message_for(entry, tenant.other_agent.id)
    assert message["alert"] == "Lead Esme Late escalated to you"
