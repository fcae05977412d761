"""The rule editor, the simulator and the rule history (org admins, `manage_rules`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("rules", __name__, url_prefix="/settings/rules")
