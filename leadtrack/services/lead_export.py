"""Export of the filtered lead list to CSV and XLSX, streamed, with formula neutralization.

How it stays fast and small at 1,000,000 leads:
- the filtered, scoped select of `lead_query.build_query` is narrowed to plain columns (no ORM
  objects) and read with `yield_per` (a server-side cursor on PostgreSQL), one chunk of
  `CHUNK_SIZE` rows at a time; nothing holds more than one chunk;
- the contact details that are not on the lead row (the second and later e-mails and phones;
  `primary_email`/`primary_phone` are denormalized on the lead) and the tags come with one IN
  query per chunk each, the chunk's ids passed as one parameter (see `_Lookups`); names of
  assignees and units with one IN query per chunk for the ids not seen before (then cached);
  statuses and custom fields once per export (`Layout`, read before the response streams);
- CSV is written by the `csv` module into a buffer that is handed out per chunk; XLSX by
  openpyxl's write-only workbook into a temporary file (inline strings: no shared-string table
  in memory), which is then streamed and deleted.

Neutralization (OWASP "CSV injection"): a text cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return gets a leading apostrophe, so no spreadsheet reads it as a formula. That
includes phone numbers in E.164 ("+4930…" comes out as "'+4930…"): the rule has no exceptions,
because a cell that looks like a phone number is exactly what an attacker would type. Numbers
(id, value, numeric custom fields) are written as numbers and left alone; dates are written by
us and start with a digit.

History: the issue asks for exports to be "recorded in history/audit". One `LeadEvent` per
exported lead would mean a million history rows (and a long write transaction) for one
export of 1,000,000 leads, so every export records exactly one organization-level
`AuditEvent(kind="export")` with the filters, the format and the row count
(`record_export`). `record_lead_events` adds the per-lead "exported" history lines for a small
export; it refuses more than `MAX_LEAD_EVENTS` leads and the routes do not call it today.
The count is taken just before the rows are read; leads that arrive in between may make the
file differ from it by a few rows.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.exc import DataError, StatementError
from sqlalchemy.orm import Session

from leadtrack.models import (
    AuditEvent,
    FieldType,
    Lead,
    LeadEmail,
    LeadEvent,
    LeadPhone,
    LeadStatus,
    LeadTag,
    Organization,
    Unit,
    User,
)
from leadtrack.services import lead_query, lead_settings
from leadtrack.services.errors import ValidationError
from leadtrack.services.lead_query import LeadFilters
from leadtrack.timeutil import to_zone

EXPORT_COLUMNS = (
    "ID",
    "Created",
    "Name",
    "E-mail",
    "Phone",
    "Company",
    "Address",
    "District",
    "Division",
    "Profession",
    "Source",
    "Status",
    "Assignee",
    "Unit",
    "Value",
    "Temperature",
    "Priority",
    "Tags",
    "Follow-up",
    "Closed",
    "Close reason",
)
FORMATS = ("csv", "xlsx")
CHUNK_SIZE = 2000
MAX_LEAD_EVENTS = 1000
XLSX_MAX_ROWS = 1_048_576  # per sheet, header included; more leads continue on a new sheet
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
SEPARATOR = "; "

_TRIGGERS = frozenset("=+-@\t\r")

# The lead columns read per row, in this order (custom values are appended when needed).
_LEAD_COLUMNS = (
    Lead.id,
    Lead.created_at,
    Lead.name,
    Lead.primary_email,
    Lead.primary_phone,
    Lead.company,
    Lead.address,
    Lead.district,
    Lead.division,
    Lead.profession,
    Lead.source,
    Lead.status_id,
    Lead.assignee_id,
    Lead.unit_id,
    Lead.value,
    Lead.temperature,
    Lead.priority,
    Lead.follow_up_at,
    Lead.closed_at,
    Lead.close_reason,
)


def neutralize(cell: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(cell, str) and cell and cell[0] in _TRIGGERS:
        return "'" + cell
    return cell


def _text(value: str | None) -> str:
    """`neutralize` for a value known to be text or None (the hot path)."""
    if not value:
        return ""
    return "'" + value if value[0] in _TRIGGERS else value


# -- the export of one request --------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """A prepared export: what to read, how many rows it had, and the file's name."""

    stmt: Select[Any]
    count: int
    filename: str
    fmt: str


