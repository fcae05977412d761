"""Reading a lead's fields from outside (API JSON, a form, a spreadsheet row): normalized
values, or a message per field. The same rules for every channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtrack.models import (
    PRIORITIES,
    TEMPERATURES,
    CustomField,
    FieldType,
    LeadSource,
    LeadStatus,
    Organization,
    Product,
    Unit,
    User,
)
from leadtrack.services.contact_fields import normalize_email, normalize_phone
from leadtrack.services.ids import parse_id
from leadtrack.timeutil import as_utc

TEXT_LIMITS = {
    "name": 200,
    "company": 200,
    "address": 300,
    "district": 100,
    "division": 100,
    "profession": 100,
    "intake_form": 100,
    "close_reason": 300,
}
MAX_VALUE = Decimal("999999999999.99")
MAX_CONTACTS = 5
MAX_TAGS = 20
FIELDS = (
    *TEXT_LIMITS,
    "emails",
    "phones",
    "source",
    "product_id",
    "value",
    "custom",
    "tags",
    "temperature",
    "priority",
    "status",
    "assignee_id",
    "unit_id",
    "follow_up_at",
)


CONTROL_MESSAGE = "Remove the control characters (such as NUL) from this text."


def has_control_characters(text: str, allow_newlines: bool = False) -> bool:
    allowed = "\n\r\t" if allow_newlines else ""
    return any((ord(ch) < 32 or ord(ch) == 127) and ch not in allowed for ch in text) or any(
        0xD800 <= ord(ch) <= 0xDFFF for ch in text
    )


@dataclass
class FieldReader:
    """Validates raw values against one organization's settings."""

    session: Session
    org: Organization
    errors: dict[str, str] = field(default_factory=dict)
    # The zone a date-time typed without an offset is in: the person's, else the organization's.
    zone: str | None = None

    def read(self, raw: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """Normalized values of the fields present in `raw` (all of them unless `partial`)."""
        unknown = [key for key in raw if key not in FIELDS]
        for key in unknown:
            self.errors[key] = "Unknown field."
        clean: dict[str, Any] = {}
        for name in FIELDS:
            if partial and name not in raw:
                continue
            reader = getattr(self, f"_{name}", None) or self._text
            value = reader(name, raw.get(name))
            if name not in self.errors:
                clean[name] = value
        if not partial:
            self._require_contact(clean)
        return clean

    # -- text ---------------------------------------------------------------------------

    def _text(self, name: str, value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str | int | float):
            self.errors[name] = "Give text."
            return ""
        text = str(value).strip()
        limit = TEXT_LIMITS[name]
        if has_control_characters(text):
            self.errors[name] = CONTROL_MESSAGE
        elif len(text) > limit:
            self.errors[name] = f"At most {limit} characters (this has {len(text)})."
        return text

    def _name(self, name: str, value: Any) -> str:
        text = self._text(name, value)
        if not text and name not in self.errors:
            self.errors[name] = "Give the contact's name."
        return text

    # -- contact ------------------------------------------------------------------------

    def _contacts(self, name: str, value: Any, normalize) -> list[str]:
        items = _as_list(value)
        if items is None:
            self.errors[name] = "Give a list of values, or one value."
            return []
        if len(items) > MAX_CONTACTS:
            self.errors[name] = f"At most {MAX_CONTACTS}."
            return []
        clean: list[str] = []
        for item in items:
            try:
                normalized = normalize(str(item))
            except ValueError as exc:
                self.errors[name] = f"{item}: {exc}"
                return []
            if normalized not in clean:
                clean.append(normalized)
        return clean

    def _emails(self, name: str, value: Any) -> list[str]:
        return self._contacts(name, value, normalize_email)

    def _phones(self, name: str, value: Any) -> list[str]:
        country = self.org.default_country
        return self._contacts(name, value, lambda raw: normalize_phone(raw, country))

    def _require_contact(self, clean: dict[str, Any]) -> None:
        if "emails" in self.errors or "phones" in self.errors:
            return
        if not clean.get("emails") and not clean.get("phones"):
            self.errors["phones"] = "Give a phone number or an e-mail to reach them."

    # -- choices from the organization's settings ---------------------------------------

    def _source(self, name: str, value: Any) -> str:
        code = str(value or "").strip().lower()
        if not code:
            self.errors[name] = "Say where the lead came from."
            return ""
        found = self.session.scalars(
            select(LeadSource.code).where(
                LeadSource.org_id == self.org.id,
                LeadSource.code == code,
                LeadSource.active.is_(True),
            )
        ).first()
        if found is None:
            self.errors[name] = f"Unknown source '{code}'."
        return code

    def _status(self, name: str, value: Any) -> LeadStatus | None:
        if value in (None, ""):
            return None
        stmt = select(LeadStatus).where(
            LeadStatus.org_id == self.org.id, LeadStatus.active.is_(True)
        )
        if isinstance(value, int) and not isinstance(value, bool):
            stmt = stmt.where(LeadStatus.id == (parse_id(value) or 0))
        else:
            stmt = stmt.where(func.lower(LeadStatus.name) == str(value).strip().lower())
        status = self.session.scalars(stmt).first()
        if status is None:
            self.errors[name] = f"Unknown status '{value}'."
        return status

    def _owned_id(self, name: str, value: Any, model, label: str):
        if value in (None, ""):
            return None
        object_id = parse_id(value)
        if object_id is None:
            self.errors[name] = f"Give the id of a {label}."
            return None
        row = self.session.get(model, object_id)
        if row is None or row.org_id != self.org.id:
            self.errors[name] = f"No such {label} here."
            return None
        return row

    def _product_id(self, name: str, value: Any) -> int | None:
        product = self._owned_id(name, value, Product, "product")
        if product is not None and not product.active:
            self.errors[name] = f"{product.label} was removed from the catalogue."
            return None
        return product.id if product else None

    def _unit_id(self, name: str, value: Any) -> int | None:
        unit = self._owned_id(name, value, Unit, "unit")
        return unit.id if unit else None

    def _assignee_id(self, name: str, value: Any) -> int | None:
        user = self._owned_id(name, value, User, "user")
        if user is not None and not user.is_active_user:
            self.errors[name] = f"{user.name} is deactivated."
            return None
        return user.id if user else None

    def _temperature(self, name: str, value: Any) -> str | None:
        return self._choice(name, value, TEMPERATURES, allow_empty=True)

    def _priority(self, name: str, value: Any) -> str:
        return self._choice(name, value, PRIORITIES, allow_empty=True) or "normal"

    def _choice(self, name: str, value: Any, choices, allow_empty: bool) -> str | None:
        if value in (None, "") and allow_empty:
            return None
        text = str(value).strip().lower()
        if text not in choices:
            self.errors[name] = f"Use one of: {', '.join(choices)}."
            return None
        return text

    # -- numbers, dates, tags -----------------------------------------------------------

    def _value(self, name: str, value: Any) -> Decimal | None:
        if value in (None, ""):
            return None
        amount = _decimal(value)
        if amount is None or amount < 0 or amount > MAX_VALUE:
            self.errors[name] = "Give an amount of money, such as 12500 or 12500.50."
            return None
        return amount.quantize(Decimal("0.01"))

    def _follow_up_at(self, name: str, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                self.errors[name] = "Give a date and time, such as 2026-12-01T10:00."
                return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(self.zone or self.org.timezone))
        try:
            return as_utc(moment)
        except OverflowError:  # 0001-01-01T00:30+01:00 has no UTC
            self.errors[name] = "Give a date and time, such as 2026-12-01T10:00."
            return None

    def _tags(self, name: str, value: Any) -> list[str]:
        items = _as_list(value)
        if items is None:
            self.errors[name] = "Give a list of tags."
            return []
        tags = sorted({str(item).strip().lower() for item in items if str(item).strip()})
        if any(has_control_characters(tag) for tag in tags):
            self.errors[name] = CONTROL_MESSAGE
        elif len(tags) > MAX_TAGS or any(len(tag) > 60 for tag in tags):
            self.errors[name] = f"At most {MAX_TAGS} tags of at most 60 characters."
        return tags

    # -- custom fields ------------------------------------------------------------------

    def _custom(self, name: str, value: Any) -> dict[str, Any]:
        if value in (None, ""):
            value = {}
        if not isinstance(value, dict):
            self.errors[name] = "Give an object of custom field values."
            return {}
        definitions = {
            f.key: f
            for f in self.session.scalars(
                select(CustomField).where(
                    CustomField.org_id == self.org.id, CustomField.active.is_(True)
                )
            )
        }
        clean: dict[str, Any] = {}
        for key in value:
            if key not in definitions:
                self.errors[f"custom.{key}"] = "Unknown custom field."
        for key, definition in definitions.items():
            parsed = _custom_value(definition, value.get(key))
            if isinstance(parsed, _Invalid):
                self.errors[f"custom.{key}"] = parsed.message
            elif parsed in (None, "", []) and definition.required:
                self.errors[f"custom.{key}"] = f"{definition.label} is required."
            elif parsed not in (None, "", []):
                clean[key] = parsed
        return clean


@dataclass(frozen=True)
class _Invalid:
    message: str


def _custom_value(definition: CustomField, value: Any) -> Any:
    if value in (None, "") or value == []:
        return None
    kind = definition.type
    if kind in (FieldType.TEXT, FieldType.LONG_TEXT):
        limit = 200 if kind == FieldType.TEXT else 5000
        text = str(value).strip()
        if has_control_characters(text, allow_newlines=kind == FieldType.LONG_TEXT):
            return _Invalid(CONTROL_MESSAGE)
        return text if len(text) <= limit else _Invalid(f"At most {limit} characters.")
    if kind in (FieldType.NUMBER, FieldType.MONEY):
        if isinstance(value, bool):
            return _Invalid("Give a number.")
        number = _decimal(value)
        if number is None or abs(number) > MAX_VALUE:
            return _Invalid("Give a number.")
        return float(number) if kind == FieldType.NUMBER else str(number.quantize(Decimal("0.01")))
    if kind == FieldType.DATE:
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            return _Invalid("Give a date such as 2026-12-01.")
    if kind == FieldType.CHECKBOX:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "y", "on"):
            return True
        if text in ("0", "false", "no", "n", "off"):
            return False
        return _Invalid("Give yes or no.")
    if kind == FieldType.SELECT:
        text = str(value).strip()
        return text if text in definition.options else _Invalid(_options(definition))
    if kind == FieldType.MULTI_SELECT:
        items = _as_list(value) or []
        chosen = [str(item).strip() for item in items]
        if not all(item in definition.options for item in chosen):
            return _Invalid(_options(definition))
        return chosen
    return _Invalid("This field has an unknown type.")


def _options(definition: CustomField) -> str:
    return "Pick from: " + ", ".join(definition.options) + "."


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _as_list(value: Any) -> list | None:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.replace(";", ",").split(",")) if part]
    if isinstance(value, list | tuple):
        return list(value)
    return None


def contacts_of(session: Session, org: Organization, emails: Any, phones: Any):
    """The valid, normalized e-mails and phones among raw input (invalid ones are skipped):
    for the existing-contact hint while someone is still typing."""
    reader = FieldReader(session, org)
    return reader._emails("emails", emails), reader._phones("phones", phones)
