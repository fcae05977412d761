"""Organization admin: lead statuses, sources, custom fields and the product catalogue."""

from flask import Blueprint

bp = Blueprint("lead_settings", __name__, url_prefix="/settings")
