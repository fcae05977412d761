"""The CSV export on PostgreSQL: one `COPY (SELECT …) TO STDOUT` that formats every cell in
the database, so the rows never become Python objects (several times faster than the
portable path in `lead_export`, which SQLite and the XLSX file use).

The cells are the portable path's, cell for cell: times in the organization's zone as
"YYYY-MM-DD HH:MM", contacts and tags joined with "; ", names looked up, custom values by
type, and every text cell that a spreadsheet would run as a formula neutralized with a
leading apostrophe. Empty cells are NULL, which COPY writes as nothing (an empty string
would come out as `""`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, bindparam, case, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.orm import Session

from leadtrack.models import FieldType, Lead, LeadEmail, LeadPhone, LeadStatus, LeadTag, Unit, User

TRIGGERS = ["=", "+", "-", "@", "\t", "\r"]
FLUSH_BYTES = 256 * 1024


def csv_rows(session: Session, stmt: Select[Any], layout) -> Iterator[str]:
    """The data rows of the export as CSV text chunks (no BOM, no header)."""
    query = export_select(stmt, layout)
    connection = session.connection()
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    sql = f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)"
    raw = connection.connection.dbapi_connection
    with raw.cursor() as cursor:
        # The contact and tag aggregates of a big export hash better in memory than on disk;
        # LOCAL: only for this transaction.
        cursor.execute("SET LOCAL work_mem = '128MB'")
        yield from _copy_out(cursor, sql, compiled.params)


def _copy_out(cursor, sql: str, params) -> Iterator[str]:
    pending: list[bytes] = []
    size = 0
    with cursor.copy(sql, params) as copy:
        for data in copy:
            pending.append(bytes(data))
            size += len(data)
            if size >= FLUSH_BYTES:
                yield b"".join(pending).decode()
                pending, size = [], 0
    if pending:
        yield b"".join(pending).decode()


def export_select(stmt: Select[Any], layout) -> Select[Any]:
    """The filtered, sorted select of leads turned into export cells. Contacts and tags are
    aggregated once for the exported ids (hash joins), not looked up lead by lead."""
    zone = bindparam("export_zone", layout.timezone)
    time_format = bindparam("export_time_format", "YYYY-MM-DD HH24:MI")
    separator = bindparam("export_separator", "; ")
    ids = stmt.with_only_columns(Lead.id.label("id")).order_by(None).cte("export_ids")

    def local(column):
        return func.to_char(func.timezone(zone, column), time_format)

    def joined(model, column, order):
        aggregate = func.string_agg(column, aggregate_order_by(separator, order))
        return (
            select(model.lead_id.label("lead_id"), aggregate.label("cell"))
            .join(ids, ids.c.id == model.lead_id)
            .group_by(model.lead_id)
            .subquery()
        )

    emails = joined(LeadEmail, LeadEmail.email, LeadEmail.position)
    phones = joined(LeadPhone, LeadPhone.phone, LeadPhone.position)
    tags = joined(LeadTag, LeadTag.tag, LeadTag.tag)
    columns = [
        Lead.id,
        local(Lead.created_at),
        text(Lead.name),
        text(emails.c.cell),
        text(phones.c.cell),
        text(Lead.company),
        text(Lead.address),
        text(Lead.district),
        text(Lead.division),
        text(Lead.profession),
        text(Lead.source),
        text(LeadStatus.name),
        text(User.name),
        text(Unit.name),
        Lead.value,
        func.nullif(Lead.temperature, ""),
        func.nullif(Lead.priority, ""),
        text(tags.c.cell),
        local(Lead.follow_up_at),
        local(Lead.closed_at),
        text(Lead.close_reason),
        *(custom_cell(column, separator) for column in layout.columns),
    ]
    return (
        stmt.with_only_columns(*columns)
        .outerjoin(emails, emails.c.lead_id == Lead.id)
        .outerjoin(phones, phones.c.lead_id == Lead.id)
        .outerjoin(tags, tags.c.lead_id == Lead.id)
        .outerjoin(LeadStatus, LeadStatus.id == Lead.status_id)
        .outerjoin(User, User.id == Lead.assignee_id)
        .outerjoin(Unit, Unit.id == Lead.unit_id)
    )


def text(expression):
    """A text cell: empty is NULL, and a would-be formula gets a leading apostrophe."""
    value = func.nullif(expression, "")
    return case((func.left(value, 1).in_(TRIGGERS), literal("'") + value), else_=value)


def custom_cell(column, separator):
    value = cast(Lead.custom, JSONB)[column.key]
    kind = func.jsonb_typeof(value)
    as_text = value.astext
    if column.type == FieldType.MONEY:
        plain = func.nullif(as_text, "")
    elif column.type == FieldType.NUMBER:
        plain = case((kind == "number", as_text), else_=text(as_text))
    else:
        items = select(func.string_agg(literal_column("value"), separator)).select_from(
            func.jsonb_array_elements_text(value)
        )
        plain = case((kind == "array", text(items.scalar_subquery())), else_=text(as_text))
    return case(
        (kind == "boolean", case((as_text == "true", "yes"), else_="no")),
        else_=plain,
    )
