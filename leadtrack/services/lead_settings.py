"""Per-organization lead settings: statuses, sources, custom fields, the product catalogue."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
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
from leadtrack.services.ids import parse_id

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_SOURCE_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
MAX_OPTIONS = 100
MAX_OPTION_LENGTH = 100
CHOICE_TYPES = (FieldType.SELECT, FieldType.MULTI_SELECT)


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
    """The first active status of the 'new' category, in the organization's order."""
    stmt = (
        select(LeadStatus)
        .where(
            LeadStatus.org_id == org_id,
            LeadStatus.active.is_(True),
            LeadStatus.category == StatusCategory.NEW,
        )
        .order_by(LeadStatus.position, LeadStatus.id)
        .limit(1)
    )
    status = session.scalars(stmt).first()
    if status is not None:
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


def category_names(session: Session, org_id: int) -> list[str]:
    """Product category names, for suggestions while typing."""
    stmt = select(ProductCategory.name).where(ProductCategory.org_id == org_id)
    return list(session.scalars(stmt.order_by(func.lower(ProductCategory.name))))


def brand_names(session: Session, org_id: int) -> list[str]:
    stmt = select(Brand.name).where(Brand.org_id == org_id)
    return list(session.scalars(stmt.order_by(func.lower(Brand.name))))


def status_lead_counts(session: Session, org_id: int) -> dict[int, int]:
    """How many leads each status holds (statuses without leads are absent)."""
    stmt = (
        select(Lead.status_id, func.count()).where(Lead.org_id == org_id).group_by(Lead.status_id)
    )
    return {row[0]: row[1] for row in session.execute(stmt)}


def add_status(session: Session, org: Organization, name: str, category: str) -> LeadStatus:
    errors = {}
    name = name.strip()
    if not name or len(name) > 60:
        errors["name"] = "Name the status (at most 60 characters)."
    if category not in StatusCategory.__members__.values():
        errors["category"] = "Pick a category: new, open, won, lost or dead."
    if "name" not in errors:
        clash = _find(session, LeadStatus, org.id, LeadStatus.name, name)
        if clash is not None:
            errors["name"] = _duplicate("a status with this name", clash)
    if errors:
        raise ValidationError(errors)
    existing = statuses(session, org.id, active_only=False)
    position = max((s.position for s in existing), default=-1) + 1
    status = LeadStatus(org_id=org.id, name=name, category=category, position=position)
    _insert(session, status, "name", "There is already a status with this name.")
    return status


def set_status_active(session: Session, org: Organization, status_id: int, active: bool) -> None:
    status = _owned(session, LeadStatus, org.id, status_id)
    if status.active == active:
        return
    if not active:
        same_category = [s for s in statuses(session, org.id) if s.category == status.category]
        if status.category == StatusCategory.NEW and len(same_category) <= 1:
            raise ValidationError({"status": "Keep at least one status of the 'new' category."})
        in_use = session.scalar(select(func.count()).where(Lead.status_id == status.id))
        if in_use:
            leads = "1 lead has" if in_use == 1 else f"{in_use} leads have"
            them = "it" if in_use == 1 else "them"
            raise ValidationError(
                {"status": f"{leads} this status; move {them} to another status first."}
            )
    status.active = active


def move_status(session: Session, org: Organization, status_id: int, direction: str) -> None:
    """Swap a status with its neighbour above ("up") or below ("down") in the list.

    Inactive statuses keep their place, so reactivating one puts it back where it was.
    Moving the first one up or the last one down changes nothing."""
    if direction not in ("up", "down"):
        raise ValidationError({"status": "Move a status up or down."})
    status = _owned(session, LeadStatus, org.id, status_id)
    ordered = statuses(session, org.id, active_only=False)
    for position, row in enumerate(ordered):  # repair gaps and ties from older data
        row.position = position
    index = ordered.index(status)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        neighbour = ordered[other]
        status.position, neighbour.position = neighbour.position, status.position
    session.flush()


