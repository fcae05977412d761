"""Lead pages: the list, a lead, new lead, follow-ups."""

from flask import Blueprint

bp = Blueprint("leads", __name__, url_prefix="/leads")
