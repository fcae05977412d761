"""SQLAlchemy models, one module per aggregate."""

from leadtrack.models.api_key import SCOPES, ApiKey
from leadtrack.models.base import Base
from leadtrack.models.catalog import (
    BUILTIN_SOURCES,
    DEFAULT_STATUSES,
    Brand,
    CustomField,
    FieldType,
    LeadSource,
    LeadStatus,
    Product,
    ProductCategory,
    StatusCategory,
)
from leadtrack.models.lead import (
    PRIORITIES,
    TEMPERATURES,
    Activity,
    ActivityKind,
    AuditEvent,
    IdempotencyRecord,
    Lead,
    LeadEmail,
    LeadEvent,
    LeadPhone,
    LeadTag,
)
from leadtrack.models.notification import (
    AlertPreferences,
    AlertSettings,
    ChannelName,
    DeliveryStatus,
    Notification,
    NotificationTemplate,
)
from leadtrack.models.organization import WEEKDAYS, Holiday, Organization
from leadtrack.models.roles import ORG_ROLES, Privilege, Role
from leadtrack.models.unit import UNIT_KINDS, Unit
from leadtrack.models.user import OutOfOffice, User

__all__ = [
    "BUILTIN_SOURCES",
    "DEFAULT_STATUSES",
    "ORG_ROLES",
    "PRIORITIES",
    "SCOPES",
    "TEMPERATURES",
    "UNIT_KINDS",
    "WEEKDAYS",
    "Activity",
    "ActivityKind",
    "AlertPreferences",
    "AlertSettings",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Brand",
    "ChannelName",
    "CustomField",
    "DeliveryStatus",
    "FieldType",
    "Holiday",
    "IdempotencyRecord",
    "Lead",
    "LeadEmail",
    "LeadEvent",
    "LeadPhone",
    "LeadSource",
    "LeadStatus",
    "LeadTag",
    "Notification",
    "NotificationTemplate",
    "Organization",
    "OutOfOffice",
    "Privilege",
    "Product",
    "ProductCategory",
    "Role",
    "StatusCategory",
    "Unit",
    "User",
]
