"""/api/v1/leads: intake, list, read, update, activities, history."""

from leadtrack.blueprints.api import api_v1  # noqa: F401 - routes are added to this blueprint
