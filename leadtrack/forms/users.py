from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from leadtrack.forms.common import WeeklyHoursFields, add_weekly_hours_fields, optional_int
from leadtrack.models import Privilege
from leadtrack.timeutil import timezone_choices


@add_weekly_hours_fields
class UserForm(FlaskForm, WeeklyHoursFields):
    name = StringField("Name", validators=[DataRequired("Give the user's name."), Length(max=200)])
    email = EmailField("E-mail", validators=[DataRequired("Give an e-mail to sign in with.")])
    role = SelectField("Role", validate_choice=False)
    unit_id = SelectField("Unit", coerce=optional_int, validate_choice=False)
    supervisor_id = SelectField(
        "Supervisor",
        coerce=optional_int,
        validate_choice=False,
        description="Leave empty to use the unit's manager.",
    )
    backup_id = SelectField(
        "Backup (tier 2)",
        coerce=optional_int,
        validate_choice=False,
        description="Gets this user's leads when they do not respond in time.",
    )
    phone = StringField("Mobile phone (for SMS alerts)", validators=[Length(max=40)])
    max_open_leads = IntegerField(
        "Cap of open leads",
        validators=[Optional(), NumberRange(min=1, max=10000, message="From 1 to 10000.")],
        description="The assignment rules skip this person at this many open leads. "
        "Leave empty for no cap.",
    )
    timezone = SelectField("Time zone", validators=[Optional()])
    own_hours = BooleanField("Has own working hours (else the organization's business hours)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [("", "Organization's time zone"), *timezone_choices()]


class NewUserForm(UserForm):
    password = PasswordField(
        "Initial password",
        description="At least 10 characters. Tell it to the user; they can change it.",
        validators=[DataRequired("Choose an initial password.")],
    )


def privileges_form_class():
    """A form with one checkbox per privilege."""

    class PrivilegesForm(FlaskForm):
        pass

    for privilege in Privilege:
        setattr(PrivilegesForm, privilege.value, BooleanField(privilege.label))
    return PrivilegesForm


PrivilegesForm = privileges_form_class()


class AbsenceForm(FlaskForm):
    starts_at = DateTimeLocalField(
        "From", format="%Y-%m-%dT%H:%M", validators=[DataRequired("Give a start.")]
    )
    ends_at = DateTimeLocalField(
        "Until", format="%Y-%m-%dT%H:%M", validators=[DataRequired("Give an end.")]
    )
    note = StringField("Note", validators=[Length(max=200)])
