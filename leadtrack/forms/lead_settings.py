"""The add forms of the lead settings page. Each has its own prefix so ids never collide."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from leadtrack.models import FieldType, StatusCategory

CATEGORY_LABELS = {
    StatusCategory.NEW: "New",
    StatusCategory.OPEN: "Open",
    StatusCategory.WON: "Won",
    StatusCategory.LOST: "Lost",
    StatusCategory.DEAD: "Dead",
}
FIELD_TYPE_LABELS = {
    FieldType.TEXT: "Text",
    FieldType.LONG_TEXT: "Long text",
    FieldType.NUMBER: "Number",
    FieldType.MONEY: "Money",
    FieldType.DATE: "Date",
    FieldType.CHECKBOX: "Checkbox",
    FieldType.SELECT: "Select (one option)",
    FieldType.MULTI_SELECT: "Multi-select (several options)",
}
CHOICE_TYPES = (FieldType.SELECT.value, FieldType.MULTI_SELECT.value)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _required_text(label: str, missing: str, limit: int) -> StringField:
    """A stripped text input that must be filled and stay within `limit` characters."""
    return StringField(
        label,
        filters=[_strip],
        validators=[
            DataRequired(missing),
            Length(max=limit, message=f"At most {limit} characters."),
        ],
    )


class StatusForm(FlaskForm):
    name = _required_text("Name", "Name the status.", 60)
    category = SelectField(
        "Category",
        choices=[(c.value, label) for c, label in CATEGORY_LABELS.items()],
        default=StatusCategory.OPEN.value,
        description="What the status means for reports: open leads are being worked on.",
        validate_choice=False,  # the service names the allowed categories
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="status", **kwargs)


class SourceForm(FlaskForm):
    code = StringField(
        "Code",
        description="Used by the API and imports: lower-case letters, digits and dashes.",
        filters=[_strip],
        validators=[
            DataRequired("Give a code."),
            Regexp(
                r"^[a-zA-Z0-9][a-zA-Z0-9-]{0,39}$",
                message="Use lower-case letters, digits and dashes (at most 40).",
            ),
        ],
    )
    name = _required_text("Name", "Name the source.", 80)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="source", **kwargs)


class CustomFieldForm(FlaskForm):
    key = StringField(
        "Key",
        description="Used by the API and imports: a–z, 0–9 and _, such as budget_band.",
        filters=[_strip],
        validators=[
            DataRequired("Give a key."),
            Regexp(
                r"^[a-zA-Z][a-zA-Z0-9_]{0,39}$",
                message="Start with a letter; use a–z, 0–9 and _ (at most 40).",
            ),
        ],
    )
    label = _required_text("Label", "Give a label.", 80)
    type = SelectField(
        "Type",
        choices=[(t.value, label) for t, label in FIELD_TYPE_LABELS.items()],
        default=FieldType.TEXT.value,
        validate_choice=False,  # the service says "Pick a type from the list."
    )
    required = BooleanField("Required on every lead")
    options = TextAreaField(
        "Options",
        description="One per line; only for the select types.",
        render_kw={"rows": 3},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="field", **kwargs)

    def validate_options(self, field) -> None:
        if self.type.data in CHOICE_TYPES and not self.option_list():
            raise ValidationError("A choice field needs options, one per line.")

    def option_list(self) -> list[str]:
        return [line.strip() for line in (self.options.data or "").splitlines() if line.strip()]


class ProductForm(FlaskForm):
    category = StringField(
        "Category",
        description="Pick one or type a new one.",
        filters=[_strip],
        validators=[Length(max=80, message="At most 80 characters.")],
        render_kw={"list": "product-category-names", "autocomplete": "off"},
    )
    brand = StringField(
        "Brand",
        filters=[_strip],
        validators=[Length(max=80, message="At most 80 characters.")],
        render_kw={"list": "product-brand-names", "autocomplete": "off"},
    )
    name = _required_text("Product", "Name the product.", 120)
    variant = StringField(
        "Variant",
        description="Optional: model year, size, colour…",
        filters=[_strip],
        validators=[Length(max=120, message="At most 120 characters.")],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="product", **kwargs)
