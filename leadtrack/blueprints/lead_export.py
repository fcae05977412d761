"""Export of the filtered lead list to CSV and XLSX (with the export privilege)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    make_response,
    render_template,
    request,
    send_file,
    stream_with_context,
)
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, privilege_required
from leadtrack.extensions import db
from leadtrack.models import Organization, Privilege
from leadtrack.services import lead_export
from leadtrack.services.errors import ValidationError
from leadtrack.services.lead_query import LeadFilters
from leadtrack.timeutil import utcnow

bp = Blueprint("lead_export", __name__, url_prefix="/leads")
NO_STORE = {"Cache-Control": "no-store"}


def _prepare(org: Organization, fmt: str) -> lead_export.Export:
    """The export of the list as the query string filters it, recorded in the audit log and
    committed before a byte is sent; a bad filter ends the request with a 400 page."""
    try:
        export = lead_export.prepare(
            db.session, org, current_user, LeadFilters.from_args(request.args), fmt, utcnow()
        )
    except ValidationError as exc:
        db.session.rollback()
        text = "Check the filters: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        page = render_template("error.html", status=400, title="Bad filter", text=text)
        abort(make_response(page, 400))
    db.session.commit()  # the audit entry stands even if the download breaks off
    return export


@bp.get("/export.csv")
@privilege_required(Privilege.EXPORT_LEADS)
def export_csv():
    org = current_org()
    export = _prepare(org, "csv")
    chunks = lead_export.csv_stream(db.session, export.stmt, org)
    response = Response(stream_with_context(chunks), content_type=lead_export.CSV_MIMETYPE)
    response.headers.update(NO_STORE)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@bp.get("/export.xlsx")
@privilege_required(Privilege.EXPORT_LEADS)
def export_xlsx():
    org = current_org()
    export = _prepare(org, "xlsx")
    # A workbook is a zip: it is written whole to a temporary file, then sent in blocks.
    path = lead_export.xlsx_file(db.session, export.stmt, org)
    handle, size = lead_export.open_and_unlink(path)
    response = send_file(
        handle,
        mimetype=lead_export.XLSX_MIMETYPE,
        as_attachment=True,
        download_name=export.filename,
        max_age=0,
    )
    response.content_length = size
    response.headers.update(NO_STORE)
    return response
