"""Lead export: CSV and XLSX of the filtered list, scoped, neutralized, audited, privileged."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from leadtrack.extensions import db
from leadtrack.models import AuditEvent, Lead, LeadEvent, Organization, Privilege, User
from leadtrack.services import intake, lead_export, lead_query, lead_settings, users
from leadtrack.services.history import Actor
from leadtrack.services.lead_query import LeadFilters
from tests.support.factories import PASSWORD

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)  # 10:30 in Berlin, the tenant's zone
HYPERLINK = '=HYPERLINK("http://evil.example.com","click")'


def _create(org_ref, admin_ref, **raw) -> int:
    org = db.session.get(Organization, org_ref.id)
    actor = Actor(org_id=org.id, user=db.session.get(User, admin_ref.id))
    raw.setdefault("source", "web")
    lead = intake.create_lead(db.session, org, raw, actor, NOW).lead
    return lead.id


@pytest.fixture
def leads(app, tenant, other_tenant) -> dict[str, int]:
    """Four leads of Acme (two of the agent in Main Street, one of the Harbour agent, one
    unassigned) and one of Globex."""
    with app.app_context():
        ids = {
            "anna": _create(
                tenant.org,
                tenant.admin,
                name="Anna Agent",
                phones=["030 1234567"],
                emails=["anna@example.com", "anna.b@example.com"],
                tags=["vip", "car"],
                value="12500",
                company="Acme Cars",
                assignee_id=tenant.agent.id,
            ),
            "evil": _create(
                tenant.org,
                tenant.admin,
                name=HYPERLINK,
                emails=["evil@example.com"],
                company="-2+3",
                source="phone",
                assignee_id=tenant.agent.id,
            ),
            "harry": _create(
                tenant.org,
                tenant.admin,
                name="Harry Harbour",
                phones=["+49 40 7654321"],
                assignee_id=tenant.other_agent.id,
            ),
            "una": _create(
                tenant.org,
                tenant.admin,
                name="Una Unassigned",
                emails=["una@example.com"],
                source="referral",
            ),
            "gloria": _create(
                other_tenant.org,
                other_tenant.admin,
                name="Gloria Globex",
                emails=["gloria@example.com"],
            ),
        }
        db.session.commit()
        return ids


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = response.get_data(as_text=True)
    assert body.startswith(lead_export.BOM)
    return list(csv.reader(io.StringIO(body[1:])))


def _by_name(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header, *data = rows
    return {row[2]: dict(zip(header, row, strict=True)) for row in data}


def _names(rows: list[list[str]]) -> set[str]:
    return {row[2] for row in rows[1:]}


def _grant_export(app, user_id: int) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        users.set_privilege_overrides(user, {Privilege.EXPORT_LEADS: True})
        db.session.commit()


# WebClient.get reads every page as text (for the CSRF token): binary downloads go through
# its Flask test client.


class TestCsv:
    def test_header_and_exactly_the_filtered_rows(self, web, tenant, leads):
        web.login(tenant.admin.email, PASSWORD)
        response = web.get("/leads/export.csv?source=web")
        assert response.mimetype == "text/csv"
        assert response.headers["Cache-Control"] == "no-store"  # personal data
        disposition = response.headers["Content-Disposition"]
        assert re.fullmatch(r'attachment; filename="leads-\d{4}-\d{2}-\d{2}\.csv"', disposition)
        rows = _csv(response)
        assert rows[0] == list(lead_export.EXPORT_COLUMNS)
        assert _names(rows) == {"Anna Agent", "Harry Harbour"}  # not the phone/referral ones
        assert len(rows) == 3

    def test_cells(self, web, tenant, leads):
        web.login(tenant.admin.email, PASSWORD)
        anna = _by_name(_csv(web.get("/leads/export.csv?q=anna")))["Anna Agent"]
        assert anna["ID"] == str(leads["anna"])
        assert anna["Created"] == "2026-11-22 10:30"  # the organization's timezone
        assert anna["E-mail"] == "anna@example.com; anna.b@example.com"
        assert anna["Phone"] == "'+49301234567"  # E.164 starts with "+": neutralized too
        assert anna["Company"] == "Acme Cars"
        assert anna["Source"] == "web"
        assert anna["Status"] == "New"
        assert anna["Assignee"] == tenant.agent.name
        assert anna["Unit"] == tenant.store.name
        assert anna["Value"] == "12500.00"
        assert anna["Priority"] == "normal"
        assert anna["Tags"] == "car; vip"
        assert anna["Follow-up"] == anna["Closed"] == anna["Close reason"] == ""

    def test_formulas_are_neutralized(self, web, tenant, leads):
        web.login(tenant.admin.email, PASSWORD)
        rows = _by_name(_csv(web.get("/leads/export.csv?source=phone")))
        evil = rows["'" + HYPERLINK]
        assert evil["Company"] == "'-2+3"
        assert evil["E-mail"] == "evil@example.com"

    def test_sorted_like_the_list(self, web, tenant, leads):
        web.login(tenant.admin.email, PASSWORD)
        rows = _csv(web.get("/leads/export.csv?sort=name"))
        names = [row[2] for row in rows[1:]]
        assert names == ["'" + HYPERLINK, "Anna Agent", "Harry Harbour", "Una Unassigned"]

    def test_custom_fields_are_columns(self, web, app, tenant, leads):
        with app.app_context():
            org = db.session.get(Organization, tenant.org.id)
            for key, label, kind in (
                ("budget", "Budget", "money"),
                ("note", "@Note", "text"),
                ("colours", "Colours", "multi_select"),
            ):
                lead_settings.add_custom_field(
                    db.session, org, key=key, label=label, type=kind, options=["red", "blue"]
                )
            db.session.commit()
            custom = {"budget": "1500.5", "note": "=1+1", "colours": ["red", "blue"]}
            _create(
                tenant.org, tenant.admin, name="Carl Custom", phones=["030 5555555"], custom=custom
            )
            db.session.commit()
        web.login(tenant.admin.email, PASSWORD)
        rows = _csv(web.get("/leads/export.csv?name=carl"))
        assert rows[0][-3:] == ["Budget", "'@Note", "Colours"]
        assert rows[1][-3:] == ["1500.50", "'=1+1", "red; blue"]

    def test_the_audit_log_records_the_export(self, web, app, tenant, leads):
        web.login(tenant.admin.email, PASSWORD)
        _csv(web.get("/leads/export.csv?source=web&sort=name"))
        with app.app_context():
            event = db.session.scalars(select(AuditEvent)).one()
            assert event.org_id == tenant.org.id
            assert event.actor_id == tenant.admin.id
            assert event.kind == "export"
            assert event.data == {
                "filters": {"source": "web", "sort": "name"},
                "format": "csv",
                "count": 2,
            }

    def test_a_bad_filter_is_a_400_page(self, web, app, tenant, leads):
        web.login(tenant.admin.email, PASSWORD)
        for query in (
            "time_frame=forever",
            "created_from=2026-13-01",
            "status=open-ish",
            "assignee=somebody",
            "unit=x",
            "follow_up=someday",
        ):
            for suffix in ("csv", "xlsx"):
                response = web.client.get(f"/leads/export.{suffix}?{query}")
                assert response.status_code == 400, query
                assert "Check the filters" in response.get_data(as_text=True)
        page = web.get("/leads/export.csv?time_frame=forever").get_data(as_text=True)
        assert "Use one of: today, yesterday, 7d, 30d, 90d." in page
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0

    @pytest.mark.parametrize(
        "query",
        [
            "unit=99999999999999999999",
            "assignee=99999999999999999999",
            "status=-99999999999999999999",
            "created_from=0001-01-01",
            "created_to=9999-12-31",
            "follow_up=9999-12-31",
            "name=%00",
        ],
    )
    def test_out_of_range_filters_are_never_a_500(self, web, tenant, leads, query):
        web.login(tenant.admin.email, PASSWORD)
        response = web.client.get(f"/leads/export.csv?{query}")
        # 400 where the database or datetime cannot hold the value, else an empty file.
        assert response.status_code in (200, 400), query
        if response.status_code == 200:
            assert _names(_csv(response)) == set()
        if query.startswith(("created_to", "follow_up")):
            assert response.status_code == 400  # these overflow in Python, on any database

    def test_anonymous_is_sent_to_sign_in(self, web, tenant):
        for suffix in ("csv", "xlsx"):
            response = web.client.get(f"/leads/export.{suffix}")
            assert response.status_code == 302
            assert "/login" in response.headers["Location"]


class TestXlsx:
    def test_opens_and_has_the_rows(self, web, tenant, leads):
        before = set(Path(tempfile.gettempdir()).glob("leadtrack-export-*"))
        web.login(tenant.admin.email, PASSWORD)
        response = web.client.get("/leads/export.xlsx?source=web&sort=name")
        assert response.status_code == 200
        assert response.mimetype == lead_export.XLSX_MIMETYPE
        assert int(response.headers["Content-Length"]) == len(response.get_data())
        assert response.headers["Cache-Control"] == "no-store"
        disposition = response.headers["Content-Disposition"]
        assert re.fullmatch(r'attachment; filename="?leads-\d{4}-\d{2}-\d{2}\.xlsx"?', disposition)
        workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
        rows = list(workbook["Leads"].iter_rows(values_only=True))
        assert list(rows[0]) == list(lead_export.EXPORT_COLUMNS)
        assert [row[2] for row in rows[1:]] == ["Anna Agent", "Harry Harbour"]
        anna = dict(zip(rows[0], rows[1], strict=True))
        assert anna["ID"] == leads["anna"]
        assert anna["Value"] == 12500  # a number, not text
        assert anna["Phone"] == "'+49301234567"
        # The temporary workbook is gone once it was sent.
        assert set(Path(tempfile.gettempdir()).glob("leadtrack-export-*")) <= before

    def test_formulas_are_neutralized(self, web, tenant, leads):
        web.login(tenant.admin.email, PASSWORD)
        response = web.client.get("/leads/export.xlsx?source=phone")
        sheet = load_workbook(io.BytesIO(response.get_data()))["Leads"]
        assert sheet.cell(row=2, column=3).value == "'" + HYPERLINK
        assert sheet.cell(row=2, column=3).data_type == "s"  # text, never a formula

    def test_control_characters_do_not_break_the_file(self, app, ctx, tenant):
        # Intake refuses control characters now; rows stored before (or by SQL) may have them.
        lead = _create(tenant.org, tenant.admin, name="Bell Boy", phones=["030 7777777"])
        db.session.execute(update(Lead).where(Lead.id == lead).values(name="Bell\x07 Boy"))
        db.session.commit()
        org = db.session.get(Organization, tenant.org.id)
        admin = db.session.get(User, tenant.admin.id)
        stmt = lead_query.build_query(db.session, org, admin, LeadFilters(), NOW)
        path = lead_export.xlsx_file(db.session, stmt, org)
        try:
            rows = list(load_workbook(path)["Leads"].iter_rows(values_only=True))
        finally:
            path.unlink()
        assert rows[1][2] == "Bell Boy"


class TestPrivilegeAndScope:
    def test_agent_without_the_privilege_is_refused(self, web, app, tenant, leads):
        web.login(tenant.agent.email, PASSWORD)
        assert web.get("/leads/export.csv").status_code == 403
        assert web.client.get("/leads/export.xlsx").status_code == 403
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0

    def test_receptionist_without_the_privilege_is_refused(self, web, tenant, leads):
        web.login(tenant.receptionist.email, PASSWORD)
        assert web.get("/leads/export.csv").status_code == 403

    def test_agent_with_the_privilege_exports_only_their_own_leads(self, web, app, tenant, leads):
        _grant_export(app, tenant.agent.id)
        web.login(tenant.agent.email, PASSWORD)
        assert _names(_csv(web.get("/leads/export.csv"))) == {"Anna Agent", "'" + HYPERLINK}
        workbook = load_workbook(io.BytesIO(web.client.get("/leads/export.xlsx").get_data()))
        assert workbook["Leads"].max_row == 3

    def test_privilege_taken_away_from_a_manager(self, web, app, tenant, leads):
        with app.app_context():
            manager = db.session.get(User, tenant.store_manager.id)
            users.set_privilege_overrides(manager, {Privilege.EXPORT_LEADS: False})
            db.session.commit()
        web.login(tenant.store_manager.email, PASSWORD)
        assert web.get("/leads/export.csv").status_code == 403

    def test_a_manager_sees_only_their_subtree(self, web, other_web, tenant, leads):
        web.login(tenant.store_manager.email, PASSWORD)
        assert _names(_csv(web.get("/leads/export.csv"))) == {"Anna Agent", "'" + HYPERLINK}
        other_web.login(tenant.area_manager.email, PASSWORD)
        assert _names(_csv(other_web.get("/leads/export.csv"))) == {
            "Anna Agent",
            "'" + HYPERLINK,
            "Harry Harbour",
        }

    def test_filters_cannot_widen_the_scope(self, web, tenant, leads):
        web.login(tenant.store_manager.email, PASSWORD)
        rows = _csv(web.get(f"/leads/export.csv?assignee={tenant.other_agent.id}"))
        assert rows[1:] == []
        rows = _csv(web.get(f"/leads/export.csv?unit={tenant.other_store.id}"))
        assert rows[1:] == []

    def test_another_organization_never_appears(self, web, other_web, tenant, other_tenant, leads):
        web.login(tenant.admin.email, PASSWORD)
        body = web.get("/leads/export.csv").get_data(as_text=True)
        assert "Gloria" not in body and "gloria@" not in body
        assert _names(_csv(web.get("/leads/export.csv"))) == {
            "Anna Agent",
            "'" + HYPERLINK,
            "Harry Harbour",
            "Una Unassigned",
        }
        other_web.login(other_tenant.admin.email, PASSWORD)
        assert _names(_csv(other_web.get("/leads/export.csv"))) == {"Gloria Globex"}
        xlsx = other_web.client.get("/leads/export.xlsx").get_data()
        rows = list(load_workbook(io.BytesIO(xlsx))["Leads"].iter_rows(values_only=True))
        assert [row[2] for row in rows[1:]] == ["Gloria Globex"]


class TestService:
    @pytest.mark.parametrize(
        ("cell", "expected"),
        [
            ("=1+1", "'=1+1"),
            ("+4930123", "'+4930123"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Anna", "Anna"),
            ("a=b", "a=b"),
            ("", ""),
            (None, None),
            (-5, -5),
            (Decimal("-1.50"), Decimal("-1.50")),
        ],
    )
    def test_neutralize(self, cell, expected):
        assert lead_export.neutralize(cell) == expected

    def test_small_chunks_give_the_same_rows(self, ctx, tenant, leads):
        org = db.session.get(Organization, tenant.org.id)
        admin = db.session.get(User, tenant.admin.id)
        stmt = lead_query.sorted_query(
            lead_query.build_query(db.session, org, admin, LeadFilters(), NOW), "name"
        )
        whole = list(lead_export.iter_rows(db.session, stmt, org))
        assert len(whole) == 4
        assert list(lead_export.iter_rows(db.session, stmt, org, chunk_size=1)) == whole
        chunks = list(lead_export.iter_chunks(db.session, stmt, org, chunk_size=3))
        assert [len(chunk) for chunk in chunks] == [3, 1]
        text = "".join(lead_export.csv_stream(db.session, stmt, org, chunk_size=2))
        assert len(list(csv.reader(io.StringIO(text[1:])))) == 5

    def test_per_lead_history_only_for_small_exports(self, ctx, tenant, leads):
        org = db.session.get(Organization, tenant.org.id)
        admin = db.session.get(User, tenant.admin.id)
        assert (
            lead_export.record_lead_events(
                db.session, org, admin, [leads["anna"], leads["una"]], "csv", NOW
            )
            == 2
        )
        db.session.commit()
        kinds = db.session.scalars(
            select(LeadEvent.kind).where(LeadEvent.lead_id == leads["anna"])
        ).all()
        assert "exported" in kinds
        with pytest.raises(ValueError, match="at most 1000"):
            lead_export.record_lead_events(
                db.session, org, admin, list(range(lead_export.MAX_LEAD_EVENTS + 1)), "csv", NOW
            )
