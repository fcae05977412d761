"""Pieces several forms share: service errors onto fields, optional ids, weekly hours."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field, StringField

from leadtrack.models.organization import WEEKDAYS, WeeklyHours
from leadtrack.services.calendar import first_interval, parse_weekly_hours
from leadtrack.services.errors import ValidationError


def optional_int(value) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def apply_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Put a service's per-field messages on the form's fields (others on the form)."""
    for name, message in errors.items():
        field: Field | None = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


class WeeklyHoursFields:
    """Adds `day_N_start`/`day_N_end` time inputs; `weekly_hours()` validates them."""

    def weekly_hours(self) -> WeeklyHours:
        rows = {
            day: (self[f"day_{day}_start"].data or "", self[f"day_{day}_end"].data or "")
            for day in range(7)
        }
        try:
            return parse_weekly_hours(rows, field_prefix="day")
        except ValidationError as exc:  # "day_3" -> the "day_3_start" input's errors
            raise ValidationError({f"{k}_start": v for k, v in exc.errors.items()}) from exc

    def fill_weekly_hours(self, hours: WeeklyHours | None) -> None:
        for day in range(7):
            start, end = first_interval(hours, day)
            self[f"day_{day}_start"].data, self[f"day_{day}_end"].data = start, end

    def day_rows(self):
        return [
            (name, self[f"day_{day}_start"], self[f"day_{day}_end"], f"day_{day}")
            for day, name in enumerate(WEEKDAYS)
        ]


def add_weekly_hours_fields(form_class: type) -> type:
    for day, name in enumerate(WEEKDAYS):
        setattr(form_class, f"day_{day}_start", StringField(f"{name} from"))
        setattr(form_class, f"day_{day}_end", StringField(f"{name} to"))
    return form_class
