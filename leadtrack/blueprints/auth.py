"""Sign in and out, change a password, reset a forgotten one by e-mail."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from leadtrack.extensions import db, limiter
from leadtrack.forms.auth import ChangePasswordForm, ForgotPasswordForm, LoginForm, NewPasswordForm
from leadtrack.forms.common import apply_errors
from leadtrack.queues import enqueue
from leadtrack.services import auth
from leadtrack.services.account_mail import password_reset_email
from leadtrack.services.errors import ValidationError
from leadtrack.timeutil import utcnow

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _policy() -> auth.LoginPolicy:
    config = current_app.config
    return auth.LoginPolicy(config["LOCKOUT_THRESHOLD"], config["LOCKOUT_MINUTES"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        result = auth.authenticate(
            db.session, form.email.data, form.password.data, utcnow(), _policy()
        )
        db.session.commit()
        if result.user is not None:
            session.clear()
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append(result.error)
    return render_template("auth/login.html", form=form)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            auth.change_password(current_user, form.current_password.data, form.new_password.data)
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash("Your password is changed.", "success")
            return redirect(url_for("home.index"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = auth.find_user_by_email(db.session, form.email.data)
        if user is not None and user.is_active_user:
            _send_reset_mail(user)
        # The same answer whether or not the address is known: no account discovery.
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form)


def _send_reset_mail(user) -> None:
    config = current_app.config
    token = auth.make_reset_token(user, config["SECRET_KEY"])
    url = config["BASE_URL"].rstrip("/") + url_for("auth.reset_password", token=token)
    message = password_reset_email(user, url, config["PASSWORD_RESET_MAX_AGE"] // 60)
    enqueue("jobs.mail.deliver_email", message.as_dict())


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset_password(token: str):
    config = current_app.config
    try:
        user = auth.user_for_reset_token(
            db.session, token, config["SECRET_KEY"], config["PASSWORD_RESET_MAX_AGE"]
        )
    except ValidationError as exc:
        return render_template("auth/reset_invalid.html", message=exc.errors["token"]), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            auth.set_password(user, form.new_password.data)
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            db.session.commit()
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
