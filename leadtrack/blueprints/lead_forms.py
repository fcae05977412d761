"""Reading the lead form (new and edit) into the raw dict the intake service validates."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from leadtrack.models import CustomField, FieldType, Lead

TEXT_FIELDS = (
    "name",
    "company",
    "address",
    "district",
    "division",
    "profession",
    "intake_form",
    "source",
    "temperature",
    "priority",
    "value",
    "follow_up_at",
    "product_id",
    "assignee_id",
    "unit_id",
    "status",
    "emails",
    "phones",
    "tags",
)


def raw_from_form(form: MultiDict, fields: list[CustomField], *, partial: bool = False) -> dict:
    raw: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in form or not partial:
            raw[name] = form.get(name, "").strip()
    custom: dict[str, Any] = {}
    for field in fields:
        key = f"custom.{field.key}"
        if field.type == FieldType.MULTI_SELECT:
            custom[field.key] = form.getlist(key)
        elif field.type == FieldType.CHECKBOX:
            custom[field.key] = key in form
        else:
            custom[field.key] = form.get(key, "")
    raw["custom"] = custom
    return raw


def form_values(lead: Lead, timezone: str) -> dict[str, Any]:
    """The current values of a lead, as the edit form shows them."""
    from leadtrack.timeutil import to_zone

    follow = to_zone(lead.follow_up_at, timezone)
    return {
        "name": lead.name,
        "emails": ", ".join(e.email for e in lead.emails),
        "phones": ", ".join(p.phone for p in lead.phones),
        "company": lead.company,
        "address": lead.address,
        "district": lead.district,
        "division": lead.division,
        "profession": lead.profession,
        "source": lead.source,
        "intake_form": lead.intake_form,
        "product_id": lead.product_id or "",
        "value": lead.value if lead.value is not None else "",
        # Values the scoring rules gave show as "by the rules", so saving keeps them automatic.
        "temperature": lead.temperature or "" if lead.temperature_by_hand or not lead.score else "",
        "priority": lead.priority if lead.priority_by_hand or not lead.score else "",
        "tags": ", ".join(lead.tags),
        "follow_up_at": follow.strftime("%Y-%m-%dT%H:%M") if follow else "",
        "status": lead.status.name,
        "assignee_id": lead.assignee_id or "",
        "unit_id": lead.unit_id or "",
        "custom": dict(lead.custom or {}),
    }
