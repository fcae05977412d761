"""The intake service: normalization, validation, existing contacts, idempotency, history."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from leadtrack.extensions import db
from leadtrack.models import Lead, LeadEvent, Organization, User
from leadtrack.services import intake, lead_settings
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor
from leadtrack.timeutil import utcnow


@pytest.fixture
def org(ctx, tenant):
    return db.session.get(Organization, tenant.org.id)


def _create(org, raw, user=None, **kwargs):
    actor = Actor(org.id, user=user, via="web" if user else "api")
    return intake.create_lead(db.session, org, raw, actor, utcnow(), **kwargs)


def _lead_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Lead))


def test_fields_are_normalized(org):
    result = _create(
        org,
        {
            "name": "  Ada Lovelace ",
            "emails": "Ada@Example.COM, ada@example.com",
            "phones": ["030 1234567", "+1 217 555 0142"],
            "source": "Walk-In",
            "tags": "SUV, Trade-In",
            "value": "12,500.5",
            "temperature": "HOT",
            "follow_up_at": "2026-12-01T10:00",
        },
    )
    lead = result.lead
    assert lead.name == "Ada Lovelace"
    assert [e.email for e in lead.emails] == ["ada@example.com"]
    assert [p.phone for p in lead.phones] == ["+49301234567", "+12175550142"]
    assert lead.source == "walk-in"
    assert lead.tags == ["suv", "trade-in"]
    assert lead.value == Decimal("12500.50")
    assert lead.temperature == "hot"
    assert lead.follow_up_at.utcoffset().total_seconds() == 0
    assert lead.follow_up_at.hour == 9  # 10:00 in Berlin is 09:00 UTC in December
    assert lead.status.name == "New"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"emails": "not-an-email"}, "emails", "@-sign"),
        ({"phones": "12"}, "phones", "not valid"),
        ({"phones": "", "emails": ""}, "phones", "phone number or an e-mail"),
        ({"status": "Imaginary"}, "status", "Unknown status"),
        ({"source": "pigeon"}, "source", "Unknown source"),
        ({"name": "x" * 201}, "name", "At most 200 characters"),
        ({"address": "y" * 301}, "address", "At most 300 characters"),
        ({"value": "abc"}, "value", "amount of money"),
        ({"value": "-5"}, "value", "amount of money"),
        ({"temperature": "lukewarm"}, "temperature", "hot, warm, cold"),
        ({"tags": {"a": 1}}, "tags", "list of tags"),
        ({"follow_up_at": "next tuesday"}, "follow_up_at", "date and time"),
        ({"assignee_id": "abc"}, "assignee_id", "id of a user"),
        ({"unit_id": 999999}, "unit_id", "No such unit"),
        ({"favourite_colour": "red"}, "favourite_colour", "Unknown field"),
        ({"name": ["a", "list"]}, "name", "Give text"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(org, raw, field, message):
    base = {"name": "Pat", "phones": "030 5550100", "source": "web"}
    with pytest.raises(ValidationError) as caught:
        _create(org, {**base, **raw})
    assert message in caught.value.errors[field]
    db.session.rollback()
    assert _lead_count() == 0


def test_custom_fields_are_typed_and_required(org):
    lead_settings.add_custom_field(db.session, org, key="budget", label="Budget", type="money")
    lead_settings.add_custom_field(
        db.session, org, key="trade_in", label="Trade-in", type="checkbox"
    )
    lead_settings.add_custom_field(
        db.session,
        org,
        key="model",
        label="Model",
        type="select",
        options=["Corolla", "Yaris"],
        required=True,
    )
    base = {"name": "Pat", "phones": "030 5550100", "source": "web"}
    with pytest.raises(ValidationError) as caught:
        _create(org, {**base, "custom": {"budget": "lots", "model": "Tesla", "x": 1}})
    errors = caught.value.errors
    assert errors["custom.budget"] == "Give a number."
    assert errors["custom.model"] == "Pick from: Corolla, Yaris."
    assert errors["custom.x"] == "Unknown custom field."
    with pytest.raises(ValidationError) as caught:
        _create(org, {**base, "custom": {}})
    assert caught.value.errors["custom.model"] == "Model is required."
    lead = _create(
        org, {**base, "custom": {"budget": "20000", "trade_in": "yes", "model": "Yaris"}}
    )
    assert lead.lead.custom == {"budget": "20000.00", "trade_in": True, "model": "Yaris"}


def test_existing_contact_is_linked_and_reported(org, tenant):
    agent = db.session.get(User, tenant.agent.id)
    first = _create(
        org, {"name": "Pat", "phones": "030 5550100", "source": "web", "assignee_id": agent.id}
    )
    assert first.existing.count == 0
    db.session.commit()
    second = _create(
        org,
        {
            "name": "Pat D.",
            "emails": "pat@x.example.com",
            "phones": "+49 30 5550100",
            "source": "phone",
        },
    )
    assert second.lead.id != first.lead.id
    assert second.lead.previous_lead_id == first.lead.id
    assert second.existing.count == 1
    assert (
        second.existing.message == f"Existing contact: 1 earlier lead, last owned by {agent.name}."
    )
    third = _create(org, {"name": "Pat", "emails": "PAT@x.example.com", "source": "web"})
    assert third.existing.count == 2


def test_idempotency_key(org):
    raw = {"name": "Pat", "phones": "030 5550100", "source": "web"}
    first = _create(org, raw, idempotency_key="form-123")
    db.session.commit()
    again = _create(org, dict(raw), idempotency_key="form-123")
    assert again.replayed and again.lead.id == first.lead.id
    assert _lead_count() == 1
    with pytest.raises(ValidationError) as caught:
        _create(org, {**raw, "name": "Someone else"}, idempotency_key="form-123")
    assert "different request body" in caught.value.errors["Idempotency-Key"]


def test_creation_is_recorded_with_who_and_channel(org, tenant):
    agent = db.session.get(User, tenant.agent.id)
    lead = _create(
        org, {"name": "Pat", "phones": "030 5550100", "source": "walk-in"}, user=agent
    ).lead
    events = db.session.scalars(
        select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.id)
    ).all()
    assert [e.kind for e in events] == ["created", "assigned"]
    assert events[0].actor_id == agent.id and events[0].via == "web"
    # An agent who enters a lead keeps it, as in a store.
    assert lead.assignee_id == agent.id
    assert lead.first_assigned_at is not None
