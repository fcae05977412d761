"""The clock rules' editor (/settings/clock): response times with warnings and the
escalation ladder, aging, "use it or lose it" and auto-close.

Only people with the `manage_rules` privilege get in; another organization's rules are 404.
A good form becomes a new version of the rules document (and a new matching lead gets its
timers); a bad one re-renders with the message next to its field (422) and stores nothing;
the list's switch, arrows and delete answer with the section (htmx)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import (
    Lead,
    Organization,
    RoutingRule,
    RuleKind,
    RuleVersion,
    Timer,
    TimerKind,
    TimerState,
    User,
)
from leadtrack.services import clock_rules_editor, rule_book, rules_document
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead

PAGE = "/settings/clock"


@pytest.fixture
def admin_web(web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    web.get(PAGE)
    return web


def _text(response) -> str:
    return response.get_data(as_text=True)


def _apply(app, tenant, document: dict) -> None:
    """Set the rules through the document service, as an import would."""
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        user = db.session.get(User, tenant.admin.id)
        rules_document.apply(
            db.session, org, document, Actor(org.id, user=user, via="cli"), utcnow()
        )
        db.session.commit()


def _export(app, tenant) -> dict:
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        doc = rules_document.export(db.session, org)
        db.session.rollback()
        return doc


def _rules(app, org_id: int, kind: RuleKind = RuleKind.RESPONSE) -> list[tuple[int, str, bool]]:
    with app.app_context():
        return [(r.id, r.name, r.enabled) for r in rule_book.rules_of(db.session, org_id, kind)]


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _web_response(name: str = "Web leads in 5 minutes", **extra) -> dict:
    return {
        "name": name,
        "when": {"field": "source", "op": "is", "value": "web"},
        "within": "5m",
        "business_time": False,
        "warnings": [50],
        "ladder": [{"to": "backup", "action": "reassign"}],
        **extra,
    }


def _two_response_rules() -> dict:
    return {
        "response": [
            _web_response("Web leads in 5 minutes"),
            _web_response("Phone leads in an hour", within="1h", warnings=[]),
        ]
    }


def _response_form(tenant, **overrides) -> dict:
    """A complete, valid response-rule form: web leads in 5 min around the clock, warned
    at 50% and 80%; at the deadline the backup gets the lead by SMS and it is marked
    overdue; 10 minutes later the manager is told, with the admin in cc."""
    form = {
        "name": "Web leads in 5 minutes",
        "enabled": "on",
        "combinator": "all",
        "cond": ["k1"],
        "cond-k1-field": "source",
        "cond-k1-op": "is",
        "cond-k1-value": "web",
        "duration": "5",
        "unit": "minutes",
        "business_time": "false",
        "warnings": "50, 80",
        "counts": ["activity", "status", "ack"],
        "step": ["a1", "b2"],
        "step-a1-after": "",
        "step-a1-after_unit": "minutes",
        "step-a1-to": "backup",
        "step-a1-action": "reassign",
        "step-a1-channels": ["sms"],
        "step-a1-overdue": "on",
        "step-b2-after": "10",
        "step-b2-after_unit": "minutes",
        "step-b2-to": "manager",
        "step-b2-action": "notify",
        "step-b2-cc": [tenant.admin.email],
    }
    form.update(overrides)
    return form


# -- who may see the pages ------------------------------------------------------------------


class TestAccess:
    URLS = (
        PAGE,
        f"{PAGE}/new/response",
        f"{PAGE}/new/aging",
        f"{PAGE}/new/reclaim",
        f"{PAGE}/new/auto_close",
        f"{PAGE}/step-row",
    )

    @pytest.mark.parametrize("who", ["agent", "store_manager", "receptionist"])
    def test_people_without_the_privilege_are_refused(self, app, web, tenant, who):
        _apply(app, tenant, _two_response_rules())
        rule_id = _rules(app, tenant.org.id)[0][0]
        web.login(getattr(tenant, who).email, PASSWORD)
        for url in (*self.URLS, f"{PAGE}/{rule_id}"):
            assert web.get(url).status_code == 403, url
        posts = {
            f"{PAGE}/new/response": _response_form(tenant),
            f"{PAGE}/{rule_id}": _response_form(tenant),
            f"{PAGE}/{rule_id}/move/down": {},
            f"{PAGE}/{rule_id}/enabled": {},
            f"{PAGE}/{rule_id}/delete": {},
        }
        for url, data in posts.items():
            assert web.post(url, data, htmx=True).status_code == 403, url
        assert [(name, on) for _, name, on in _rules(app, tenant.org.id)] == [
            ("Web leads in 5 minutes", True),
            ("Phone leads in an hour", True),
        ]
        assert _count(app, RuleVersion) == 1

    def test_the_nav_shows_the_link_only_to_rule_managers(self, app, web, tenant):
        web.login(tenant.agent.email, PASSWORD)
        assert f'href="{PAGE}"' not in _text(web.get("/"))
        web.logout()
        web.login(tenant.admin.email, PASSWORD)
        assert f'href="{PAGE}">Response times</a>' in _text(web.get("/"))
        assert f'href="{PAGE}"' in _text(web.get("/settings/rules"))

    def test_signed_out_visitors_go_to_sign_in(self, web, tenant):
        response = web.get(PAGE)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]

    def test_another_organizations_rules_are_never_shown(
        self, app, admin_web, tenant, other_tenant
    ):
        _apply(app, other_tenant, {"response": [_web_response("Globex secret rule")]})
        theirs = _rules(app, other_tenant.org.id)[0][0]
        assert "Globex secret rule" not in _text(admin_web.get(PAGE))
        assert admin_web.get(f"{PAGE}/{theirs}").status_code == 404
        for url, data in {
            f"{PAGE}/{theirs}": _response_form(tenant),
            f"{PAGE}/{theirs}/move/down": {},
            f"{PAGE}/{theirs}/enabled": {},
            f"{PAGE}/{theirs}/delete": {},
        }.items():
            assert admin_web.post(url, data, htmx=True).status_code == 404, url
        assert _rules(app, other_tenant.org.id) == [(theirs, "Globex secret rule", True)]
        assert _count(app, RuleVersion, RuleVersion.org_id == tenant.org.id) == 0

    def test_an_assignment_rule_is_not_a_clock_rule(self, app, admin_web, tenant):
        _apply(
            app,
            tenant,
            {"assignment": [{"name": "All to agent", "assign": {"user": tenant.agent.email}}]},
        )
        rule_id = _rules(app, tenant.org.id, RuleKind.ASSIGN)[0][0]
        assert admin_web.get(f"{PAGE}/{rule_id}").status_code == 404
        assert admin_web.post(f"{PAGE}/{rule_id}/delete", htmx=True).status_code == 404
        assert admin_web.get(f"{PAGE}/99999999999").status_code == 404
        assert admin_web.get(f"{PAGE}/new/assign").status_code == 404

    def test_a_post_without_csrf_token_is_refused(self, app, admin_web, tenant):
        response = admin_web.client.post(f"{PAGE}/new/response", data=_response_form(tenant))
        assert response.status_code == 400
        assert _count(app, RoutingRule) == 0


# -- the list -------------------------------------------------------------------------------


class TestList:
    def test_empty_state_explains_each_kind(self, admin_web):
        page = _text(admin_web.get(PAGE))
        assert "No response-time rules yet: leads have no deadline." in page
        assert "No aging rules" in page
        assert "No “use it or lose it” rules" in page
        assert "No auto-close rules" in page
        for kind in ("response", "aging", "reclaim", "auto_close"):
            assert f'href="{PAGE}/new/{kind}"' in page

    def test_rules_are_described_in_words(self, app, admin_web, tenant):
        _apply(
            app,
            tenant,
            {
                "response": [
                    {
                        "name": "Web leads",
                        "when": {"field": "source", "op": "is", "value": "web"},
                        "within": "5m",
                        "business_time": True,
                        "warnings": [50, 80],
                        "counts": ["activity", "ack"],
                        "ladder": [
                            {
                                "to": "backup",
                                "action": "reassign",
                                "channels": ["sms"],
                                "overdue": True,
                            },
                            {
                                "after": "10m",
                                "to": "manager",
                                "action": "notify",
                                "cc": [tenant.admin.email],
                            },
                            {"after": "1h", "to": {"team": "Harbour"}, "action": "watch"},
                        ],
                    }
                ],
                "aging": [
                    {"name": "Idle", "after": "14d", "then": {"status": "Dead"}},
                    {"name": "Quiet", "enabled": False, "after": "3d", "then": "notify"},
                ],
                "reclaim": [{"name": "Use it", "within": "30m"}],
                "auto_close": [
                    {
                        "name": "Unreachable",
                        "when": {"field": "status", "op": "is", "value": "Could not reach"},
                        "after": "90d",
                        "business_time": False,
                        "close_as": "Lost",
                        "reason": "Never reached",
                    }
                ],
            },
        )
        page = _text(admin_web.get(PAGE))
        assert "Source is web" in page
        assert "</span> 5 min (business hours)</p>" in page
        assert "at 50%, 80% of the time" in page
        assert "an activity logged by the assignee or “I&#39;m on it” from an alert" in page
        steps = re.findall(r'<span class="rule-label">(Then|)</span> ([^<]*)</p>', page)
        assert steps[:3] == [
            (
                "Then",
                "at the deadline reassign to the assignee&#39;s backup by SMS, marked overdue",
            ),
            ("", f"10 min later tell the manager, cc {tenant.admin.name}"),
            ("", "1 h later add someone in North / Harbour (round-robin) as a watcher"),
        ]
        assert "14 days (business hours)" in page and "set the status to Dead" in page
        assert "Disabled: skipped" in page
        assert "back through the assignment rules" in page
        assert "90 days (around the clock)" in page
        assert "close as Lost — “Never reached”" in page
        assert "No response-time rules yet" not in page
        ids = Counter(re.findall(r'\sid="([^"]+)"', page))
        assert {name: n for name, n in ids.items() if n > 1} == {}

    def test_toggle_answers_with_the_section(self, app, admin_web, tenant):
        _apply(app, tenant, _two_response_rules())
        first = _rules(app, tenant.org.id)[0][0]
        response = admin_web.post(f"{PAGE}/{first}/enabled", {}, htmx=True)
        fragment = _text(response)
        assert response.status_code == 200
        assert 'id="clock-response"' in fragment and "<html" not in fragment
        assert "Disabled “Web leads in 5 minutes”. Version 2." in fragment
        assert [r[2] for r in _rules(app, tenant.org.id)] == [False, True]
        response = admin_web.post(f"{PAGE}/{first}/enabled", {"enabled": "on"}, htmx=True)
        assert "Enabled “Web leads in 5 minutes”." in _text(response)
        assert [r[2] for r in _rules(app, tenant.org.id)] == [True, True]
        page = _text(admin_web.get("/settings/rules/versions"))
        assert "disabled response rule “Web leads in 5 minutes”" in page
        assert "enabled response rule “Web leads in 5 minutes”" in page

    def test_move_swaps_the_order_and_refuses_past_the_end(self, app, admin_web, tenant):
        _apply(app, tenant, _two_response_rules())
        (first, _, _), (second, _, _) = _rules(app, tenant.org.id)
        response = admin_web.post(f"{PAGE}/{first}/move/down", htmx=True)
        fragment = _text(response)
        assert response.status_code == 200
        assert "Moved “Web leads in 5 minutes” down. Version 2." in fragment
        listed = fragment[fragment.index("<ol") :]
        assert listed.index("Phone leads in an hour") < listed.index("Web leads in 5 minutes")
        assert [r[0] for r in _rules(app, tenant.org.id)] == [second, first]
        response = admin_web.post(f"{PAGE}/{second}/move/up", htmx=True)
        assert response.status_code == 422
        assert "is already the first rule." in _text(response)
        assert [r[0] for r in _rules(app, tenant.org.id)] == [second, first]
        assert _count(app, RuleVersion) == 2

    def test_move_without_htmx_redirects_back(self, app, admin_web, tenant):
        _apply(app, tenant, _two_response_rules())
        first = _rules(app, tenant.org.id)[0][0]
        response = admin_web.post(f"{PAGE}/{first}/move/down")
        assert response.status_code == 302
        assert response.headers["Location"].endswith(PAGE)

    def test_delete_with_confirm(self, app, admin_web, tenant):
        _apply(app, tenant, _two_response_rules())
        first = _rules(app, tenant.org.id)[0][0]
        page = _text(admin_web.get(PAGE))
        assert 'hx-confirm="Delete the rule “Web leads in 5 minutes”?' in page
        response = admin_web.post(f"{PAGE}/{first}/delete", htmx=True)
        assert response.status_code == 200
        assert "Deleted “Web leads in 5 minutes”." in _text(response)
        assert [r[1] for r in _rules(app, tenant.org.id)] == ["Phone leads in an hour"]
        assert [r["name"] for r in _export(app, tenant)["response"]] == ["Phone leads in an hour"]

    def test_delete_from_the_edit_page_goes_back_to_the_list(self, app, admin_web, tenant):
        _apply(app, tenant, _two_response_rules())
        first = _rules(app, tenant.org.id)[0][0]
        response = admin_web.post(f"{PAGE}/{first}/delete", {"next": "index"}, htmx=True)
        assert response.status_code == 204
        assert response.headers["HX-Redirect"] == PAGE
        assert len(_rules(app, tenant.org.id)) == 1


# -- the form -------------------------------------------------------------------------------


class TestResponseForm:
    def test_new_page_has_the_builder_and_one_step(self, admin_web):
        response = admin_web.get(f"{PAGE}/new/response")
        page = _text(response)
        assert response.status_code == 200
        assert 'name="combinator"' in page and "+ Add condition" in page
        assert 'hx-get="/settings/rules/condition-row"' in page  # the shared builder
        assert page.count('name="step"') == 1
        assert "+ Add step" in page
        assert 'value="50, 80"' in page
        for label in ("Business time", "Around the clock", "Mark the lead overdue", "SMS"):
            assert label in page
        ids = Counter(re.findall(r'\sid="([^"]+)"', page))
        assert {name: n for name, n in ids.items() if n > 1} == {}

    def test_step_row_is_a_fragment_with_its_own_ids(self, admin_web):
        one = _text(admin_web.get(f"{PAGE}/step-row", headers={"HX-Request": "true"}))
        two = _text(admin_web.get(f"{PAGE}/step-row", headers={"HX-Request": "true"}))
        assert "<html" not in one
        assert 'name="step"' in one and "After the previous step, wait" in one
        key_one = re.search(r'name="step" value="(\w+)"', one).group(1)
        key_two = re.search(r'name="step" value="(\w+)"', two).group(1)
        assert key_one != key_two

    def test_create_a_response_rule_and_a_new_lead_gets_its_timers(self, app, admin_web, tenant):
        response = admin_web.post(f"{PAGE}/new/response", _response_form(tenant))
        assert response.status_code == 302, _text(response)
        assert response.headers["Location"].endswith(f"{PAGE}#response-heading")

        doc = _export(app, tenant)
        assert doc["response"] == [
            {
                "name": "Web leads in 5 minutes",
                "enabled": True,
                "when": {"all": [{"field": "source", "op": "is", "value": "web"}]},
                "within": "5m",
                "business_time": False,
                "warnings": [50, 80],
                "counts": ["activity", "status", "ack"],
                "ladder": [
                    {"to": "backup", "action": "reassign", "channels": ["sms"], "overdue": True},
                    {
                        "after": "10m",
                        "to": "manager",
                        "action": "notify",
                        "cc": [tenant.admin.email],
                        "overdue": False,
                    },
                ],
            }
        ]
        with app.app_context():
            version = db.session.scalars(select(RuleVersion)).one()
            assert version.via == "web" and version.actor_id == tenant.admin.id
            assert "added response rule “Web leads in 5 minutes”" in version.summary

        page = _text(admin_web.get(PAGE))
        assert "Saved “Web leads in 5 minutes”. Version 1." in page
        assert (
            "at the deadline reassign to the assignee&#39;s backup by SMS, marked overdue" in page
        )

        now = utcnow()
        lead_id = make_lead(app, tenant.org.id, source="web", now=now)
        other_id = make_lead(app, tenant.org.id, source="phone", now=now)
        with app.app_context():
            lead = db.session.get(Lead, lead_id)
            rule_id = _rules(app, tenant.org.id)[0][0]
            assert lead.response_rule_id == rule_id
            assert abs(lead.response_due_at - (lead.created_at + timedelta(minutes=5))) < (
                timedelta(seconds=1)
            )
            timers = db.session.scalars(
                select(Timer).where(Timer.lead_id == lead_id).order_by(Timer.fire_at)
            ).all()
            assert [(t.kind, t.state) for t in timers] == [
                (TimerKind.WARNING, TimerState.PENDING),
                (TimerKind.WARNING, TimerState.PENDING),
                (TimerKind.ESCALATION, TimerState.PENDING),
            ]
            assert timers[-1].plan["ladder"][1]["cc"] == [tenant.admin.id]
            assert db.session.get(Lead, other_id).response_rule_id is None

    def test_edit_shows_the_stored_rule_and_saves_in_place(self, app, admin_web, tenant):
        _apply(app, tenant, _two_response_rules())
        rule_id = _rules(app, tenant.org.id)[0][0]
        page = _text(admin_web.get(f"{PAGE}/{rule_id}"))
        assert 'value="Web leads in 5 minutes"' in page
        assert re.search(r'id="rule-duration"[^>]*value="5"', page)
        assert re.search(r'<option value="minutes"\s+selected>', page)
        assert 'id="rule-around"' in page and re.search(r'value="false"\s+checked', page)
        assert page.count('name="step"') == 1

        form = _response_form(tenant, name="Web leads in 2 hours", duration="2", unit="hours")
        response = admin_web.post(f"{PAGE}/{rule_id}", form)
        assert response.status_code == 302, _text(response)
        assert _rules(app, tenant.org.id)[0] == (rule_id, "Web leads in 2 hours", True)
        assert _export(app, tenant)["response"][0]["within"] == "2h"
        with app.app_context():
            latest = db.session.scalars(
                select(RuleVersion).order_by(RuleVersion.version.desc())
            ).first()
            assert latest.summary.startswith("renamed response rule “Web leads in 5 minutes”")

    @pytest.mark.parametrize(
        ("overrides", "key", "message"),
        [
            ({"step": []}, "ladder", "Add at least one step"),
            ({"duration": "0"}, "duration", "Give a time from 1 second to 400 days."),
            ({"duration": "soon"}, "duration", "Give a time from 1 second to 400 days."),
            ({"name": ""}, "name", "Give the rule a name."),
            ({"warnings": "50, 120"}, "warnings", "percentages from 1 to 99"),
            ({"counts": []}, "counts", "Tick at least one thing"),
            ({"step-b2-after": ""}, "ladder[1].after", "Say how long after the previous step"),
            ({"step-a1-to": "user", "step-a1-user": ""}, "ladder[0].to", "Pick the person."),
            ({"step-b2-to": "team", "step-b2-team": ""}, "ladder[1].to", "Pick the team."),
            ({"step-a1-action": "shout"}, "ladder[0].action", "reassign, watch, notify"),
            ({"cond-k1-field": "nonsense"}, "when.all[0]", "nonsense"),
        ],
    )
    def test_bad_input_shows_by_its_field_and_stores_nothing(
        self, app, admin_web, tenant, overrides, key, message
    ):
        response = admin_web.post(f"{PAGE}/new/response", _response_form(tenant, **overrides))
        page = _text(response)
        assert response.status_code == 422
        assert "Nothing was saved." in page
        error_id = "err-" + key.replace(".", "-").replace("[", "-").replace("]", "")
        if key.startswith("when."):
            assert re.search(rf'class="field-error cond-error"[^>]*>[^<]*{message}', page)
        else:
            found = re.search(rf'id="{error_id}">([^<]*)<', page)
            assert found, page
            assert message in found.group(1)
        # The form comes back as it was typed.
        assert 'value="Web leads in 5 minutes"' in page or overrides.get("name") == ""
        assert _count(app, RoutingRule) == 0
        assert _count(app, RuleVersion) == 0
        assert _export(app, tenant)["response"] == []

    def test_a_refused_form_keeps_its_steps(self, app, admin_web, tenant):
        form = _response_form(tenant, duration="0")
        page = _text(admin_web.post(f"{PAGE}/new/response", form))
        assert page.count('name="step"') == 2
        assert re.search(r'id="step-b2-after"[^>]*value="10"', page)
        assert re.search(rf'<option value="{re.escape(tenant.admin.email)}"\s+selected>', page)
        assert re.search(r'id="step-a1-ch-sms"[^>]*checked', page)


class TestOtherKinds:
    def test_aging_with_a_dead_status(self, app, admin_web, tenant):
        form = {
            "name": "Idle two weeks",
            "enabled": "on",
            "combinator": "all",
            "duration": "14",
            "unit": "days",
            "business_time": "true",
            "then": "status",
            "then_status": "Dead",
        }
        response = admin_web.post(f"{PAGE}/new/aging", form)
        assert response.status_code == 302, _text(response)
        assert _export(app, tenant)["aging"] == [
            {
                "name": "Idle two weeks",
                "enabled": True,
                "when": {"all": []},
                "after": "14d",
                "business_time": True,
                "then": {"status": "Dead"},
            }
        ]

    def test_aging_with_a_status_that_is_not_dead_is_refused(self, app, admin_web, tenant):
        form = {"name": "Idle", "duration": "3", "unit": "days", "then": "status"}
        for status in ("Won", ""):
            response = admin_web.post(f"{PAGE}/new/aging", {**form, "then_status": status})
            assert response.status_code == 422
            found = re.search(r'id="err-then">([^<]*)<', _text(response))
            assert found and "Pick a status of the dead category: Dead." in found.group(1)
        assert _count(app, RoutingRule) == 0

    def test_reclaim(self, app, admin_web, tenant):
        form = {"name": "Use it or lose it", "enabled": "on", "duration": "30", "unit": "minutes"}
        response = admin_web.post(f"{PAGE}/new/reclaim", {**form, "business_time": "true"})
        assert response.status_code == 302, _text(response)
        (entry,) = _export(app, tenant)["reclaim"]
        assert (entry["within"], entry["business_time"]) == ("30m", True)

    def test_auto_close_and_an_unknown_status(self, app, admin_web, tenant):
        form = {
            "name": "Could not reach for 90 days",
            "enabled": "on",
            "combinator": "all",
            "cond": ["c1"],
            "cond-c1-field": "status",
            "cond-c1-op": "is",
            "cond-c1-value": "Could not reach",
            "duration": "90",
            "unit": "days",
            "business_time": "false",
            "close_as": "Vanished",
            "reason": "Never reached",
        }
        response = admin_web.post(f"{PAGE}/new/auto_close", form)
        page = _text(response)
        assert response.status_code == 422
        found = re.search(r'id="err-close_as">([^<]*)<', page)
        assert found and "Pick the status to close as: Won, Lost, Dead." in found.group(1)
        assert "Vanished (not a closed status)" in page
        assert _count(app, RoutingRule) == 0

        response = admin_web.post(f"{PAGE}/new/auto_close", {**form, "close_as": "Lost"})
        assert response.status_code == 302, _text(response)
        (entry,) = _export(app, tenant)["auto_close"]
        assert (entry["after"], entry["close_as"], entry["reason"]) == (
            "90d",
            "Lost",
            "Never reached",
        )

    def test_another_rule_with_the_same_name_is_refused_by_the_name(self, app, admin_web, tenant):
        _apply(app, tenant, {"reclaim": [{"name": "Use it", "within": "30m"}]})
        form = {"name": "use it", "duration": "1", "unit": "hours", "business_time": "true"}
        response = admin_web.post(f"{PAGE}/new/reclaim", form)
        assert response.status_code == 422
        assert re.search(r'id="err-name">[^<]*Another reclaim rule has this name', _text(response))


def test_editor_states_round_trip(app, tenant):
    """A stored rule read into the form and written back is the same document entry."""
    entry = {
        "name": "Web",
        "enabled": False,
        "when": {"any": [{"field": "source", "op": "is", "value": "web"}]},
        "within": "1h30m",
        "business_time": True,
        "warnings": [25, 75],
        "counts": ["status"],
        "ladder": [
            {"to": {"user": tenant.agent.email}, "action": "watch", "overdue": False},
            {
                "after": "90s",
                "to": {"team": "Harbour", "method": "fewest_open"},
                "action": "reassign",
                "channels": ["email", "in_app"],
                "overdue": True,
            },
        ],
    }
    _apply(app, tenant, {"response": [entry]})
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        rule = rule_book.rules_of(db.session, org.id, RuleKind.RESPONSE)[0]
        stored = clock_rules_editor.entry_of(db.session, org, rule)
        state = clock_rules_editor.rule_state(RuleKind.RESPONSE, stored)
        assert (state.duration, state.unit) == ("90", "minutes")
        again = clock_rules_editor.rule_entry(state, db.session, org)
        version = clock_rules_editor.update_rule(
            db.session, org, rule.id, again, Actor(org.id, via="test"), utcnow()
        )
        db.session.commit()
        assert version.summary == "no change"
