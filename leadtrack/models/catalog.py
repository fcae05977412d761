"""Per-organization configuration of leads: statuses, sources, custom fields, products."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadtrack.models.base import Base


class StatusCategory(StrEnum):
    NEW = "new"
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    DEAD = "dead"

    @property
    def is_closed(self) -> bool:
        return self in (StatusCategory.WON, StatusCategory.LOST, StatusCategory.DEAD)


DEFAULT_STATUSES = (
    ("New", StatusCategory.NEW),
    ("Contacted", StatusCategory.OPEN),
    ("Qualified", StatusCategory.OPEN),
    ("Follow-up", StatusCategory.OPEN),
    ("Could not reach", StatusCategory.OPEN),
    ("Won", StatusCategory.WON),
    ("Lost", StatusCategory.LOST),
    ("Dead", StatusCategory.DEAD),
)

BUILTIN_SOURCES = {
    "web": "Web",
    "phone": "Phone",
    "walk-in": "Walk-in",
    "email": "E-mail",
    "api": "API",
    "import": "Import",
    "referral": "Referral",
    "campaign": "Campaign",
}


class LeadStatus(Base):
    __tablename__ = "lead_status"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    category: Mapped[StatusCategory] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def category_enum(self) -> StatusCategory:
        return StatusCategory(self.category)


class LeadSource(Base):
    __tablename__ = "lead_source"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    builtin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class FieldType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    CHECKBOX = "checkbox"
    SELECT = "select"
    MULTI_SELECT = "multi_select"


class CustomField(Base):
    __tablename__ = "custom_field"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    type: Mapped[FieldType] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(default=False)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class ProductCategory(Base):
    __tablename__ = "product_category"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))


class Brand(Base):
    __tablename__ = "brand"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))


class Product(Base):
    """A product or one variant of it ("Corolla" / "Hybrid 1.8, white")."""

    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("org_id", "name", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("product_category.id"))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brand.id"))
    name: Mapped[str] = mapped_column(String(120))
    variant: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(default=True)

    category: Mapped[ProductCategory | None] = relationship()
    brand: Mapped[Brand | None] = relationship()

    @property
    def label(self) -> str:
        parts = [self.brand.name if self.brand else "", self.name, self.variant]
        return " ".join(p for p in parts if p)
