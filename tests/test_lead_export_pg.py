"""On PostgreSQL the CSV comes from one COPY; it must say exactly what the portable path
says, cell for cell (the portable path is what SQLite and the XLSX file use)."""

import csv
import io
from datetime import UTC, datetime

import pytest

from leadtrack.extensions import db
from leadtrack.models import Organization, User
from leadtrack.services import intake, lead_export, lead_query, lead_settings, leads
from leadtrack.services.history import Actor
from leadtrack.services.lead_query import LeadFilters

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


@pytest.fixture
def org(ctx, tenant):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the COPY path exists only on PostgreSQL (.ci/run's second run)")
    return db.session.get(Organization, tenant.org.id)


def _portable_csv(org: Organization, stmt) -> list[list[str]]:
    layout = lead_export.Layout.of(db.session, org)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(layout.header)
    for chunk in lead_export.iter_chunks(db.session, stmt, None, layout, chunk_size=3):
        writer.writerows(chunk)
    return list(csv.reader(io.StringIO(buffer.getvalue())))


def test_copy_and_portable_paths_agree(org, tenant):
    for key, kind, options in [
        ("budget", "money", []),
        ("seats", "number", []),
        ("trade_in", "checkbox", []),
        ("extras", "multi_select", ["tow bar", "=roof"]),
        ("colour", "select", ["red", "-blue"]),
        ("note", "long_text", []),
        ("visit", "date", []),
        ("ref", "text", []),
    ]:
        lead_settings.add_custom_field(
            db.session, org, key=key, label=f"@{key}", type=kind, options=options
        )
    admin = db.session.get(User, tenant.admin.id)
    actor = Actor(org.id, user=admin)
    full = intake.create_lead(
        db.session,
        org,
        {
            "name": '=HYPERLINK("x")',
            "emails": "b@x.example.com, a@x.example.com",
            "phones": "+49 30 1234567, 030 7654321",
            "source": "web",
            "company": "-Minus Ltd",
            "address": 'Road 1, "Upstairs", back door',
            "tags": "vip, @home",
            "value": "1234.5",
            "temperature": "hot",
            "priority": "urgent",
            "assignee_id": tenant.agent.id,
            "follow_up_at": "2026-12-01T10:00",
            "custom": {
                "budget": "20000",
                "seats": "7",
                "trade_in": True,
                "extras": ["tow bar", "=roof"],
                "colour": "-blue",
                "note": "line one\nline two",
                "visit": "2026-12-03",
                "ref": "+ref",
            },
        },
        actor,
        NOW,
    ).lead
    closed = intake.create_lead(
        db.session, org, {"name": "Plain", "phones": "030 5550100", "source": "phone"}, actor, NOW
    ).lead
    lost = next(s for s in lead_settings.statuses(db.session, org.id) if s.category == "lost")
    leads.close(db.session, closed, lost, "=too expensive", actor, NOW)
    intake.create_lead(
        db.session,
        org,
        {
            "name": "Nothing Else",
            "emails": "n@x.example.com",
            "source": "web",
            "custom": {"trade_in": False},
        },
        actor,
        NOW,
    )
    db.session.flush()
    stmt = lead_query.sorted_query(
        lead_query.build_query(db.session, org, admin, LeadFilters(), NOW), "-created"
    )
    portable = _portable_csv(org, stmt)
    copied = list(
        csv.reader(io.StringIO("".join(lead_export.csv_stream(db.session, stmt, org))[1:]))
    )
    assert copied == portable
    assert len(copied) == 4
    by_name = {row[2]: row for row in copied[1:]}
    assert '\'=HYPERLINK("x")' in by_name
    assert by_name['\'=HYPERLINK("x")'][3] == "b@x.example.com; a@x.example.com"
    assert full.id
