"""Per-organization lead settings: statuses, sources, custom fields, the product catalogue."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtrack.models import (
    BUILTIN_SOURCES,
    DEFAULT_STATUSES,
    Brand,
    CustomField,
    FieldType,
    Lead,
    LeadSource,
    LeadStatus,
    Organization,
    Product,
    ProductCategory,
    StatusCategory,
)
from leadtrack.services.errors import NotFound, ValidationError

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def ensure_defaults(session: Session, org: Organization) -> None:
    """Give a new organization the default statuses and the built-in sources."""
    if not session.scalar(select(func.count()).where(LeadStatus.org_id == org.id)):
        for position, (name, category) in enumerate(DEFAULT_STATUSES):
            session.add(LeadStatus(org_id=org.id, name=name, category=category, position=position))
    if not session.scalar(select(func.count()).where(LeadSource.org_id == org.id)):
        for code, name in BUILTIN_SOURCES.items():
            session.add(LeadSource(org_id=org.id, code=code, name=name, builtin=True))
    session.flush()


def statuses(session: Session, org_id: int, active_only: bool = True) -> list[LeadStatus]:
    stmt = select(LeadStatus).where(LeadStatus.org_id == org_id)
    if active_only:
        stmt = stmt.where(LeadStatus.active.is_(True))
    return list(session.scalars(stmt.order_by(LeadStatus.position, LeadStatus.id)))


def initial_status(session: Session, org_id: int) -> LeadStatus:
    for status in statuses(session, org_id):
        if status.category == StatusCategory.NEW:
            return status
    raise ValidationError({"status": "The organization has no status of the 'new' category."})


def sources(session: Session, org_id: int, active_only: bool = True) -> list[LeadSource]:
    stmt = select(LeadSource).where(LeadSource.org_id == org_id)
    if active_only:
        stmt = stmt.where(LeadSource.active.is_(True))
    return list(session.scalars(stmt.order_by(LeadSource.builtin.desc(), LeadSource.name)))


def custom_fields(session: Session, org_id: int, active_only: bool = True) -> list[CustomField]:
    stmt = select(CustomField).where(CustomField.org_id == org_id)
    if active_only:
        stmt = stmt.where(CustomField.active.is_(True))
    return list(session.scalars(stmt.order_by(CustomField.position, CustomField.id)))


def products(session: Session, org_id: int) -> list[Product]:
    return list(
        session.scalars(
            select(Product)
            .where(Product.org_id == org_id, Product.active.is_(True))
            .order_by(Product.name, Product.variant)
        )
    )


def add_status(session: Session, org: Organization, name: str, category: str) -> LeadStatus:
    errors = {}
    name = name.strip()
    if not name or len(name) > 60:
        errors["name"] = "Name the status (at most 60 characters)."
    if category not in StatusCategory.__members__.values():
        errors["category"] = "Pick a category: new, open, won, lost or dead."
    if name and _exists(session, LeadStatus, org.id, LeadStatus.name, name):
        errors["name"] = "There is already a status with this name."
    if errors:
        raise ValidationError(errors)
    position = len(statuses(session, org.id, active_only=False))
    status = LeadStatus(org_id=org.id, name=name, category=category, position=position)
    session.add(status)
    session.flush()
    return status


def set_status_active(session: Session, org: Organization, status_id: int, active: bool) -> None:
    status = _owned(session, LeadStatus, org.id, status_id)
    if not active:
        same_category = [
            s for s in statuses(session, org.id) if s.category == status.category and s.active
        ]
        if status.category == StatusCategory.NEW and len(same_category) <= 1:
            raise ValidationError({"status": "Keep at least one status of the 'new' category."})
        in_use = session.scalar(select(func.count()).where(Lead.status_id == status.id))
        if in_use:
            raise ValidationError(
                {"status": f"{in_use} lead(s) have this status; move them to another first."}
            )
    status.active = active


def add_source(session: Session, org: Organization, code: str, name: str) -> LeadSource:
    code, name = code.strip().lower(), name.strip()
    errors = {}
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", code):
        errors["code"] = "Use lower-case letters, digits and dashes (at most 40)."
    elif _exists(session, LeadSource, org.id, LeadSource.code, code):
        errors["code"] = "There is already a source with this code."
    if not name or len(name) > 80:
        errors["name"] = "Name the source (at most 80 characters)."
    if errors:
        raise ValidationError(errors)
    source = LeadSource(org_id=org.id, code=code, name=name)
    session.add(source)
    session.flush()
    return source


def add_custom_field(
    session: Session,
    org: Organization,
    *,
    key: str,
    label: str,
    type: str,
    required: bool = False,
    options: list[str] | None = None,
) -> CustomField:
    key, label = key.strip().lower(), label.strip()
    options = [o.strip() for o in (options or []) if o.strip()]
    errors = {}
    if not _KEY.match(key):
        errors["key"] = "Start with a letter; use a–z, 0–9 and _ (at most 40)."
    elif _exists(session, CustomField, org.id, CustomField.key, key):
        errors["key"] = "There is already a field with this key."
    if not label or len(label) > 80:
        errors["label"] = "Give a label (at most 80 characters)."
    if type not in FieldType.__members__.values():
        errors["type"] = "Pick a type from the list."
    elif type in (FieldType.SELECT, FieldType.MULTI_SELECT) and not options:
        errors["options"] = "A choice field needs options, one per line."
    if errors:
        raise ValidationError(errors)
    field = CustomField(
        org_id=org.id,
        key=key,
        label=label,
        type=type,
        required=required,
        options=options,
        position=len(custom_fields(session, org.id, active_only=False)),
    )
    session.add(field)
    session.flush()
    return field


def set_custom_field_active(session: Session, org: Organization, field_id: int, active: bool):
    _owned(session, CustomField, org.id, field_id).active = active


def add_product(
    session: Session,
    org: Organization,
    *,
    name: str,
    variant: str = "",
    category_name: str = "",
    brand_name: str = "",
) -> Product:
    name, variant = name.strip(), variant.strip()
    if not name or len(name) > 120 or len(variant) > 120:
        raise ValidationError({"name": "Name the product (at most 120 characters)."})
    clash = select(Product).where(
        Product.org_id == org.id, Product.name == name, Product.variant == variant
    )
    if session.scalars(clash).first():
        raise ValidationError({"name": "This product and variant are already in the catalogue."})
    product = Product(
        org_id=org.id,
        name=name,
        variant=variant,
        category=_named(session, ProductCategory, org.id, category_name),
        brand=_named(session, Brand, org.id, brand_name),
    )
    session.add(product)
    session.flush()
    return product


def remove_product(session: Session, org: Organization, product_id: int) -> None:
    _owned(session, Product, org.id, product_id).active = False


def _named(session: Session, model, org_id: int, name: str):
    """The category/brand of this name, created on first use; None for an empty name."""
    name = name.strip()
    if not name:
        return None
    existing = session.scalars(
        select(model).where(model.org_id == org_id, func.lower(model.name) == name.lower())
    ).first()
    if existing:
        return existing
    row = model(org_id=org_id, name=name[:80])
    session.add(row)
    return row


def _exists(session: Session, model, org_id: int, column, value: str) -> bool:
    stmt = select(model.id).where(model.org_id == org_id, func.lower(column) == value.lower())
    return session.scalars(stmt).first() is not None


def _owned(session: Session, model, org_id: int, object_id: int):
    row = session.get(model, object_id)
    if row is None or row.org_id != org_id:
        raise NotFound(f"{model.__name__} {object_id}")
    return row
