from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from leadtrack.forms.common import WeeklyHoursFields, add_weekly_hours_fields
from leadtrack.timeutil import timezone_choices


@add_weekly_hours_fields
class OrganizationSettingsForm(FlaskForm, WeeklyHoursFields):
    name = StringField("Name", validators=[DataRequired("Give the organization a name.")])
    timezone = SelectField("Time zone")
    sender_name = StringField(
        "Sender name",
        description="Shown as the sender of every e-mail.",
        validators=[Length(max=200)],
    )
    default_country = StringField(
        "Default country for phone numbers",
        description="Two letters, such as US. Numbers typed without +country use it.",
        validators=[DataRequired("Give a country code."), Length(max=2)],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()


class HolidayForm(FlaskForm):
    day = DateField("Date", validators=[DataRequired("Pick a date.")])
    name = StringField("Name", validators=[DataRequired("Name the holiday."), Length(max=120)])


class NewOrganizationForm(FlaskForm):
    name = StringField("Organization name", validators=[DataRequired("Give a name.")])
    slug = StringField(
        "Slug",
        description="Short id used in the CLI and URLs: lower-case letters, digits, dashes.",
        validators=[DataRequired("Give a slug.")],
    )
    timezone = SelectField("Time zone", default="UTC")
    admin_name = StringField("First admin's name", validators=[DataRequired("Give a name.")])
    admin_email = EmailField("First admin's e-mail", validators=[DataRequired("Give an e-mail.")])
    admin_password = PasswordField(
        "First admin's password", validators=[DataRequired("Choose a password.")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()
