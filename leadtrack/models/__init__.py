"""SQLAlchemy models, one module per aggregate."""

from leadtrack.models.api_key import SCOPES, ApiKey
from leadtrack.models.base import Base
from leadtrack.models.organization import WEEKDAYS, Holiday, Organization
from leadtrack.models.roles import ORG_ROLES, Privilege, Role
from leadtrack.models.unit import UNIT_KINDS, Unit
from leadtrack.models.user import OutOfOffice, User

__all__ = [
    "ORG_ROLES",
    "SCOPES",
    "UNIT_KINDS",
    "WEEKDAYS",
    "ApiKey",
    "Base",
    "Holiday",
    "Organization",
    "OutOfOffice",
    "Privilege",
    "Role",
    "Unit",
    "User",
]
