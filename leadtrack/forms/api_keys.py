from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from leadtrack.models import SCOPES


class ApiKeyForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Name the key after where it is used."), Length(max=120)]
    )
    scopes = SelectMultipleField(
        "Scopes",
        choices=[(scope, f"{scope} — {text}") for scope, text in SCOPES.items()],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validators=[DataRequired("Choose at least one scope.")],
    )
