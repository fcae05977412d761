"""Regressions found in review: bad ids and text, edits that must not touch other fields,
merges that must not loop, privileges at intake, what an intake-only key may learn."""

from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import Lead, LeadEvent, Organization
from leadtrack.services import api_keys
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead

HUGE = 2**40


def _lead(lead_id) -> Lead:
    return db.session.get(Lead, lead_id)


def test_ids_no_row_can_have_are_404_or_field_errors(web, app, tenant):
    lead_id = make_lead(app, tenant.org.id)
    web.login(tenant.admin.email, PASSWORD)
    assert web.get(f"/leads/{HUGE}").status_code == 404
    assert web.get("/leads/0").status_code == 404
    response = web.post(f"/leads/{lead_id}/merge", {"other_lead_id": "²"})
    assert response.status_code == 302  # refused with a message, nothing merged
    response = web.post(
        "/leads/bulk", {"ids": [lead_id], "action": "status", "value": str(HUGE)}, htmx=True
    )
    assert response.status_code == 422
    page = web.get(f"/leads?unit={HUGE}").get_data(as_text=True)
    assert "unit: Give a number." in page


def test_control_characters_in_form_text_are_field_errors(web, app, tenant):
    lead_id = make_lead(app, tenant.org.id)
    web.login(tenant.receptionist.email, PASSWORD)
    web.get("/leads/new")
    response = web.post(
        "/leads/new", {"name": "a\x00b", "phones": "030 5550100", "source": "walk-in"}
    )
    assert response.status_code == 422
    assert "control characters" in response.get_data(as_text=True)
    response = web.post(
        f"/leads/{lead_id}/activities", {"kind": "note", "body": "x\x00y"}, htmx=True
    )
    assert response.status_code == 422


def test_saving_the_edit_form_unchanged_changes_nothing(web, app, tenant):
    lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
    web.login(tenant.store_manager.email, PASSWORD)
    page = web.get(f"/leads/{lead_id}/edit").get_data(as_text=True)
    assert page
    with app.app_context():
        before = db.session.scalars(select(LeadEvent.id).where(LeadEvent.lead_id == lead_id)).all()
    form = {
        "name": "Pat Doe",
        "phones": "+49305550100",
        "emails": "",
        "source": "walk-in",
        "priority": "normal",
        "status": "New",
        "unit_id": "",
    }
    response = web.post(f"/leads/{lead_id}/edit", form)
    assert response.status_code == 302
    with app.app_context():
        lead = _lead(lead_id)
        assert lead.unit_id == tenant.store.id
        after = db.session.scalars(select(LeadEvent.id).where(LeadEvent.lead_id == lead_id)).all()
        assert after == before
    assert web.get(f"/leads/{lead_id}").status_code == 200


def test_merging_back_and_forth_is_refused(web, app, tenant):
    a = make_lead(app, tenant.org.id, name="A")
    b = make_lead(app, tenant.org.id, name="B", phones="030 5550111")
    web.login(tenant.admin.email, PASSWORD)
    web.get(f"/leads/{b}")
    web.post(f"/leads/{b}/merge", {"other_lead_id": a})
    web.post(f"/leads/{a}/merge", {"other_lead_id": b})
    with app.app_context():
        assert _lead(a).merged_into_id == b
        assert _lead(b).merged_into_id is None
        kinds = db.session.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == a)).all()
        assert "status_changed" in kinds  # the merged lead's closing is in its history


def test_agent_cannot_hand_a_new_lead_to_a_colleague(web, app, tenant):
    web.login(tenant.agent.email, PASSWORD)
    page = web.get("/leads/new").get_data(as_text=True)
    assert 'name="assignee_id"' not in page
    response = web.post(
        "/leads/new",
        {
            "name": "X",
            "phones": "030 5550123",
            "source": "phone",
            "assignee_id": tenant.other_agent.id,
        },
    )
    assert response.status_code == 422
    assert "only to yourself" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Lead)).all() == []


def test_reassignment_records_the_unit_move(web, app, tenant):
    lead_id = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id)
    web.login(tenant.admin.email, PASSWORD)
    web.post(f"/leads/{lead_id}/assign", {"assignee_id": tenant.other_agent.id}, htmx=True)
    with app.app_context():
        event = db.session.scalars(
            select(LeadEvent)
            .where(LeadEvent.lead_id == lead_id, LeadEvent.kind == "assigned")
            .order_by(LeadEvent.id.desc())
        ).first()
        assert event.data["from_unit_id"] == tenant.store.id
        assert event.data["to_unit_id"] == tenant.other_store.id


def test_intake_only_key_learns_the_count_but_no_names(app, tenant):
    make_lead(app, tenant.org.id, by=tenant.agent.id, phones="030 5550123")
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        _, key = api_keys.create_api_key(
            db.session, org, name="site", scopes="leads:create", created_by=None
        )
        db.session.commit()
    response = app.test_client().post(
        "/api/v1/leads",
        json={"name": "Pat", "phones": ["030 5550123"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    existing = response.get_json()["existing_contact"]
    assert existing["count"] == 1
    assert existing["last_owner"] is None and existing["last_lead_id"] is None
    assert "Agent" not in existing["message"]


def test_bulk_with_tampered_filters_still_answers(web, app, tenant):
    lead_id = make_lead(app, tenant.org.id)
    web.login(tenant.admin.email, PASSWORD)
    response = web.post(
        "/leads/bulk",
        {"ids": [lead_id], "action": "tag", "tag_value": "x", "time_frame": "bogus"},
        htmx=True,
    )
    assert response.status_code == 200
    assert "1 lead(s) updated." in response.get_data(as_text=True)
