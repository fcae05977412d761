"""The rule editor pages: the list, the rule form with its condition builder, the settings,
the simulator and the history.

Only people with the `manage_rules` privilege get in; another organization's rules are 404.
Good input becomes a new version of the rules document; bad input re-renders the form with
the message next to the field (422) and stores nothing; the simulator changes nothing."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import (
    AssignmentDecision,
    Lead,
    Organization,
    RotationSlot,
    RoutingRule,
    RuleKind,
    RuleVersion,
    User,
)
from leadtrack.services import rule_book, rules_document, rules_editor
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead

PAGE = "/settings/rules"


@pytest.fixture
def admin_web(web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    web.get(PAGE)
    return web


def _text(response) -> str:
    return response.get_data(as_text=True)


def _apply(app, tenant, document: dict, actor_id: int | None = None) -> None:
    """Set the rules through the document service, as an import would."""
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        user = db.session.get(User, actor_id or tenant.admin.id)
        full = {"settings": {}, "assignment": [], "scoring": [], **document}
        rules_document.apply(db.session, org, full, Actor(org.id, user=user, via="cli"), utcnow())
        db.session.commit()


def _rules(app, org_id: int, kind: RuleKind = RuleKind.ASSIGN) -> list[tuple[int, str, bool]]:
    with app.app_context():
        return [(r.id, r.name, r.enabled) for r in rule_book.rules_of(db.session, org_id, kind)]


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _two_web_rules(tenant) -> dict:
    return {
        "assignment": [
            {
                "name": "Web to the agent",
                "when": {"field": "source", "op": "is", "value": "web"},
                "assign": {"user": tenant.agent.email, "hours": False},
            },
            {
                "name": "Web to the store manager",
                "when": {"field": "source", "op": "is", "value": "web"},
                "assign": {"user": tenant.store_manager.email, "hours": False},
            },
        ]
    }


def _rule_form(**overrides) -> dict:
    """A complete, valid assignment-rule form: web leads round-robin in Main Street."""
    form = {
        "name": "Web to Main Street",
        "enabled": "on",
        "combinator": "all",
        "cond": ["k1"],
        "cond-k1-field": "source",
        "cond-k1-op": "is",
        "cond-k1-value": "web",
        "assign.type": "team",
        "assign.team": "Main Street",
        "assign.method": "round_robin",
        "assign.around_clock": "on",
    }
    form.update(overrides)
    return form


# -- who may see the pages ------------------------------------------------------------------


class TestAccess:
    URLS = (
        PAGE,
        f"{PAGE}/new/assign",
        f"{PAGE}/new/score",
        f"{PAGE}/settings",
        f"{PAGE}/simulate",
        f"{PAGE}/simulate?mode=sample&sample.source=web",
        f"{PAGE}/versions",
        f"{PAGE}/export.yaml",
        f"{PAGE}/condition-row",
    )

    @pytest.mark.parametrize("who", ["agent", "store_manager", "area_manager", "receptionist"])
    def test_people_without_the_privilege_are_refused(self, app, web, tenant, who):
        _apply(app, tenant, _two_web_rules(tenant))
        rule_id = _rules(app, tenant.org.id)[0][0]
        web.login(getattr(tenant, who).email, PASSWORD)
        for url in (*self.URLS, f"{PAGE}/{rule_id}", f"{PAGE}/versions/1"):
            assert web.get(url).status_code == 403, url
        posts = {
            f"{PAGE}/new/assign": _rule_form(),
            f"{PAGE}/{rule_id}": _rule_form(),
            f"{PAGE}/{rule_id}/move/down": {},
            f"{PAGE}/{rule_id}/enabled": {},
            f"{PAGE}/{rule_id}/delete": {},
            f"{PAGE}/settings": {"hot_from": "10"},
            f"{PAGE}/preview/assign": _rule_form(),
            f"{PAGE}/simulate": {"mode": "last", "last": "5"},
        }
        for url, data in posts.items():
            assert web.post(url, data, htmx=True).status_code == 403, url
        assert [name for _, name, _ in _rules(app, tenant.org.id)] == [
            "Web to the agent",
            "Web to the store manager",
        ]
        assert _count(app, RuleVersion) == 1

    def test_signed_out_visitors_go_to_sign_in(self, web, tenant):
        response = web.get(PAGE)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]

    def test_a_platform_admin_without_an_organization_is_refused(self, web, super_admin):
        web.login(super_admin.email, PASSWORD)
        assert web.get(PAGE).status_code == 403

    def test_another_organizations_rules_and_versions_are_not_found(
        self, app, admin_web, tenant, other_tenant
    ):
        _apply(app, other_tenant, _two_web_rules(other_tenant))
        theirs = _rules(app, other_tenant.org.id)[0][0]
        assert admin_web.get(f"{PAGE}/{theirs}").status_code == 404
        assert admin_web.get(f"{PAGE}/versions/1").status_code == 404
        assert admin_web.get(f"{PAGE}/versions/1.yaml").status_code == 404
        for url, data in {
            f"{PAGE}/{theirs}": _rule_form(),
            f"{PAGE}/{theirs}/move/down": {},
            f"{PAGE}/{theirs}/enabled": {},
            f"{PAGE}/{theirs}/delete": {},
            f"{PAGE}/preview/assign": {**_rule_form(), "rule_id": str(theirs)},
        }.items():
            assert admin_web.post(url, data, htmx=True).status_code == 404, url
        assert [r[2] for r in _rules(app, other_tenant.org.id)] == [True, True]
        assert _count(app, RuleVersion, RuleVersion.org_id == tenant.org.id) == 0

    def test_ids_no_row_can_have_are_not_found(self, admin_web):
        assert admin_web.get(f"{PAGE}/99999999999").status_code == 404
        assert admin_web.get(f"{PAGE}/0").status_code == 404
        assert admin_web.get(f"{PAGE}/versions/99").status_code == 404
        assert admin_web.get(f"{PAGE}/versions/99999999999").status_code == 404

    def test_a_post_without_csrf_token_is_refused(self, app, admin_web):
        response = admin_web.client.post(f"{PAGE}/new/assign", data=_rule_form())
        assert response.status_code == 400
        assert _count(app, RoutingRule) == 0


# -- the list -------------------------------------------------------------------------------


class TestList:
    def test_empty_state_says_what_happens_to_leads(self, admin_web):
        page = _text(admin_web.get(PAGE))
        assert "No assignment rules yet." in page
        assert "every lead waits in its unit&#39;s queue" in page
        assert f'href="{PAGE}/new/assign"' in page
        assert "No scoring rules yet." in page

    def test_rules_are_listed_in_order_with_sentences(self, app, admin_web, tenant):
        _apply(
            app,
            tenant,
            {
                "settings": {"fallback": {"queue": "Harbour"}},
                "assignment": [
                    {
                        "name": "Big deals",
                        "when": {"field": "value", "op": "gte", "value": 50000},
                        "assign": {"user": tenant.agent.email},
                    },
                    {
                        "name": "Web to Main Street",
                        "enabled": False,
                        "when": {
                            "any": [
                                {"field": "source", "op": "is", "value": "web"},
                                {"field": "tags", "op": "has", "value": "online"},
                            ]
                        },
                        "assign": {"team": "Main Street", "method": "fewest_open"},
                    },
                ],
                "scoring": [
                    {
                        "name": "Referrals",
                        "when": {"field": "source", "op": "is", "value": "referral"},
                        "points": 25,
                    }
                ],
            },
        )
        page = _text(admin_web.get(PAGE))
        assert page.index("Big deals") < page.index("Web to Main Street")
        assert "Value at least 50000" in page
        assert f"to {tenant.agent.name}" in page
        assert "</span> Source is web or Tags has online</p>" in page
        assert "fewest open leads in North / Main Street" in page
        assert "Disabled: skipped" in page
        assert "to the queue of North / Harbour" in page  # the fallback
        assert "+25" in page and "Source is referral" in page
        ids = Counter(re.findall(r'\sid="([^"]+)"', page))
        assert {name: n for name, n in ids.items() if n > 1} == {}

    def test_move_down_and_up_swaps_the_order(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        (first, _, _), (second, _, _) = _rules(app, tenant.org.id)
        response = admin_web.post(f"{PAGE}/{first}/move/down", htmx=True)
        fragment = _text(response)
        assert response.status_code == 200
        assert 'id="assign-rules"' in fragment
        assert "<html" not in fragment
        assert "Moved “Web to the agent” down. Version 2." in fragment
        listed = fragment[fragment.index("<ol") :]
        assert listed.index("Web to the store manager") < listed.index("Web to the agent")
        assert [r[0] for r in _rules(app, tenant.org.id)] == [second, first]

        response = admin_web.post(f"{PAGE}/{first}/move/up", htmx=True)
        assert response.status_code == 200
        assert [r[0] for r in _rules(app, tenant.org.id)] == [first, second]

    def test_moving_past_the_end_is_refused(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        (first, _, _), (second, _, _) = _rules(app, tenant.org.id)
        response = admin_web.post(f"{PAGE}/{first}/move/up", htmx=True)
        assert response.status_code == 422
        assert "“Web to the agent” is already the first rule." in _text(response)
        response = admin_web.post(f"{PAGE}/{second}/move/down", htmx=True)
        assert response.status_code == 422
        assert [r[0] for r in _rules(app, tenant.org.id)] == [first, second]
        assert _count(app, RuleVersion) == 1

    def test_move_without_htmx_redirects_back_to_the_list(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        first = _rules(app, tenant.org.id)[0][0]
        response = admin_web.post(f"{PAGE}/{first}/move/down")
        assert response.status_code == 302
        assert response.headers["Location"].endswith(PAGE)
        assert "Moved “Web to the agent” down." in _text(admin_web.get(PAGE))

    def test_disable_and_enable(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        first = _rules(app, tenant.org.id)[0][0]
        response = admin_web.post(f"{PAGE}/{first}/enabled", {}, htmx=True)
        assert response.status_code == 200
        assert "Disabled “Web to the agent”." in _text(response)
        assert [r[2] for r in _rules(app, tenant.org.id)] == [False, True]
        response = admin_web.post(f"{PAGE}/{first}/enabled", {"enabled": "on"}, htmx=True)
        assert "Enabled “Web to the agent”." in _text(response)
        assert [r[2] for r in _rules(app, tenant.org.id)] == [True, True]
        page = _text(admin_web.get(f"{PAGE}/versions"))
        assert "disabled assignment rule “Web to the agent”" in page
        assert "enabled assignment rule “Web to the agent”" in page

    def test_delete(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        first = _rules(app, tenant.org.id)[0][0]
        page = _text(admin_web.get(PAGE))
        assert 'hx-confirm="Delete the rule “Web to the agent”?' in page
        response = admin_web.post(f"{PAGE}/{first}/delete", htmx=True)
        assert response.status_code == 200
        assert "Deleted “Web to the agent”." in _text(response)
        assert [r[1] for r in _rules(app, tenant.org.id)] == ["Web to the store manager"]

    def test_delete_from_the_edit_page_goes_back_to_the_list(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        first = _rules(app, tenant.org.id)[0][0]
        response = admin_web.post(f"{PAGE}/{first}/delete", {"next": "index"}, htmx=True)
        assert response.status_code == 204
        assert response.headers["HX-Redirect"] == PAGE
        assert len(_rules(app, tenant.org.id)) == 1


# -- the rule form --------------------------------------------------------------------------


class TestRuleForm:
    def test_new_rule_page_has_the_builder(self, admin_web):
        response = admin_web.get(f"{PAGE}/new/assign")
        page = _text(response)
        assert response.status_code == 200
        assert 'name="combinator"' in page
        assert '<optgroup label="Territory">' in page
        assert re.search(r'<option value="district"\s*>District</option>', page)
        assert "+ Add condition" in page
        assert 'name="assign.type" value="team"' in page
        assert "Route around the clock" in page
        assert "Test against a sample lead" in page
        for label in ("A named person", "A team", "A team chosen by a field", "A queue"):
            assert label in page
        ids = Counter(re.findall(r'\sid="([^"]+)"', page))
        assert {name: n for name, n in ids.items() if n > 1} == {}

    def test_create_a_rule_and_see_it_in_the_list(self, app, admin_web, tenant):
        response = admin_web.post(f"{PAGE}/new/assign", _rule_form())
        assert response.status_code == 302, _text(response)
        assert response.headers["Location"].endswith(PAGE)
        page = _text(admin_web.get(PAGE))
        assert "Saved “Web to Main Street”. Version 1." in page
        assert "Web to Main Street" in page
        assert "Source is web" in page
        assert "round-robin in North / Main Street, around the clock" in page
        with app.app_context():
            rule = db.session.scalars(select(RoutingRule)).one()
            assert rule.conditions == {"all": [{"field": "source", "op": "is", "value": "web"}]}
            assert rule.target == {
                "type": "team",
                "method": "round_robin",
                "unit_id": tenant.store.id,
                "weights": {},
                "hours": False,
            }

    def test_every_kind_of_value_input_is_read(self, app, admin_web, tenant):
        form = _rule_form(
            combinator="any",
            cond=["a", "b", "c", "d", "e", "f", "g", "blank"],
            **{
                "cond-a-field": "value",
                "cond-a-op": "between",
                "cond-a-value": ["1000", "2500.5"],
                "cond-b-field": "tags",
                "cond-b-op": "has_any",
                "cond-b-value": "suv, trade-in ,",
                "cond-c-field": "weekday",
                "cond-c-op": "in",
                "cond-c-value": ["sat", "sun"],
                "cond-d-field": "time_of_day",
                "cond-d-op": "between",
                "cond-d-value": ["22:00", "06:00"],
                "cond-e-field": "has_email",
                "cond-e-op": "is",
                "cond-e-value": "false",
                "cond-f-field": "source",
                "cond-f-op": "in",
                "cond-f-value": ["web", "phone"],
                "cond-g-field": "district",
                "cond-g-op": "is_set",
                "cond-blank-field": "",
            },
        )
        form["cond-k1-field"] = ""
        response = admin_web.post(f"{PAGE}/new/assign", form)
        assert response.status_code == 302, _text(response)
        with app.app_context():
            rule = db.session.scalars(select(RoutingRule)).one()
        assert rule.conditions == {
            "any": [
                {"field": "value", "op": "between", "value": [1000, 2500.5]},
                {"field": "tags", "op": "has_any", "value": ["suv", "trade-in"]},
                {"field": "weekday", "op": "in", "value": ["sat", "sun"]},
                {"field": "time_of_day", "op": "between", "value": ["22:00", "06:00"]},
                {"field": "has_email", "op": "is", "value": False},
                {"field": "source", "op": "in", "value": ["web", "phone"]},
                {"field": "district", "op": "is_set"},
            ]
        }
        # The edit page shows each row with its own input.
        page = _text(admin_web.get(f"{PAGE}/{rule.id}"))
        assert 'id="cond-r0-value-to" name="cond-r0-value" value="2500.5"' in page
        assert 'value="suv, trade-in"' in page
        assert 'id="cond-r2-value-sat" name="cond-r2-value" value="sat" checked' in page
        assert 'type="time" id="cond-r3-value" name="cond-r3-value" value="22:00"' in page
        assert '<option value="false" selected>' in page
        assert re.search(r'<select id="cond-r5-value" name="cond-r5-value" multiple', page)
        assert "no value needed" in page

    def test_by_field_target_with_a_mapping(self, app, admin_web, tenant):
        form = _rule_form(
            **{
                "assign.type": "by_field",
                "assign.by_field": "district",
                "assign.map_value": ["North", "Harbourside", ""],
                "assign.map_unit": ["Main Street", "Harbour", ""],
                "assign.otherwise": "North",
                "assign.method": "fewest_open",
            }
        )
        del form["assign.around_clock"]
        response = admin_web.post(f"{PAGE}/new/assign", form)
        assert response.status_code == 302, _text(response)
        with app.app_context():
            rule = db.session.scalars(select(RoutingRule)).one()
        assert rule.target == {
            "type": "by_field",
            "method": "fewest_open",
            "field": "district",
            "map": {"North": tenant.store.id, "Harbourside": tenant.other_store.id},
            "otherwise": tenant.area.id,
        }
        page = _text(admin_web.get(PAGE))
        assert "by district (North → North / Main Street; Harbourside → North / Harbour)" in page

    @pytest.mark.parametrize(
        ("overrides", "key", "message"),
        [
            ({"assign.team": "Nowhere"}, "err-assign-team", "There is no unit “Nowhere”."),
            ({"name": "  "}, "err-name", "Give the rule a name."),
            (
                {"cond-k1-field": "value", "cond-k1-op": "gte", "cond-k1-value": "lots"},
                "row-k1-error",
                "Value: &#39;lots&#39; is not a number.",
            ),
            (
                {"cond-k1-value": "telepathy"},
                "row-k1-error",
                "Source: unknown source &#39;telepathy&#39;",
            ),
            (
                {"assign.type": ""},
                "err-assign",
                "Give exactly one of user, team, by_field or queue.",
            ),
            (
                {"assign.type": "user", "assign.user": "ghost@example.com"},
                "err-assign-user",
                "Nobody here has the e-mail &#39;ghost@example.com&#39;.",
            ),
        ],
    )
    def test_bad_input_is_shown_next_to_the_field(
        self, app, admin_web, tenant, overrides, key, message
    ):
        response = admin_web.post(f"{PAGE}/new/assign", _rule_form(**overrides))
        page = _text(response)
        assert response.status_code == 422
        assert "Nothing was saved." in page
        assert re.search(rf'id="{key}">[^<]*{re.escape(message)}', page), page
        # What was typed is still there.
        assert 'name="name"' in page
        assert _count(app, RoutingRule) == 0
        assert _count(app, RuleVersion) == 0

    def test_a_bad_number_in_the_condition_row_keeps_the_row(self, app, admin_web):
        form = _rule_form(**{"cond-k1-field": "value", "cond-k1-op": "gte", "cond-k1-value": "1e"})
        page = _text(admin_web.post(f"{PAGE}/new/assign", form))
        assert 'class="cond-row has-error" id="row-k1"' in page
        assert 'name="cond-k1-value" value="1e"' in page
        assert "is not a number" in page

    def test_a_duplicate_name_is_refused(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        response = admin_web.post(f"{PAGE}/new/assign", _rule_form(name="web to the AGENT"))
        assert response.status_code == 422
        assert "Another assignment rule has this name." in _text(response)
        assert len(_rules(app, tenant.org.id)) == 2

    def test_scoring_rule_with_bad_points(self, app, admin_web):
        data = {"name": "Web", "enabled": "on", "cond": ["k1"], "cond-k1-field": "source"}
        data.update({"cond-k1-op": "is", "cond-k1-value": "web"})
        for points in ("ten", "2.5", "5000", "", "1e999999999", "NaN", "-Infinity"):
            response = admin_web.post(f"{PAGE}/new/score", {**data, "points": points})
            assert response.status_code == 422, points
            assert "Give points as a whole number from -1000 to 1000." in _text(response)
        assert _count(app, RoutingRule) == 0
        response = admin_web.post(f"{PAGE}/new/score", {**data, "points": "-15"})
        assert response.status_code == 302
        with app.app_context():
            rule = db.session.scalars(select(RoutingRule)).one()
        assert (rule.kind, rule.points) == (RuleKind.SCORE, -15)
        assert "-15" in _text(admin_web.get(PAGE))

    def test_edit_keeps_the_rule_and_renaming_is_recorded(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        first = _rules(app, tenant.org.id)[0][0]
        page = _text(admin_web.get(f"{PAGE}/{first}"))
        assert 'value="Web to the agent"' in page
        assert f'<option value="{tenant.agent.email}" selected>' in page
        form = _rule_form(name="Web to the team")
        response = admin_web.post(f"{PAGE}/{first}", form)
        assert response.status_code == 302, _text(response)
        assert _rules(app, tenant.org.id)[0][:2] == (first, "Web to the team")
        page = _text(admin_web.get(f"{PAGE}/versions"))
        assert "renamed assignment rule “Web to the agent” to “Web to the team”" in page

    def test_nested_conditions_are_shown_read_only_and_kept(self, app, admin_web, tenant):
        nested = {
            "any": [
                {"field": "value", "op": "gte", "value": 50000},
                {
                    "all": [
                        {"field": "source", "op": "is", "value": "web"},
                        {"not": {"field": "tags", "op": "has", "value": "spam"}},
                    ]
                },
            ]
        }
        _apply(
            app,
            tenant,
            {"assignment": [{"name": "Nested", "when": nested, "assign": {"queue": None}}]},
        )
        rule_id = _rules(app, tenant.org.id)[0][0]
        page = _text(admin_web.get(f"{PAGE}/{rule_id}"))
        assert "nest groups inside groups" in page
        assert 'name="keep_conditions" value="1"' in page
        assert "op: has" in page  # the YAML
        form = _rule_form(name="Nested, renamed", keep_conditions="1")
        response = admin_web.post(f"{PAGE}/{rule_id}", form)
        assert response.status_code == 302, _text(response)
        with app.app_context():
            rule = db.session.get(RoutingRule, rule_id)
            assert rule.conditions == nested
            assert rule.name == "Nested, renamed"

    def test_team_weights_from_the_document_are_kept(self, app, admin_web, tenant):
        assign = {"team": "Main Street", "weights": {tenant.agent.email: 3}}
        _apply(app, tenant, {"assignment": [{"name": "Weighted", "assign": assign}]})
        rule_id = _rules(app, tenant.org.id)[0][0]
        page = _text(admin_web.get(f"{PAGE}/{rule_id}"))
        assert f"{tenant.agent.email} × 3" in page
        response = admin_web.post(f"{PAGE}/{rule_id}", _rule_form(name="Weighted"))
        assert response.status_code == 302
        with app.app_context():
            assert db.session.get(RoutingRule, rule_id).target["weights"] == {
                str(tenant.agent.id): 3
            }


class TestConditionRow:
    def test_a_new_row(self, admin_web):
        response = admin_web.get(f"{PAGE}/condition-row")
        page = _text(response)
        assert response.status_code == 200
        assert re.search(r'<input type="hidden" name="cond" value="n[0-9a-f]{8}">', page)
        assert "— pick a field —" in page
        assert "<html" not in page

    def test_changing_the_field_gives_its_operators_and_input(self, admin_web):
        url = f"{PAGE}/condition-row?key=k1&changed=field&cond-k1-op=is&cond-k1-value=web"
        page = _text(admin_web.get(url + "&cond-k1-field=value"))
        assert '<option value="gte" >at least</option>' in page
        assert 'type="number"' in page
        assert 'value="web"' not in page  # the old value was for another field
        page = _text(admin_web.get(url + "&cond-k1-field=weekday"))
        assert page.count('type="radio"') == 7
        page = _text(admin_web.get(url + "&cond-k1-field=has_phone"))
        assert "yes (true)" in page

    def test_changing_the_operator_keeps_the_values(self, admin_web):
        url = f"{PAGE}/condition-row?key=k1&changed=op&cond-k1-field=source&cond-k1-op=in"
        page = _text(admin_web.get(url + "&cond-k1-value=web"))
        assert 'multiple size="' in page
        assert '<option value="web" selected>' in page
        page = _text(
            admin_web.get(f"{PAGE}/condition-row?key=k1&cond-k1-field=weekday&cond-k1-op=in")
        )
        assert page.count('type="checkbox"') == 7

    def test_a_key_that_is_not_plain_becomes_a_new_row(self, admin_web):
        page = _text(admin_web.get(f'{PAGE}/condition-row?key="><script>x'))
        assert "<script>" not in page
        assert re.search(r'name="cond" value="n[0-9a-f]{8}"', page)

    def test_a_map_row(self, admin_web):
        page = _text(admin_web.get(f"{PAGE}/map-row?prefix=fallback"))
        assert 'name="fallback.map_value"' in page
        assert "North / Main Street" in page


# -- settings -------------------------------------------------------------------------------


class TestSettings:
    def test_save_the_settings(self, app, admin_web, tenant):
        page = _text(admin_web.get(f"{PAGE}/settings"))
        assert "Fresh start" in page and "Catch up" in page
        assert 'id="fallback-type-queue" name="fallback.type" value="queue" checked' in page
        form = {
            "fallback.type": "queue",
            "fallback.queue": "Harbour",
            "return_policy": "catch_up",
            "hot_from": "70",
            "warm_from": "40",
            "urgent_from": "90",
            "high_from": "60",
        }
        response = admin_web.post(f"{PAGE}/settings", form)
        assert response.status_code == 302, _text(response)
        with app.app_context():
            settings = rule_book.settings_of(db.session, tenant.org.id)
            assert settings.fallback == {"type": "queue", "unit_id": tenant.other_store.id}
            assert settings.return_policy == "catch_up"
            assert (settings.hot_from, settings.warm_from) == (70, 40)
            assert settings.priority_from == {"urgent": 90, "high": 60}
        page = _text(admin_web.get(PAGE))
        assert "to the queue of North / Harbour" in page
        assert "catch up on missed leads" in page

    @pytest.mark.parametrize(
        ("overrides", "key", "message"),
        [
            ({"warm_from": "80"}, "warm_from", "Warm must start at or below hot."),
            ({"hot_from": "hot"}, "hot_from", "Give a whole number of points."),
            ({"urgent_from": ""}, "priority_from", "Give points for urgent and high"),
            ({"fallback.queue": "Atlantis"}, "fallback-queue", "There is no unit “Atlantis”."),
            ({"fallback.type": "team", "fallback.team": ""}, "fallback-team", "Name a unit."),
            ({"return_policy": "whatever"}, "return_policy", "Use fresh_start or catch_up."),
        ],
    )
    def test_bad_settings(self, app, admin_web, overrides, key, message):
        form = {
            "fallback.type": "queue",
            "return_policy": "fresh_start",
            "hot_from": "60",
            "warm_from": "30",
            "urgent_from": "80",
            "high_from": "50",
            **overrides,
        }
        response = admin_web.post(f"{PAGE}/settings", form)
        assert response.status_code == 422
        assert re.search(rf'id="err-{key}">[^<]*{re.escape(message)}', _text(response))
        assert _count(app, RuleVersion) == 0


# -- the simulator --------------------------------------------------------------------------


def _table_counts(app) -> dict:
    models = (RotationSlot, AssignmentDecision, Lead, RuleVersion, RoutingRule)
    return {model.__name__: _count(app, model) for model in models}


class TestSimulator:
    @pytest.fixture
    def routed(self, app, tenant):
        _apply(
            app,
            tenant,
            {
                "assignment": [
                    {
                        "name": "Web round-robin",
                        "when": {"field": "source", "op": "is", "value": "web"},
                        "assign": {"team": "Main Street", "hours": False},
                    }
                ],
                "scoring": [
                    {
                        "name": "Web",
                        "when": {"field": "source", "op": "is", "value": "web"},
                        "points": 70,
                    }
                ],
            },
        )
        for n in range(3):
            make_lead(app, tenant.org.id, name=f"Web lead {n}", source="web")
        make_lead(app, tenant.org.id, name="Walk-in lead", source="walk-in")

    def test_a_sample_lead_shows_the_rule_the_person_and_why(self, app, admin_web, tenant, routed):
        before = _table_counts(app)
        response = admin_web.get(
            f"{PAGE}/simulate?mode=sample&sample.source=web&sample.value=1200&sample.tags=a,b",
            headers={"HX-Request": "true"},
        )
        fragment = _text(response)
        assert response.status_code == 200
        assert "<html" not in fragment
        assert "rule “Web round-robin”" in fragment
        assert f"→ {tenant.agent.name}" in fragment
        assert f"{tenant.agent.name} <strong>✓ gets it</strong>" in fragment
        assert "Score <strong>70</strong>" in fragment
        assert 'class="temp temp-hot"' in fragment
        assert _table_counts(app) == before

    def test_htmx_posts_the_simulator_forms(self, app, admin_web, tenant, routed):
        before = _table_counts(app)
        data = {
            "mode": "sample",
            "sample.source": "walk-in",
            "sample.unit_id": str(tenant.store.id),
        }
        response = admin_web.post(f"{PAGE}/simulate", data, htmx=True)
        fragment = _text(response)
        assert response.status_code == 200
        assert "<html" not in fragment
        assert "rule “Fallback”" in fragment
        assert "waits in the queue of Main Street" in fragment
        response = admin_web.post(f"{PAGE}/simulate", {"mode": "last", "last": "2"}, htmx=True)
        assert "the last 2 leads" in _text(response)
        assert _table_counts(app) == before

    def test_the_last_leads(self, app, admin_web, tenant, routed):
        before = _table_counts(app)
        page = _text(admin_web.get(f"{PAGE}/simulate?mode=last&last=20"))
        assert "the last 4 leads" in page
        assert page.index("Web lead 0") < page.index("Walk-in lead")
        assert page.count('<small class="sim-rule-name">Web round-robin</small>') == 3
        assert "Fallback" in page
        assert _table_counts(app) == before

    def test_bad_simulator_input_is_a_field_error(self, app, admin_web, routed):
        before = _table_counts(app)
        for url, message in (
            ("mode=last&last=0", "Simulate 1 to 200 leads."),
            ("mode=last&last=lots", "Give a number of leads from 1 to 200."),
            ("mode=sample&sample.value=much", "Give an amount of money"),
            ("mode=sample&sample.source=pigeon", "Unknown source &#39;pigeon&#39;."),
            ("mode=sample&sample.unit_id=99999", "unit"),
        ):
            response = admin_web.get(f"{PAGE}/simulate?{url}")
            assert response.status_code == 422, url
            assert message in _text(response), url
        assert _table_counts(app) == before

    def test_testing_an_unsaved_rule_changes_nothing(self, app, admin_web, tenant, routed):
        before = _table_counts(app)
        rule_id = _rules(app, tenant.org.id)[0][0]
        form = _rule_form(
            rule_id=str(rule_id),
            **{"assign.type": "user", "assign.user": tenant.other_agent.email},
        )
        form.update({"sample.source": "web", "sample.value": "10"})
        response = admin_web.post(f"{PAGE}/preview/assign", form, htmx=True)
        fragment = _text(response)
        assert response.status_code == 200, fragment
        assert f"→ {tenant.other_agent.name}" in fragment
        assert "Tried with the rule as it is on the screen" in fragment
        assert _table_counts(app) == before
        with app.app_context():
            assert db.session.get(RoutingRule, rule_id).target["type"] == "team"
            assert rule_book.settings_of(db.session, tenant.org.id).version == 1
        # A new lead still follows the saved rule.
        lead_id = make_lead(app, tenant.org.id, name="After preview", source="web")
        with app.app_context():
            assert db.session.get(Lead, lead_id).assignee_id in (
                tenant.agent.id,
                tenant.store_manager.id,
            )

    def test_a_tried_draft_never_stands_in_for_the_next_real_version(
        self, app, admin_web, tenant, routed
    ):
        """The draft is compiled as version 2 inside the savepoint; the real version 2 that
        comes next must be compiled from what was saved, not served from the cache."""
        rule_id = _rules(app, tenant.org.id)[0][0]
        form = _rule_form(
            rule_id=str(rule_id),
            **{"assign.type": "user", "assign.user": tenant.other_agent.email},
        )
        response = admin_web.post(
            f"{PAGE}/preview/assign", {**form, "sample.source": "web"}, htmx=True
        )
        assert f"→ {tenant.other_agent.name}" in _text(response)
        scoring = {"name": "Phone", "cond": ["k"], "cond-k-field": "source"}
        scoring.update({"cond-k-op": "is", "cond-k-value": "phone", "points": "5"})
        assert admin_web.post(f"{PAGE}/new/score", scoring).status_code == 302
        lead_id = make_lead(app, tenant.org.id, name="After the real save", source="web")
        with app.app_context():
            assert rule_book.settings_of(db.session, tenant.org.id).version == 2
            assert db.session.get(Lead, lead_id).assignee_id == tenant.agent.id

    def test_testing_a_broken_rule_says_what_to_fix(self, app, admin_web, routed):
        before = _table_counts(app)
        form = _rule_form(**{"assign.team": "Nowhere", "sample.source": "web"})
        response = admin_web.post(f"{PAGE}/preview/assign", form, htmx=True)
        assert response.status_code == 422
        assert "There is no unit “Nowhere”." in _text(response)
        assert _table_counts(app) == before


# -- history --------------------------------------------------------------------------------


class TestVersions:
    def test_versions_list_the_change_with_the_actor(self, app, admin_web, tenant):
        assert "No changes yet." in _text(admin_web.get(f"{PAGE}/versions"))
        admin_web.post(f"{PAGE}/new/assign", _rule_form())
        page = _text(admin_web.get(f"{PAGE}/versions"))
        assert "Version 1" in page
        assert tenant.admin.name in page
        assert "added assignment rule “Web to Main Street”" in page
        assert "Times are in Europe/Berlin." in page
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CE[S]?T", page)

    def test_a_version_shows_its_yaml_and_downloads(self, app, admin_web, tenant):
        admin_web.post(f"{PAGE}/new/assign", _rule_form())
        page = _text(admin_web.get(f"{PAGE}/versions/1"))
        assert "name: Web to Main Street" in page
        assert "team: Main Street" in page
        response = admin_web.get(f"{PAGE}/versions/1.yaml")
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="rules-acme-v1.yaml"'
        )
        response = admin_web.get(f"{PAGE}/export.yaml")
        assert response.status_code == 200
        text = _text(response)
        assert text.startswith("settings:")
        assert "name: Web to Main Street" in text
        assert rules_document.parse(text)["assignment"][0]["assign"]["team"] == "Main Street"

    def test_changes_from_the_command_line_show_who_and_how(self, app, admin_web, tenant):
        _apply(app, tenant, _two_web_rules(tenant))
        page = _text(admin_web.get(f"{PAGE}/versions"))
        assert f"{tenant.admin.name} <small>(cli)</small>" in page


def test_editor_states_round_trip(app, tenant):
    """A stored rule read into the form and back is the same document entry."""
    entry = {
        "name": "Round trip",
        "enabled": False,
        "when": {
            "all": [
                {"field": "value", "op": "between", "value": [10, 20.5]},
                {"field": "weekday", "op": "not_in", "value": ["sat", "sun"]},
                {"field": "tags", "op": "has_all", "value": ["a", "b"]},
            ]
        },
        "assign": {"by_field": "district", "map": {"N": "Main Street"}, "method": "round_robin"},
    }
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        catalog = rules_editor.choices(db.session, org).catalog
        state = rules_editor.rule_state(RuleKind.ASSIGN, entry)
        assert rules_editor.rule_entry(state, catalog) == entry
