"""What conditions can ask about a lead: the field catalogue of an organization (for
checking rules and for the editor's field-aware inputs) and a lead's facts (for deciding)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtrack.models import (
    PRIORITIES,
    TEMPERATURES,
    Brand,
    FieldType,
    Lead,
    Organization,
    ProductCategory,
    StatusCategory,
    Unit,
)
from leadtrack.services import lead_settings
from leadtrack.services.conditions import WEEKDAYS, Catalog, FieldSpec, Kind

CHANNELS = ("web", "api", "import", "form", "phone", "system")
CUSTOM_KINDS = {
    FieldType.TEXT: Kind.TEXT,
    FieldType.LONG_TEXT: Kind.TEXT,
    FieldType.NUMBER: Kind.NUMBER,
    FieldType.MONEY: Kind.NUMBER,
    FieldType.DATE: Kind.TEXT,
    FieldType.CHECKBOX: Kind.FLAG,
    FieldType.SELECT: Kind.CHOICE,
    FieldType.MULTI_SELECT: Kind.TAGS,
}


@dataclass(frozen=True)
class UnitTree:
    """The organization's units: each one's chain of names from the top, and for conditions
    its levels (one folded {name, full path} set per level) and every name and path."""

    names: dict[int, str]
    chains: dict[int, tuple[str, ...]]
    levels: dict[int, tuple[frozenset[str], ...]]
    labels: tuple[str, ...]  # every name and every path, for the catalogue

    def path(self, unit_id: int) -> str:
        """ "North / Main Street": how a unit is named where its name alone is not unique."""
        return " / ".join(self.chains[unit_id])

    @classmethod
    def load(cls, session: Session, org_id: int) -> UnitTree:
        rows = session.execute(
            select(Unit.id, Unit.parent_id, Unit.name).where(Unit.org_id == org_id)
        ).all()
        parents = {row.id: row.parent_id for row in rows}
        names = {row.id: row.name for row in rows}
        chains: dict[int, tuple[str, ...]] = {}
        for unit_id in names:
            chain, seen, cursor = [], set(), unit_id
            while cursor is not None and cursor not in seen:
                seen.add(cursor)
                chain.append(names[cursor])
                cursor = parents.get(cursor)
            chains[unit_id] = tuple(reversed(chain))
        levels = {
            unit_id: tuple(
                frozenset({chain[n].casefold(), " / ".join(chain[: n + 1]).casefold()})
                for n in range(len(chain))
            )
            for unit_id, chain in chains.items()
        }
        labels = sorted({*names.values(), *(" / ".join(c) for c in chains.values() if len(c) > 1)})
        return cls(names, chains, levels, tuple(labels))


def catalog_for(session: Session, org: Organization, units: UnitTree | None = None) -> Catalog:
    units = units or UnitTree.load(session, org.id)
    catalog = Catalog()
    for spec in _standard_fields(session, org, units):
        catalog.add(spec)
    for custom in lead_settings.custom_fields(session, org.id, active_only=False):
        catalog.add(
            FieldSpec(
                f"custom.{custom.key}",
                custom.label,
                CUSTOM_KINDS[FieldType(custom.type)],
                tuple(custom.options or ()),
                group="Custom fields",
            )
        )
    return catalog


def _standard_fields(session: Session, org: Organization, units: UnitTree) -> list[FieldSpec]:
    sources = tuple(s.code for s in lead_settings.sources(session, org.id, active_only=False))
    statuses = tuple(s.name for s in lead_settings.statuses(session, org.id, active_only=False))
    products = tuple(sorted({p.name for p in lead_settings.products(session, org.id)}))
    categories = _names(session, ProductCategory, org.id)
    brands = _names(session, Brand, org.id)
    text = Kind.TEXT
    return [
        FieldSpec("source", "Source", Kind.CHOICE, sources),
        FieldSpec("intake_form", "Intake form", text),
        FieldSpec("channel", "Came in through", Kind.CHOICE, CHANNELS),
        FieldSpec("value", "Value", Kind.NUMBER),
        FieldSpec("score", "Score", Kind.NUMBER),
        FieldSpec("temperature", "Temperature", Kind.CHOICE, TEMPERATURES),
        FieldSpec("priority", "Priority", Kind.CHOICE, PRIORITIES),
        FieldSpec("tags", "Tags", Kind.TAGS),
        FieldSpec("status", "Status", Kind.CHOICE, statuses),
        FieldSpec(
            "status_category",
            "Status category",
            Kind.CHOICE,
            tuple(c.value for c in StatusCategory),
        ),
        FieldSpec("product", "Product", Kind.CHOICE, products),
        FieldSpec("product_category", "Product category", Kind.CHOICE, categories),
        FieldSpec("brand", "Brand", Kind.CHOICE, brands),
        FieldSpec("unit", "Unit", Kind.UNIT, units.labels, group="Territory"),
        FieldSpec("district", "District", text, group="Territory"),
        FieldSpec("division", "Division", text, group="Territory"),
        FieldSpec("company", "Company", text, group="Contact"),
        FieldSpec("profession", "Profession", text, group="Contact"),
        FieldSpec("email_domain", "E-mail domain", text, group="Contact"),
        FieldSpec("has_email", "Has an e-mail", Kind.FLAG, group="Contact"),
        FieldSpec("has_phone", "Has a phone", Kind.FLAG, group="Contact"),
        FieldSpec("existing_contact", "Existing contact", Kind.FLAG, group="Contact"),
        FieldSpec("time_of_day", "Time of day", Kind.TIME, group="When"),
        FieldSpec("weekday", "Weekday", Kind.WEEKDAY, WEEKDAYS, group="When"),
    ]


def _names(session: Session, model, org_id: int) -> tuple[str, ...]:
    return tuple(session.scalars(select(model.name).where(model.org_id == org_id)))


def facts_of(lead: Lead, zone: ZoneInfo, now: datetime, units: UnitTree) -> dict:
    """Everything a condition may test, from a loaded lead, at `now`."""
    local = now.astimezone(zone)
    product = lead.product
    facts = {
        "source": lead.source,
        "intake_form": lead.intake_form,
        "channel": lead.created_via,
        "value": lead.value,
        "score": lead.score,
        "temperature": lead.temperature,
        "priority": lead.priority,
        "tags": [row.tag for row in lead.tag_rows],
        "status": lead.status.name if lead.status else None,
        "status_category": lead.status.category if lead.status else None,
        "product": product.name if product else None,
        "product_category": product.category.name if product and product.category else None,
        "brand": product.brand.name if product and product.brand else None,
        "unit": units.levels.get(lead.unit_id, ()),
        "district": lead.district,
        "division": lead.division,
        "company": lead.company,
        "profession": lead.profession,
        "email_domain": lead.primary_email.rpartition("@")[2],
        "has_email": bool(lead.primary_email),
        "has_phone": bool(lead.primary_phone),
        "existing_contact": lead.previous_lead_id is not None,
        "time_of_day": local.hour * 60 + local.minute,
        "weekday": local.weekday(),
    }
    for key, value in (lead.custom or {}).items():
        facts[f"custom.{key}"] = value
    return facts