def prepare(
    session: Session,
    org: Organization,
    actor: User,
    filters: LeadFilters,
    fmt: str,
    now: datetime,
) -> Export:
    """Build the scoped, filtered, sorted query, count it and record the export in the audit
    log (the caller commits). Raises ValidationError for a bad filter, before anything is
    recorded (the caller rolls back)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    try:
        stmt = lead_query.build_query(session, org, actor, filters, now)
        count = lead_query.count(session, stmt, cap=None)
    except (OverflowError, StatementError) as exc:
        # A filter value that datetime or the database cannot take (PostgreSQL refuses NUL
        # characters; a number or date out of range, should lead_query let one through) is a
        # bad filter, not a server error. The count is the first statement that carries the
        # filters, so the export itself cannot fail this way afterwards.
        if isinstance(exc, StatementError) and not _bad_parameter(exc):
            raise
        raise ValidationError(
            {"filters": "A number, date or text in the filters is out of range."}
        ) from exc
    record_export(session, org, actor, filters.active(), fmt, count, now)
    day = to_zone(now, org.timezone).date().isoformat()
    stmt = lead_query.sorted_query(stmt, filters.sort)
    return Export(stmt=stmt, count=count, filename=f"leads-{day}.{fmt}", fmt=fmt)


def _bad_parameter(exc: StatementError) -> bool:
    return isinstance(exc, DataError) or isinstance(exc.orig, OverflowError | ValueError)


def record_export(
    session: Session,
    org: Organization,
    actor_user: User | None,
    filters_dict: dict[str, str],
    fmt: str,
    count: int,
    now: datetime,
) -> AuditEvent:
    event = AuditEvent(
        org_id=org.id,
        at=now,
        actor_id=actor_user.id if actor_user is not None else None,
        kind="export",
        data={"filters": dict(filters_dict), "format": fmt, "count": count},
    )
    session.add(event)
    session.flush()
    return event


def record_lead_events(
    session: Session,
    org: Organization,
    actor_user: User | None,
    lead_ids: Sequence[int],
    fmt: str,
    now: datetime,
    via: str = "web",
) -> int:
    """One "exported" line in the history of each lead of a small export (one bulk insert).
    Refuses more than MAX_LEAD_EVENTS leads: large exports live in the audit log only."""
    if len(lead_ids) > MAX_LEAD_EVENTS:
        raise ValueError(f"at most {MAX_LEAD_EVENTS} per-lead export events, not {len(lead_ids)}")
    if not lead_ids:
        return 0
    actor_id = actor_user.id if actor_user is not None else None
    rows = [
        {
            "org_id": org.id,
            "lead_id": lead_id,
            "at": now,
            "actor_id": actor_id,
            "via": via,
            "kind": "exported",
            "data": {"format": fmt},
        }
        for lead_id in lead_ids
    ]
    session.execute(insert(LeadEvent), rows)
    return len(rows)


# -- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A custom field as an export column (plain values: usable after its session is gone)."""

    key: str
    label: str
    type: str


@dataclass(frozen=True)
class Layout:
    """What an export needs of its organization, read once up front: a streamed response runs
    after the request's session is closed, so it must not touch the request's ORM objects."""

    org_id: int
    timezone: str
    columns: tuple[Column, ...]

    @classmethod
    def of(cls, session: Session, org: Organization) -> Layout:
        fields = lead_settings.custom_fields(session, org.id)  # active ones, in their order
        columns = tuple(Column(f.key, f.label, str(f.type)) for f in fields)
        return cls(org_id=org.id, timezone=org.timezone, columns=columns)

    @property
    def header(self) -> list[str]:
        return [*EXPORT_COLUMNS, *(_text(c.label) for c in self.columns)]


