"""The lead pages as people use them: enter, find, work and merge leads."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import Activity, Lead, LeadEvent, LeadStatus, Privilege, User
from leadtrack.services import users
from leadtrack.timeutil import utcnow
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead


def _lead(app, lead_id) -> Lead:
    return db.session.get(Lead, lead_id)


def _events(app, lead_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(LeadEvent.kind).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
            )
        )


class TestNewLead:
    def test_receptionist_enters_a_walk_in(self, web, app, tenant):
        web.login(tenant.receptionist.email, PASSWORD)
        web.get("/leads/new")
        response = web.post(
            "/leads/new",
            {
                "name": "Walk In",
                "phones": "030 5550199",
                "source": "walk-in",
                "tags": "suv",
                "assignee_id": tenant.agent.id,
                "next": "open",
            },
        )
        assert response.status_code == 302
        lead_id = int(response.headers["Location"].rsplit("/", 1)[1])
        page = web.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert "Walk In" in page and "+49305550199" in page
        with app.app_context():
            lead = _lead(app, lead_id)
            assert lead.assignee_id == tenant.agent.id
            assert lead.created_by_id == tenant.receptionist.id

    def test_bad_input_re_renders_with_field_errors_and_keeps_values(self, web, app, tenant):
        web.login(tenant.receptionist.email, PASSWORD)
        web.get("/leads/new")
        response = web.post(
            "/leads/new",
            {
                "name": "",
                "phones": "12",
                "emails": "a@",
                "source": "walk-in",
                "company": "Keep Me Ltd",
            },
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Give the contact&#39;s name." in page
        assert "This phone number is not valid." in page
        assert 'value="Keep Me Ltd"' in page
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Lead)) == 0

    def test_existing_contact_hint_while_typing(self, web, app, tenant):
        make_lead(app, tenant.org.id, by=tenant.agent.id, phones="030 5550123")
        web.login(tenant.receptionist.email, PASSWORD)
        hint = web.get("/leads/contact-check?phones=030%205550123").get_data(as_text=True)
        assert "Existing contact: 1 earlier lead, last owned by Agent Acme." in hint
        assert (
            web.get("/leads/contact-check?phones=030%209999999").get_data(as_text=True).strip()
            == ""
        )

    def test_agent_who_enters_a_lead_owns_it(self, web, app, tenant):
        web.login(tenant.agent.email, PASSWORD)
        web.get("/leads/new")
        response = web.post(
            "/leads/new", {"name": "Mine", "emails": "m@x.example.com", "source": "phone"}
        )
        lead_id = int(response.headers["Location"].rsplit("/", 1)[1])
        with app.app_context():
            assert _lead(app, lead_id).assignee_id == tenant.agent.id


class TestList:
    def test_filters_live_in_the_url_and_narrow_the_list(self, web, app, tenant):
        make_lead(
            app,
            tenant.org.id,
            name="Alice Hot",
            temperature="hot",
            tags="vip",
            company="Initech",
            source="web",
        )
        make_lead(app, tenant.org.id, name="Bob Cold", phones="030 5550200", source="phone")
        web.login(tenant.admin.email, PASSWORD)
        page = web.get("/leads").get_data(as_text=True)
        assert "Alice Hot" in page and "Bob Cold" in page
        for query, shown, hidden in [
            ("q=ali", "Alice Hot", "Bob Cold"),
            ("q=030 5550200", "Bob Cold", "Alice Hot"),
            ("source=phone", "Bob Cold", "Alice Hot"),
            ("tag=vip", "Alice Hot", "Bob Cold"),
            ("company=init", "Alice Hot", "Bob Cold"),
            ("assignee=none&status=new", "Alice Hot", "nobody-hidden"),
        ]:
            page = web.get(
                f"/leads?{query}", headers={"HX-Request": "true", "HX-Target": "lead-results"}
            ).get_data(as_text=True)
            assert shown in page, query
            assert hidden not in page, query
            assert "<html" not in page  # a fragment, not a page

    def test_bad_filter_is_a_message_not_an_error(self, web, tenant):
        web.login(tenant.admin.email, PASSWORD)
        response = web.get("/leads?time_frame=fortnight&created_from=yesterday")
        assert response.status_code == 200
        assert "Use one of: today" in response.get_data(as_text=True)

    def test_sorting_by_name(self, web, app, tenant):
        make_lead(app, tenant.org.id, name="Zed")
        make_lead(app, tenant.org.id, name="Amy", phones="030 5550300")
        web.login(tenant.admin.email, PASSWORD)
        page = web.get("/leads?sort=name").get_data(as_text=True)
        assert page.index(">Amy<") < page.index(">Zed<")
        page = web.get("/leads?sort=-name").get_data(as_text=True)
        assert page.index(">Zed<") < page.index(">Amy<")

    def test_agent_lists_only_their_leads(self, web, app, tenant, other_tenant):
        make_lead(app, tenant.org.id, name="Mine", assignee_id=tenant.agent.id)
        make_lead(app, tenant.org.id, name="Theirs", assignee_id=tenant.other_agent.id)
        make_lead(app, other_tenant.org.id, name="Foreign", assignee_id=other_tenant.agent.id)
        web.login(tenant.agent.email, PASSWORD)
        page = web.get("/leads").get_data(as_text=True)
        assert "Mine" in page and "Theirs" not in page and "Foreign" not in page


class TestBulk:
    def test_bulk_status_and_tag(self, web, app, tenant):
        ids = [
            make_lead(app, tenant.org.id, name=f"L{n}", phones=f"030 555030{n}") for n in range(3)
        ]
        with app.app_context():
            contacted = db.session.scalars(
                select(LeadStatus.id).where(
                    LeadStatus.org_id == tenant.org.id, LeadStatus.name == "Contacted"
                )
            ).one()
        web.login(tenant.admin.email, PASSWORD)
        response = web.post(
            "/leads/bulk", {"ids": ids[:2], "action": "status", "value": contacted}, htmx=True
        )
        assert "2 lead(s) updated." in response.get_data(as_text=True)
        web.post("/leads/bulk", {"ids": ids, "action": "tag", "tag_value": "Promo"}, htmx=True)
        with app.app_context():
            assert [_lead(app, i).status.name for i in ids] == ["Contacted", "Contacted", "New"]
            assert all(_lead(app, i).tags == ["promo"] for i in ids)

    def test_bulk_reassign_needs_the_privilege(self, web, app, tenant):
        lead_id = make_lead(app, tenant.org.id, name="Mine", assignee_id=tenant.agent.id)
        web.login(tenant.agent.email, PASSWORD)
        response = web.post(
            "/leads/bulk",
            {"ids": [lead_id], "action": "assign", "value": tenant.other_agent.id},
            htmx=True,
        )
        assert response.status_code == 403
        with app.app_context():
            assert _lead(app, lead_id).assignee_id == tenant.agent.id

    def test_bulk_never_touches_invisible_leads(self, web, app, tenant, other_tenant):
        foreign = make_lead(app, other_tenant.org.id, name="Foreign")
        web.login(tenant.admin.email, PASSWORD)
        response = web.post(
            "/leads/bulk", {"ids": [foreign], "action": "tag", "tag_value": "x"}, htmx=True
        )
        assert "0 lead(s) updated." in response.get_data(as_text=True)
        with app.app_context():
            assert _lead(app, foreign).tags == []


class TestLeadPage:
    def test_agent_logs_a_call_and_the_lead_is_responded(self, web, app, tenant):
        lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
        web.login(tenant.agent.email, PASSWORD)
        assert "No response yet" in web.get(f"/leads/{lead_id}").get_data(as_text=True)
        body = web.post(
            f"/leads/{lead_id}/activities",
            {"kind": "call", "outcome": "reached", "body": "Wants a test drive"},
            htmx=True,
        ).get_data(as_text=True)
        assert "Responded" in body and "Call logged — reached" in body
        with app.app_context():
            assert _lead(app, lead_id).first_response_at is not None

    def test_someone_elses_call_is_not_the_assignees_response(self, web, app, tenant):
        lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
        web.login(tenant.store_manager.email, PASSWORD)
        web.post(f"/leads/{lead_id}/activities", {"kind": "call"}, htmx=True)
        with app.app_context():
            assert _lead(app, lead_id).first_response_at is None

    def test_every_change_is_in_the_history(self, web, app, tenant):
        lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
        web.login(tenant.admin.email, PASSWORD)
        web.post(f"/leads/{lead_id}/status", {"status": "Contacted"}, htmx=True)
        web.post(f"/leads/{lead_id}/follow-up", {"follow_up_at": "2026-12-01T10:00"}, htmx=True)
        web.post(f"/leads/{lead_id}/assign", {"assignee_id": tenant.other_agent.id}, htmx=True)
        web.post(f"/leads/{lead_id}/activities", {"kind": "note", "body": "VIP"}, htmx=True)
        web.get(f"/leads/{lead_id}/edit")
        web.post(
            f"/leads/{lead_id}/edit",
            {
                "name": "Pat Renamed",
                "phones": "030 5550100",
                "source": "walk-in",
                "company": "Acme Cars",
            },
        )
        with app.app_context():
            status = db.session.get(LeadStatus, _lead(app, lead_id).status_id)
        web.post(
            f"/leads/{lead_id}/close",
            {"status": _closed_status_id(app, tenant), "reason": "Bought elsewhere"},
            htmx=True,
        )
        kinds = _events(app, lead_id)
        assert kinds[:2] == ["created", "assigned"]
        for kind in ("status_changed", "follow_up_set", "assigned", "note", "field_changed"):
            assert kind in kinds[2:], kind
        assert kinds[-1] == "status_changed"
        page = web.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert "name: Pat Doe → Pat Renamed" in page
        assert "company: — → Acme Cars" in page
        assert status.name == "Contacted"
        with app.app_context():
            lead = _lead(app, lead_id)
            assert lead.closed_at is not None and lead.close_reason == "Bought elsewhere"

    def test_closing_needs_a_reason(self, web, app, tenant):
        lead_id = make_lead(app, tenant.org.id)
        web.login(tenant.admin.email, PASSWORD)
        response = web.post(
            f"/leads/{lead_id}/close",
            {"status": _closed_status_id(app, tenant), "reason": " "},
            htmx=True,
        )
        assert response.status_code == 422
        assert "Say why the lead is closed." in response.get_data(as_text=True)

    def test_reassign_needs_the_privilege(self, web, app, tenant):
        lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
        web.login(tenant.agent.email, PASSWORD)
        assert "Reassign" not in web.get(f"/leads/{lead_id}").get_data(as_text=True)
        response = web.post(
            f"/leads/{lead_id}/assign", {"assignee_id": tenant.other_agent.id}, htmx=True
        )
        assert response.status_code == 403
        with app.app_context():
            agent = db.session.get(User, tenant.agent.id)
            users.set_privilege_overrides(agent, {Privilege.REASSIGN_LEADS: True})
            db.session.commit()
        response = web.post(
            f"/leads/{lead_id}/assign", {"assignee_id": tenant.other_agent.id}, htmx=True
        )
        assert response.status_code == 200

    def test_another_organizations_lead_is_404_everywhere(self, web, app, tenant, other_tenant):
        foreign = make_lead(app, other_tenant.org.id, name="Foreign")
        web.login(tenant.admin.email, PASSWORD)
        assert web.get(f"/leads/{foreign}").status_code == 404
        assert web.get(f"/leads/{foreign}/edit").status_code == 404
        for action, data in [
            ("activities", {"kind": "call"}),
            ("status", {"status": "Won"}),
            ("follow-up", {"follow_up_at": ""}),
            ("assign", {"assignee_id": ""}),
            ("close", {"status": "1", "reason": "x"}),
            ("edit", {"name": "x"}),
            ("merge", {"other_lead_id": "1"}),
        ]:
            assert web.post(f"/leads/{foreign}/{action}", data, htmx=True).status_code == 404, (
                action
            )
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
            assert _lead(app, foreign).name == "Foreign"

    def test_agent_cannot_open_a_colleagues_lead(self, web, app, tenant):
        theirs = make_lead(app, tenant.org.id, assignee_id=tenant.other_agent.id)
        web.login(tenant.agent.email, PASSWORD)
        assert web.get(f"/leads/{theirs}").status_code == 404


def _closed_status_id(app, tenant) -> int:
    with app.app_context():
        return db.session.scalars(
            select(LeadStatus.id).where(
                LeadStatus.org_id == tenant.org.id, LeadStatus.category == "lost"
            )
        ).one()


class TestMerge:
    def test_manager_merges_and_the_survivor_keeps_both_histories(self, web, app, tenant):
        survivor = make_lead(app, tenant.org.id, name="Pat", assignee_id=tenant.agent.id)
        other = make_lead(
            app,
            tenant.org.id,
            name="Pat D",
            phones="030 5550999",
            emails="pat@x.example.com",
            tags="vip",
            assignee_id=tenant.agent.id,
        )
        web.login(tenant.agent.email, PASSWORD)
        web.post(f"/leads/{other}/activities", {"kind": "call"}, htmx=True)
        web.logout()
        web.login(tenant.store_manager.email, PASSWORD)
        web.get(f"/leads/{survivor}")
        response = web.post(f"/leads/{survivor}/merge", {"other_lead_id": other})
        assert response.status_code == 302
        with app.app_context():
            kept = _lead(app, survivor)
            assert sorted(p.phone for p in kept.phones) == ["+49305550100", "+49305550999"]
            assert [e.email for e in kept.emails] == ["pat@x.example.com"]
            assert kept.tags == ["vip"]
            assert (
                db.session.scalar(
                    select(func.count()).select_from(Activity).where(Activity.lead_id == survivor)
                )
                == 1
            )
            gone = _lead(app, other)
            assert gone.merged_into_id == survivor and gone.closed_at is not None
        kinds = _events(app, survivor)
        assert kinds.count("created") == 2 and "merged" in kinds
        # A merged lead leaves the list.
        page = web.get("/leads").get_data(as_text=True)
        assert "Pat D<" not in page

    def test_agents_cannot_merge(self, web, app, tenant):
        a = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
        b = make_lead(app, tenant.org.id, phones="030 5550777", assignee_id=tenant.agent.id)
        web.login(tenant.agent.email, PASSWORD)
        assert web.post(f"/leads/{a}/merge", {"other_lead_id": b}).status_code == 403
        with app.app_context():
            assert _lead(app, b).merged_into_id is None


class TestFollowUps:
    def test_today_and_missed(self, web, app, tenant):
        now = utcnow()
        make_lead(
            app,
            tenant.org.id,
            name="Due Soon",
            assignee_id=tenant.agent.id,
            follow_up_at=(now + timedelta(minutes=1)).isoformat(),
        )
        make_lead(
            app,
            tenant.org.id,
            name="Forgotten",
            phones="030 5550444",
            assignee_id=tenant.agent.id,
            follow_up_at=(now - timedelta(days=2)).isoformat(),
        )
        make_lead(
            app,
            tenant.org.id,
            name="Not Mine",
            phones="030 5550445",
            assignee_id=tenant.other_agent.id,
            follow_up_at=(now - timedelta(days=2)).isoformat(),
        )
        web.login(tenant.agent.email, PASSWORD)
        page = web.get("/leads/follow-ups").get_data(as_text=True)
        missed = page.split("Missed")[1]
        assert "Forgotten" in missed
        assert "Not Mine" not in page
        web.logout()
        web.login(tenant.area_manager.email, PASSWORD)
        page = web.get("/leads/follow-ups").get_data(as_text=True)
        assert "Forgotten" in page and "Not Mine" in page  # a manager sees the team's


def test_a_double_submitted_form_creates_one_lead(web, app, tenant):
    web.login(tenant.receptionist.email, PASSWORD)
    page = web.get("/leads/new").get_data(as_text=True)
    submission = re.search(r'name="submission_id" value="([0-9a-f]+)"', page).group(1)
    form = {
        "name": "Twice",
        "phones": "030 5550888",
        "source": "walk-in",
        "submission_id": submission,
    }
    first = web.post("/leads/new", form)
    second = web.post("/leads/new", form)
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 1


def test_control_characters_in_a_filter_are_a_message(web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    response = web.get("/leads?name=%00x")
    assert response.status_code == 200
    assert "control characters" in response.get_data(as_text=True)


def test_merge_fills_the_survivors_missing_e_mail(web, app, tenant):
    survivor = make_lead(app, tenant.org.id, name="Phone Only")
    other = make_lead(app, tenant.org.id, name="Mail Only", phones="", emails="m@x.example.com")
    web.login(tenant.admin.email, PASSWORD)
    web.get(f"/leads/{survivor}")
    web.post(f"/leads/{survivor}/merge", {"other_lead_id": other})
    page = web.get("/leads?q=phone").get_data(as_text=True)
    assert "m@x.example.com" in page
