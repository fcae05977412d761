from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from leadtrack.forms.common import optional_int
from leadtrack.models import UNIT_KINDS


class UnitForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name the unit."), Length(max=120)])
    kind = SelectField("Kind", choices=[(k, k.capitalize()) for k in UNIT_KINDS], default="store")
    parent_id = SelectField("Parent", coerce=optional_int, validate_choice=False)
    manager_id = SelectField("Manager", coerce=optional_int, validate_choice=False)