def iter_rows(
    session: Session,
    stmt: Select[Any],
    org: Organization,
    layout: Layout | None = None,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[list[Any]]:
    """The data rows (no header) of the leads `stmt` selects, in its order."""
    for chunk in iter_chunks(session, stmt, org, layout, chunk_size=chunk_size):
        yield from chunk


def iter_chunks(
    session: Session,
    stmt: Select[Any],
    org: Organization | None,
    layout: Layout | None = None,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[list[list[Any]]]:
    """The data rows in lists of at most `chunk_size`, read with a streaming cursor.

    `stmt` is a select of Lead (from `lead_query.build_query`, sorted or not); only the
    columns the export needs are read. With a `layout`, `org` is not used.
    """
    if layout is None:
        if org is None:
            raise ValueError("give the organization or its layout")
        layout = Layout.of(session, org)
    names = _Names(session, layout.org_id)
    zone = ZoneInfo(layout.timezone)
    custom = [(c.key, _custom_cell(c)) for c in layout.columns]
    columns = (*_LEAD_COLUMNS, Lead.custom) if custom else _LEAD_COLUMNS
    narrow = stmt.with_only_columns(*columns).execution_options(yield_per=chunk_size)
    result = session.connection().execute(narrow)
    try:
        for partition in result.partitions(chunk_size):
            yield _chunk_rows(session, partition, names, zone, custom)
    finally:
        result.close()


def _chunk_rows(session, partition, names: _Names, zone: ZoneInfo, custom) -> list[list[Any]]:
    """One chunk of lead rows as export rows: a few lookups for the chunk, then one pass."""
    conn = session.connection()
    ids = [row[0] for row in partition]
    emails = _contact_cells(conn, LeadEmail, partition, 3, ids)
    phones = _contact_cells(conn, LeadPhone, partition, 4, ids)
    tags = _tags(conn, ids)
    names.load_users({row[12] for row in partition if row[12] is not None})
    names.load_units({row[13] for row in partition if row[13] is not None})
    statuses, users, units = names.statuses, names.users, names.units
    text = _text  # a local name: this loop runs a million times

    rows: list[list[Any]] = []
    append = rows.append
    for row in partition:
        (
            lead_id,
            created,
            name,
            email,
            phone,
            company,
            address,
            district,
            division,
            profession,
            source,
            status_id,
            assignee_id,
            unit_id,
            value,
            temperature,
            priority,
            follow_up,
            closed,
            close_reason,
            *extra,
        ) = row
        out = [
            lead_id,
            created.astimezone(zone).isoformat(" ", "minutes")[:16],  # YYYY-MM-DD HH:MM
            text(name),
            emails.get(lead_id) or text(email),
            phones.get(lead_id) or text(phone),
            text(company),
            text(address),
            text(district),
            text(division),
            text(profession),
            text(source),
            statuses.get(status_id, ""),
            users.get(assignee_id, ""),
            units.get(unit_id, ""),
            value,
            temperature or "",
            priority or "",
            tags.get(lead_id, ""),
            follow_up.astimezone(zone).isoformat(" ", "minutes")[:16] if follow_up else "",
            closed.astimezone(zone).isoformat(" ", "minutes")[:16] if closed else "",
            text(close_reason),
        ]
        if custom:
            values = extra[0] or {}
            out += [convert(values.get(key)) for key, convert in custom]
        append(out)
    return rows


def _contact_cells(conn, model, partition, column: int, ids: list[int]) -> dict[int, str]:
    """lead id -> its e-mail (or phone) cell, for the leads of the chunk that have more than
    the one on their row: the primary, then the others in order, joined."""
    primary = {row[0]: row[column] for row in partition}
    bare = [lead_id for lead_id, value in primary.items() if not value]
    cells = {}
    for lead_id, others in _contacts(conn, model, ids, bare).items():
        first = primary.get(lead_id)
        items = [first] if first else []
        items += [item for item in others if item not in items]
        cells[lead_id] = _text(SEPARATOR.join(items))
    return cells


class _Lookups:
    """The per-chunk lookup statements, built once per dialect. A chunk's lead ids travel as
    one parameter: an array on PostgreSQL (`= ANY(:ids)`), a JSON text on SQLite
    (`IN (SELECT value FROM json_each(:ids))`); rendering 2,000 bound parameters per query
    (a plain expanding IN, kept for other databases) costs more than the query itself."""

    _built: ClassVar[dict[str, _Lookups]] = {}

    def __init__(self, dialect: str):
        self.dialect = dialect
        self.contacts = {
            model: select(model.lead_id, column)
            .where(
                self._in(model.lead_id, "ids"),
                or_(model.position > 0, self._in(model.lead_id, "bare")),
            )
            .order_by(model.lead_id, model.position)
            for model, column in ((LeadEmail, LeadEmail.email), (LeadPhone, LeadPhone.phone))
        }
        self.tags = (
            select(LeadTag.lead_id, LeadTag.tag)
            .where(self._in(LeadTag.lead_id, "ids"))
            .order_by(LeadTag.lead_id, LeadTag.tag)
        )

    @classmethod
    def of(cls, conn) -> _Lookups:
        name = conn.dialect.name
        if name not in cls._built:
            cls._built[name] = cls(name)
        return cls._built[name]

    def _in(self, column, name: str):
        if self.dialect == "postgresql":
            return column == any_(bindparam(name, type_=ARRAY(Integer())))
        if self.dialect == "sqlite":
            each = select(literal_column("value")).select_from(
                func.json_each(bindparam(name, type_=String()))
            )
            return column.in_(each.scalar_subquery())
        return column.in_(bindparam(name, expanding=True, type_=Integer()))

    def ids(self, ids: list[int]) -> Any:
        return json.dumps(ids) if self.dialect == "sqlite" else ids


def _contacts(conn, model, ids: list[int], bare: list[int]) -> dict[int, list[str]]:
    """lead id -> its contacts after the first, in order (all of them for the `bare` leads,
    whose row has no primary); most leads have one contact, so this returns few rows."""
    lookups = _Lookups.of(conn)
    found: dict[int, list[str]] = {}
    params = {"ids": lookups.ids(ids), "bare": lookups.ids(bare)}
    for lead_id, value in conn.execute(lookups.contacts[model], params):
        found.setdefault(lead_id, []).append(value)
    return found


def _tags(conn, ids: list[int]) -> dict[int, str]:
    """lead id -> its tags as one cell."""
    lookups = _Lookups.of(conn)
    found: dict[int, list[str]] = {}
    for lead_id, tag in conn.execute(lookups.tags, {"ids": lookups.ids(ids)}):
        found.setdefault(lead_id, []).append(tag)
    return {lead_id: _text(SEPARATOR.join(tags)) for lead_id, tags in found.items()}


class _Names:
    """Display names of statuses, people and units, loaded once and cached per export."""

    def __init__(self, session: Session, org_id: int):
        self.session = session
        self.org_id = org_id
        rows = session.execute(
            select(LeadStatus.id, LeadStatus.name).where(LeadStatus.org_id == org_id)
        )
        self.statuses = {status_id: _text(name) for status_id, name in rows}
        self.users: dict[int, str] = {}
        self.units: dict[int, str] = {}

    def load_users(self, ids: set[int]) -> None:
        self._load(User, ids - self.users.keys(), self.users)

    def load_units(self, ids: set[int]) -> None:
        self._load(Unit, ids - self.units.keys(), self.units)

    def _load(self, model, missing: set[int], cache: dict[int, str]) -> None:
        if not missing:
            return
        stmt = select(model.id, model.name).where(model.id.in_(missing))
        for row_id, name in self.session.connection().execute(stmt):
            cache[row_id] = _text(name)
        for row_id in missing - cache.keys():
            cache[row_id] = ""


def _custom_cell(column: Column):
    """How one custom field's stored JSON value becomes a cell."""
    kind = column.type

    def convert(value: Any) -> Any:
        if value is None or value == "" or value == []:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if kind == FieldType.MONEY:
            try:
                return Decimal(str(value))
            except ArithmeticError:
                return _text(str(value))
        if kind == FieldType.NUMBER and isinstance(value, int | float):
            return value
        if isinstance(value, list):
            return _text(SEPARATOR.join(str(item) for item in value))
        return _text(str(value))

    return convert


# -- files ----------------------------------------------------------------------------------


def csv_stream(
    session: Session,
    stmt: Select[Any],
    org: Organization,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[str]:
    """The CSV as text chunks: a BOM (so Excel reads UTF-8) and the header, then one chunk
    per `chunk_size` rows. The organization is read now; the rows when the chunks are."""
    layout = Layout.of(session, org)
    return _csv_chunks(session, stmt, layout, chunk_size)


def _csv_chunks(session: Session, stmt: Select[Any], layout: Layout, chunk_size: int):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(layout.header)
    yield BOM + buffer.getvalue()
    if session.get_bind().dialect.name == "postgresql":
        from leadtrack.services import lead_export_pg

        yield from lead_export_pg.csv_rows(session, stmt, layout)
        return
    for chunk in iter_chunks(session, stmt, None, layout, chunk_size=chunk_size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(chunk)
        yield buffer.getvalue()


def xlsx_file(
    session: Session,
    stmt: Select[Any],
    org: Organization,
    *,
    directory: str | os.PathLike[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Path:
    """Write the workbook to a new temporary file and return its path; the caller deletes
    it (`open_and_unlink`). A failure deletes the file before re-raising."""
    layout = Layout.of(session, org)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Leads")
    sheet.append(layout.header)
    used, sheets = 1, 1
    handle, name = tempfile.mkstemp(prefix="leadtrack-export-", suffix=".xlsx", dir=directory)
    os.close(handle)
    path = Path(name)
    try:
        for chunk in iter_chunks(session, stmt, None, layout, chunk_size=chunk_size):
            for row in chunk:
                if used >= XLSX_MAX_ROWS:
                    sheets += 1
                    sheet = workbook.create_sheet(f"Leads {sheets}")
                    sheet.append(layout.header)
                    used = 1
                sheet.append([_xlsx_cell(cell) for cell in row])
                used += 1
        workbook.save(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _xlsx_cell(cell: Any) -> Any:
    """XML cannot hold most control characters; openpyxl would refuse the whole file."""
    if isinstance(cell, str) and cell:
        return ILLEGAL_CHARACTERS_RE.sub("", cell)
    return cell


def open_and_unlink(path: Path) -> tuple[BinaryIO, int]:
    """Open the file and delete its name at once: the open handle keeps the data readable
    until it is closed, and nothing is left behind even if the process dies mid-download.
    Returns the handle and the file's size."""
    handle = path.open("rb")
    path.unlink(missing_ok=True)
    return handle, os.fstat(handle.fileno()).st_size