def add_source(session: Session, org: Organization, code: str, name: str) -> LeadSource:
    code, name = code.strip().lower(), name.strip()
    errors = {}
    if not _SOURCE_CODE.fullmatch(code):
        errors["code"] = "Use lower-case letters, digits and dashes (at most 40)."
    else:
        clash = _find(session, LeadSource, org.id, LeadSource.code, code)
        if clash is not None:
            errors["code"] = _duplicate("a source with this code", clash)
    if not name or len(name) > 80:
        errors["name"] = "Name the source (at most 80 characters)."
    if errors:
        raise ValidationError(errors)
    source = LeadSource(org_id=org.id, code=code, name=name)
    _insert(session, source, "code", "There is already a source with this code.")
    return source


def set_source_active(session: Session, org: Organization, source_id: int, active: bool) -> None:
    """Built-in sources can be switched off too; no source is ever deleted (leads name them)."""
    _owned(session, LeadSource, org.id, source_id).active = active


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
    options = list(dict.fromkeys(o.strip() for o in (options or []) if o.strip()))
    errors = {}
    if not _KEY.fullmatch(key):
        errors["key"] = "Start with a letter; use a–z, 0–9 and _ (at most 40)."
    else:
        clash = _find(session, CustomField, org.id, CustomField.key, key)
        if clash is not None:
            errors["key"] = _duplicate("a field with this key", clash)
    if not label or len(label) > 80:
        errors["label"] = "Give a label (at most 80 characters)."
    if type not in FieldType.__members__.values():
        errors["type"] = "Pick a type from the list."
    elif type in CHOICE_TYPES:
        if not options:
            errors["options"] = "A choice field needs options, one per line."
        elif len(options) > MAX_OPTIONS or any(len(o) > MAX_OPTION_LENGTH for o in options):
            errors["options"] = (
                f"At most {MAX_OPTIONS} options of at most {MAX_OPTION_LENGTH} characters each."
            )
    else:
        options = []  # only choice fields have options
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
    _insert(session, field, "key", "There is already a field with this key.")
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
    """Add a product; a removed one of the same name and variant comes back instead."""
    name, variant = name.strip(), variant.strip()
    category_name, brand_name = category_name.strip(), brand_name.strip()
    errors = {}
    if not name or len(name) > 120:
        errors["name"] = "Name the product (at most 120 characters)."
    if len(variant) > 120:
        errors["variant"] = "At most 120 characters."
    if len(category_name) > 80:
        errors["category"] = "At most 80 characters."
    if len(brand_name) > 80:
        errors["brand"] = "At most 80 characters."
    clash = None
    if "name" not in errors:
        clash = session.scalars(
            select(Product).where(
                Product.org_id == org.id, Product.name == name, Product.variant == variant
            )
        ).first()
        if clash is not None and clash.active:
            errors["name"] = "This product and variant are already in the catalogue."
    if errors:
        raise ValidationError(errors)
    category = _named(session, ProductCategory, org.id, category_name)
    brand = _named(session, Brand, org.id, brand_name)
    if clash is not None:  # removed earlier: restore it, with today's category and brand
        clash.active, clash.category, clash.brand = True, category, brand
        session.flush()
        return clash
    product = Product(org_id=org.id, name=name, variant=variant, category=category, brand=brand)
    _insert(session, product, "name", "This product and variant are already in the catalogue.")
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


def _find(session: Session, model, org_id: int, column, value: str):
    """The row whose `column` equals `value`, ignoring case."""
    stmt = select(model).where(model.org_id == org_id, func.lower(column) == value.lower())
    return session.scalars(stmt).first()


def _duplicate(what: str, clash) -> str:
    if getattr(clash, "active", True):
        return f"There is already {what}."
    return f"There is already {what}; it is deactivated: reactivate it instead."


def _insert(session: Session, row, field: str, message: str) -> None:
    """Add and flush `row`; a unique clash (a concurrent twin) is a field error, not a 500."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise ValidationError({field: message}) from exc


def _owned(session: Session, model, org_id: int, object_id: int):
    if parse_id(object_id) is None:  # an id from a URL that no row can have
        raise NotFound(f"{model.__name__} {object_id}")
    row = session.get(model, object_id)
    if row is None or row.org_id != org_id:
        raise NotFound(f"{model.__name__} {object_id}")
    return row


def status_by_id(session: Session, org_id: int, value) -> LeadStatus:
    status_id = parse_id(value)
    status = session.get(LeadStatus, status_id) if status_id else None
    if status is None or status.org_id != org_id or not status.active:
        raise ValidationError({"status": "Pick a status."})
    return status
