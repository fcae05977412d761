"""Assignment by rules through the real intake: each target method, each eligibility case,
the stored explanation, the queue and its alert, scoring and hand-set classification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import (
    AssignmentDecision,
    Holiday,
    Lead,
    LeadEvent,
    Notification,
    Organization,
    Role,
    User,
)
from leadtrack.services import leads, routing, rules_document, users
from leadtrack.services.history import Actor

from .support.factories import PASSWORD
from .support.leads import make_lead

# Wednesday 15 May 2030, 10:00 in Berlin (the tenant's zone): everyone is at work.
WEDNESDAY = datetime(2030, 5, 15, 8, 0, tzinfo=UTC)
SUNDAY = datetime(2030, 5, 19, 10, 0, tzinfo=UTC)


def apply_rules(app, tenant, document: dict) -> None:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        rules_document.apply(db.session, org, document, Actor(org.id, via="cli"), WEDNESDAY)
        db.session.commit()


def add_agents(app, tenant, *handles: str, unit_id: int | None = None) -> dict[str, int]:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        made = {
            handle: users.create_user(
                db.session,
                org,
                email=f"{handle}@acme.example.com",
                name=handle.title(),
                role=Role.AGENT,
                password=PASSWORD,
                unit_id=unit_id or tenant.store.id,
            )
            for handle in handles
        }
        db.session.commit()
        return {handle: user.id for handle, user in made.items()}


def web_lead(app, tenant, now=WEDNESDAY, **fields) -> int:
    return make_lead(app, tenant.org.id, now=now, source="web", **fields)


def assignee_of(app, lead_id: int) -> int | None:
    with app.app_context():
        return db.session.get(Lead, lead_id).assignee_id


def decision_of(app, lead_id: int) -> dict:
    with app.app_context():
        return routing.latest_decision(db.session, lead_id).detail


def team_rule(method="round_robin", **extra) -> dict:
    return {
        "assignment": [
            {
                "name": "Web to Main Street",
                "when": {"field": "source", "op": "is", "value": "web"},
                "assign": {"team": "Main Street", "method": method, **extra},
            }
        ]
    }


class TestTargets:
    def test_a_named_person_gets_the_lead_and_is_told_why(self, app, tenant):
        apply_rules(
            app,
            tenant,
            {
                "assignment": [
                    {
                        "name": "Big deals",
                        "when": {"field": "value", "op": "gte", "value": 50000},
                        "assign": {"user": tenant.other_agent.email},
                    }
                ]
            },
        )
        lead_id = web_lead(app, tenant, value="75000")

        assert assignee_of(app, lead_id) == tenant.other_agent.id
        detail = decision_of(app, lead_id)
        assert detail["rule"] == "Big deals" and detail["method"] == "named"
        assert detail["summary"] == "Rule “Big deals” (to a named person) → Harbouragent Acme."
        with app.app_context():
            event = db.session.scalars(
                select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.kind == "assigned")
            ).one()
            assert event.data["reason"] == detail["summary"]
            alert = db.session.scalars(
                select(Notification).where(Notification.lead_id == lead_id)
            ).first()
            assert alert.event == "lead_assigned" and alert.recipient_id == tenant.other_agent.id

    def test_round_robin_takes_turns(self, app, tenant):
        ids = add_agents(app, tenant, "bea", "carl")
        apply_rules(app, tenant, team_rule())

        owners = [assignee_of(app, web_lead(app, tenant)) for _ in range(6)]

        team = {tenant.agent.id, ids["bea"], ids["carl"]}
        assert set(owners[:3]) == team and set(owners[3:]) == team
        assert owners[:3] == owners[3:], "the same order each round"

    def test_weights_give_more_to_the_heavier(self, app, tenant):
        ids = add_agents(app, tenant, "bea")
        apply_rules(app, tenant, team_rule(weights={"bea@acme.example.com": 2}))

        owners = [assignee_of(app, web_lead(app, tenant)) for _ in range(9)]

        assert owners.count(ids["bea"]) == 6 and owners.count(tenant.agent.id) == 3

    def test_fewest_open_leads_balances_the_load(self, app, tenant):
        ids = add_agents(app, tenant, "bea")
        for _ in range(3):  # the agent already has three open leads
            make_lead(app, tenant.org.id, by=tenant.agent.id, now=WEDNESDAY)
        apply_rules(app, tenant, team_rule(method="fewest_open"))

        owners = [assignee_of(app, web_lead(app, tenant)) for _ in range(4)]

        assert owners[:3] == [ids["bea"]] * 3
        detail = decision_of(app, web_lead(app, tenant))
        assert {c["name"]: c["open_leads"] for c in detail["candidates"]} == {
            "Agent Acme": 4,
            "Bea": 3,
        }

    def test_by_field_picks_the_team_from_the_lead(self, app, tenant):
        apply_rules(
            app,
            tenant,
            {
                "assignment": [
                    {
                        "name": "District to store",
                        "when": {"field": "district", "op": "is_set"},
                        "assign": {
                            "by_field": "district",
                            "map": {"Altstadt": "Main Street", "Hafen": "Harbour"},
                        },
                    }
                ]
            },
        )
        assert assignee_of(app, web_lead(app, tenant, district="hafen")) == tenant.other_agent.id
        assert assignee_of(app, web_lead(app, tenant, district="Altstadt")) == tenant.agent.id
        unmapped = web_lead(app, tenant, district="Elsewhere")
        assert assignee_of(app, unmapped) is None
        assert "is not mapped; the fallback applies" in decision_of(app, unmapped)["summary"]

    def test_a_queue_rule_leaves_the_lead_for_people_to_route(self, app, tenant):
        apply_rules(
            app,
            tenant,
            {
                "assignment": [
                    {
                        "name": "Walk-ins by hand",
                        "when": {"field": "source", "op": "is", "value": "walk-in"},
                        "assign": {"queue": "Harbour"},
                    }
                ]
            },
        )
        lead_id = make_lead(app, tenant.org.id, now=WEDNESDAY, source="walk-in")
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            assert lead.assignee_id is None and lead.unit_id == tenant.other_store.id
            alerts = db.session.scalar(select(func.count()).select_from(Notification))
            assert alerts == 0, "a queue on purpose is not an emergency"

    def test_the_first_matching_enabled_rule_decides(self, app, tenant):
        web = {"field": "source", "op": "is", "value": "web"}
        apply_rules(
            app,
            tenant,
            {
                "assignment": [
                    {"name": "Off", "enabled": False, "when": web, "assign": {"queue": None}},
                    {"name": "First", "when": web, "assign": {"user": tenant.other_agent.email}},
                    {"name": "Second", "when": web, "assign": {"user": tenant.agent.email}},
                ]
            },
        )
        assert decision_of(app, web_lead(app, tenant))["rule"] == "First"

    def test_without_rules_a_lead_waits_where_it_came_in(self, app, tenant):
        lead_id = web_lead(app, tenant)
        assert assignee_of(app, lead_id) is None
        assert decision_of(app, lead_id)["rule"] == "Fallback"


class TestEligibility:
    def reasons(self, app, lead_id: int) -> dict[str, str]:
        return {c["name"]: c["skipped"] for c in decision_of(app, lead_id)["candidates"]}

    def test_each_reason_to_skip_someone_is_given(self, app, tenant):
        ids = add_agents(app, tenant, "ina", "otto", "cap", "night", "ready")
        with app.app_context():
            admin = db.session.get(User, tenant.admin.id)
            users.deactivate(db.session.get(User, ids["ina"]), admin, WEDNESDAY)
            users.add_out_of_office(
                db.session,
                db.session.get(User, ids["otto"]),
                WEDNESDAY - timedelta(days=1),
                WEDNESDAY + timedelta(days=2),
            )
            db.session.get(User, ids["cap"]).max_open_leads = 0
            db.session.get(User, ids["night"]).working_hours = {
                str(day): [["18:00", "23:00"]] for day in range(7)
            }
            db.session.get(User, tenant.agent.id).max_open_leads = 0
            db.session.commit()
        apply_rules(app, tenant, team_rule())

        lead_id = web_lead(app, tenant)

        assert assignee_of(app, lead_id) == ids["ready"]
        reasons = self.reasons(app, lead_id)
        assert reasons["Ina"] == "inactive"
        assert reasons["Otto"] == "out of office until 2030-05-17 10:00"
        assert reasons["Cap"] == "at capacity (0 of 0 open leads)"
        assert reasons["Night"] == "outside their working hours"
        assert reasons["Ready"] == ""

    def test_nobody_available_queues_the_lead_and_tells_the_manager(self, app, tenant):
        apply_rules(app, tenant, team_rule())

        lead_id = web_lead(app, tenant, now=SUNDAY)

        assert assignee_of(app, lead_id) is None
        detail = decision_of(app, lead_id)
        assert self.reasons(app, lead_id) == {"Agent Acme": "outside business hours"}
        assert detail["outcome"] == "queued"
        assert "nobody available; waits in the queue of Main Street" in detail["summary"]
        with app.app_context():
            alerts = db.session.scalars(
                select(Notification).where(Notification.event == "lead_queued")
            ).all()
            assert {a.recipient_id for a in alerts} == {tenant.store_manager.id}
            [in_app] = [a for a in alerts if a.channel == "in_app"]
            assert in_app.subject == "Nobody could take Pat Doe: it waits in Main Street"
            assert db.session.get(Lead, lead_id).unit_id == tenant.store.id

    def test_a_holiday_counts_as_closed(self, app, tenant):
        with app.app_context():
            db.session.add(Holiday(org_id=tenant.org.id, day=WEDNESDAY.date(), name="Founders"))
            db.session.commit()
        apply_rules(app, tenant, team_rule())
        lead_id = web_lead(app, tenant)
        assert self.reasons(app, lead_id) == {"Agent Acme": "holiday (Founders)"}

    def test_a_rule_may_route_around_the_clock(self, app, tenant):
        apply_rules(app, tenant, team_rule(hours=False))
        assert assignee_of(app, web_lead(app, tenant, now=SUNDAY)) == tenant.agent.id

    def test_the_previous_assignee_can_be_left_out(self, app, tenant):
        ids = add_agents(app, tenant, "bea")
        apply_rules(app, tenant, team_rule())
        lead_id = web_lead(app, tenant)
        first = assignee_of(app, lead_id)
        with app.app_context():
            org = db.session.get(Organization, tenant.org.id)
            lead = db.session.get(Lead, lead_id)
            later = WEDNESDAY + timedelta(minutes=5)
            routing.route(
                db.session,
                org,
                lead,
                Actor(org.id, via="system"),
                later,
                exclude=frozenset({first}),
            )
            db.session.commit()
        second = assignee_of(app, lead_id)
        assert second != first and second in {tenant.agent.id, ids["bea"]}
        reasons = self.reasons(app, lead_id)
        assert "had the lead before" in reasons.values()


class TestScoring:
    document = {
        "settings": {"hot_from": 30, "warm_from": 10, "priority_from": {"urgent": 40, "high": 20}},
        "scoring": [
            {"name": "Web", "when": {"field": "source", "op": "is", "value": "web"}, "points": 10},
            {"name": "Big", "when": {"field": "value", "op": "gte", "value": 50000}, "points": 25},
        ],
    }

    def test_points_give_score_temperature_and_priority(self, app, tenant):
        apply_rules(app, tenant, self.document)
        small, big = web_lead(app, tenant), web_lead(app, tenant, value="60000")
        with app.app_context():
            small_lead, big_lead = db.session.get(Lead, small), db.session.get(Lead, big)
            assert (small_lead.score, small_lead.temperature, small_lead.priority) == (
                10,
                "warm",
                "normal",
            )
            assert (big_lead.score, big_lead.temperature, big_lead.priority) == (35, "hot", "high")

    def test_a_hand_set_temperature_is_kept_and_can_be_released(self, app, tenant):
        apply_rules(app, tenant, self.document)
        lead_id = web_lead(app, tenant, temperature="cold")
        with app.app_context():
            org = db.session.get(Organization, tenant.org.id)
            lead = db.session.get(Lead, lead_id)
            manager = Actor(org.id, user=db.session.get(User, tenant.store_manager.id))
            assert (lead.score, lead.temperature, lead.temperature_by_hand) == (10, "cold", True)

            leads.update_fields(db.session, org, lead, {"value": "90000"}, manager, WEDNESDAY)
            assert (lead.score, lead.temperature) == (35, "cold"), "rescored, hand value kept"

            leads.update_fields(db.session, org, lead, {"temperature": ""}, manager, WEDNESDAY)
            assert (lead.temperature, lead.temperature_by_hand) == ("hot", False)
            db.session.commit()
            kinds = db.session.scalars(
                select(LeadEvent.kind).where(LeadEvent.lead_id == lead_id)
            ).all()
            assert "classification_released" in kinds

    @pytest.mark.parametrize("value", ["60000", None])
    def test_routing_sees_the_score(self, app, tenant, value):
        apply_rules(
            app,
            tenant,
            {
                **self.document,
                "assignment": [
                    {
                        "name": "Hot leads to Harbour",
                        "when": {"field": "temperature", "op": "is", "value": "hot"},
                        "assign": {"user": tenant.other_agent.email},
                    }
                ],
            },
        )
        fields = {"value": value} if value else {}
        owner = assignee_of(app, web_lead(app, tenant, **fields))
        assert owner == (tenant.other_agent.id if value else None)


def test_decisions_are_kept_per_lead(app, tenant):
    apply_rules(app, tenant, team_rule())
    lead_id = web_lead(app, tenant)
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(AssignmentDecision.lead_id == lead_id))
        assert count == 1


def test_the_lead_page_says_why_and_who_was_skipped(app, tenant, web):
    ids = add_agents(app, tenant, "otto")
    with app.app_context():
        users.add_out_of_office(
            db.session,
            db.session.get(User, ids["otto"]),
            WEDNESDAY - timedelta(days=1),
            WEDNESDAY + timedelta(days=2),
        )
        db.session.commit()
    apply_rules(app, tenant, team_rule())
    lead_id = web_lead(app, tenant)

    web.login(tenant.store_manager.email, PASSWORD)
    page = web.get(f"/leads/{lead_id}").get_data(as_text=True)

    assert "Why Agent Acme?" in page
    assert "Rule “Web to Main Street” (round-robin in Main Street) → Agent Acme." in page
    assert "out of office until 2030-05-17 10:00" in page


def test_bulk_reassignment_tells_the_new_owner_and_is_in_the_history(app, tenant):
    from leadtrack.services import bulk

    first, second = web_lead(app, tenant), web_lead(app, tenant)
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        receptionist = db.session.get(User, tenant.receptionist.id)
        changed = bulk.apply(
            db.session,
            org,
            receptionist,
            [first, second],
            "assign",
            str(tenant.other_agent.id),
            WEDNESDAY,
        )
        db.session.commit()
        assert changed == 2
        alerts = db.session.scalars(
            select(Notification).where(
                Notification.event == "lead_assigned", Notification.channel == "in_app"
            )
        ).all()
        assert {(a.lead_id, a.recipient_id) for a in alerts} == {
            (first, tenant.other_agent.id),
            (second, tenant.other_agent.id),
        }
        event = db.session.scalars(
            select(LeadEvent).where(LeadEvent.lead_id == first, LeadEvent.kind == "assigned")
        ).one()
        assert event.actor_id == tenant.receptionist.id and event.data["reason"] == "bulk"


def test_an_admin_sets_a_cap_of_open_leads_on_a_user(app, tenant, web):
    web.login(tenant.admin.email, PASSWORD)
    page = web.get(f"/admin/users/{tenant.agent.id}").get_data(as_text=True)
    assert "Cap of open leads" in page

    bad = web.post(
        f"/admin/users/{tenant.agent.id}",
        {
            "name": "Agent Acme",
            "email": tenant.agent.email,
            "role": "agent",
            "unit_id": tenant.store.id,
            "max_open_leads": "0",
        },
    )
    assert "From 1 to 10000." in bad.get_data(as_text=True)
    web.post(
        f"/admin/users/{tenant.agent.id}",
        {
            "name": "Agent Acme",
            "email": tenant.agent.email,
            "role": "agent",
            "unit_id": tenant.store.id,
            "max_open_leads": "12",
        },
    )
    with app.app_context():
        assert db.session.get(User, tenant.agent.id).max_open_leads == 12
