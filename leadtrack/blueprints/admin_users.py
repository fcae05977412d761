"""User management: create, edit, privileges, out-of-office, deactivate and reactivate."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from leadtrack.blueprints.guards import current_org, privilege_required
from leadtrack.extensions import db
from leadtrack.forms.common import apply_errors
from leadtrack.forms.users import AbsenceForm, NewUserForm, PrivilegesForm, UserForm
from leadtrack.models import Privilege, User
from leadtrack.services import access, units, users
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import utcnow

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
MANAGE = Privilege.MANAGE_USERS


def _scope_units() -> frozenset[int] | None:
    return users.manageable_unit_ids(db.session, current_user)


def _managed_person(user_id: int) -> User:
    """The user if the actor may see them (else 404) and manage them (else 403)."""
    person = access.get_visible(db.session, current_user, User, user_id)
    users.ensure_may_manage(current_user, person)
    return person


def _fill_choices(form: UserForm, org_id: int, editing: User | None = None) -> None:
    form.role.choices = [(r.value, r.label) for r in users.assignable_roles(current_user)]
    allowed = _scope_units()
    form.unit_id.choices = [("", "— no unit —")] + [
        (row.unit.id, "\u2003" * row.depth + row.unit.name)
        for row in units.tree(db.session, org_id)
        if allowed is None or row.unit.id in allowed
    ]
    people = [("", "— none —")] + [
        (u.id, u.name) for u in users.colleagues(db.session, org_id) if u is not editing
    ]
    form.supervisor_id.choices = people
    form.backup_id.choices = people


def _profile(form: UserForm, target: User | None = None) -> users.Profile:
    extra = users.assignment_errors(
        current_user, form.role.data, form.unit_id.data, _scope_units(), target
    )
    return users.Profile(
        name=form.name.data or "",
        email=form.email.data or "",
        role=form.role.data or "",
        unit_id=form.unit_id.data,
        supervisor_id=form.supervisor_id.data,
        backup_id=form.backup_id.data,
        phone=form.phone.data or "",
        timezone=form.timezone.data or None,
        working_hours=form.weekly_hours() if form.own_hours.data else None,
        max_open_leads=form.max_open_leads.data,
        extra_errors=extra,
    )


@bp.get("")
@privilege_required(MANAGE)
def index():
    people = db.session.scalars(
        access.visible(db.session, current_user, User).order_by(
            User.is_active_user.desc(), User.name
        )
    ).all()
    return render_template("admin/users.html", people=people)


@bp.route("/new", methods=["GET", "POST"])
@privilege_required(MANAGE)
def create():
    org = current_org()
    form = NewUserForm()
    _fill_choices(form, org.id)
    if form.validate_on_submit():
        try:
            profile = _profile(form)
            user = users.create_user(
                db.session,
                org,
                email=profile.email,
                name=profile.name,
                role=profile.role,
                password=form.password.data,
                unit_id=profile.unit_id,
                supervisor_id=profile.supervisor_id,
                backup_id=profile.backup_id,
                phone=profile.phone,
                extra_errors=profile.extra_errors,
            )
            user.timezone, user.working_hours = profile.timezone, profile.working_hours
            user.max_open_leads = profile.max_open_leads
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"{user.name} can sign in now.", "success")
            return redirect(url_for("admin_users.edit", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


@bp.route("/<id:user_id>", methods=["GET", "POST"])
@privilege_required(MANAGE)
def edit(user_id: int):
    org = current_org()
    person = _managed_person(user_id)
    form = UserForm(obj=person)
    _fill_choices(form, org.id, person)
    if not form.is_submitted():
        form.own_hours.data = person.working_hours is not None
        form.fill_weekly_hours(person.working_hours or org.business_hours)
    if form.validate_on_submit():
        try:
            users.update_user(db.session, org, person, _profile(form, person))
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(f"{person.name} is saved.", "success")
            return redirect(url_for("admin_users.edit", user_id=person.id))
    return _edit_page(person, form)


def _edit_page(person: User, form: UserForm, **extra):
    privileges = PrivilegesForm(formdata=None, prefix="priv")
    for privilege in Privilege:
        privileges[privilege.value].data = person.can(privilege)
    return render_template(
        "admin/user_edit.html",
        person=person,
        form=form,
        privileges_form=privileges,
        absence_form=extra.pop("absence_form", AbsenceForm(formdata=None, prefix="absence")),
        **extra,
    )


@bp.post("/<id:user_id>/privileges")
@privilege_required(MANAGE)
def privileges(user_id: int):
    person = _managed_person(user_id)
    users.ensure_may_set_privileges(current_user)
    form = PrivilegesForm(prefix="priv")
    if form.validate_on_submit():
        wanted = {p: bool(form[p.value].data) for p in Privilege}
        users.set_privilege_overrides(person, wanted)
        db.session.commit()
    return render_template(
        "admin/_privileges.html", person=person, privileges_form=form, saved=True
    )


@bp.post("/<id:user_id>/absences")
@privilege_required(MANAGE)
def add_absence(user_id: int):
    person = _managed_person(user_id)
    form = AbsenceForm(prefix="absence")
    if form.validate_on_submit():
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(person.timezone or current_org().timezone)
        try:
            users.add_out_of_office(
                db.session,
                person,
                form.starts_at.data.replace(tzinfo=zone),
                form.ends_at.data.replace(tzinfo=zone),
                form.note.data or "",
            )
        except ValidationError as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            form = AbsenceForm(formdata=None, prefix="absence")
    return render_template("admin/_absences.html", person=person, absence_form=form)


@bp.post("/<id:user_id>/absences/<id:period_id>/delete")
@privilege_required(MANAGE)
def delete_absence(user_id: int, period_id: int):
    person = _managed_person(user_id)
    users.remove_out_of_office(db.session, person, period_id)
    db.session.commit()
    return render_template(
        "admin/_absences.html",
        person=person,
        absence_form=AbsenceForm(formdata=None, prefix="absence"),
    )


@bp.post("/<id:user_id>/deactivate")
@privilege_required(MANAGE)
def deactivate(user_id: int):
    person = _managed_person(user_id)
    error = None
    try:
        users.deactivate(person, current_user, utcnow())
    except ValidationError as exc:
        error = exc.errors["user"]
    else:
        db.session.commit()
    return render_template("admin/_user_row.html", person=person, error=error), (
        422 if error else 200
    )


@bp.post("/<id:user_id>/reactivate")
@privilege_required(MANAGE)
def reactivate(user_id: int):
    person = _managed_person(user_id)
    users.reactivate(person)
    db.session.commit()
    return render_template("admin/_user_row.html", person=person, error=None)
