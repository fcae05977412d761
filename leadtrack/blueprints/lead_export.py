"""Export of the filtered lead list to CSV and XLSX (with the export privilege)."""

from flask import Blueprint

bp = Blueprint("lead_export", __name__, url_prefix="/leads")
