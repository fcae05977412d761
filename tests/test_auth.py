"""Sign in and out, lockout, rate limit, password change and reset by real e-mail."""

import re

from leadtrack.extensions import db
from leadtrack.models import User
from tests.support.factories import PASSWORD
from tests.support.smtp import text_part


def test_sign_in_and_out(web, tenant):
    response = web.login(tenant.agent.email, PASSWORD)
    assert response.status_code == 302
    assert "Hello, Agent" in web.get("/").get_data(as_text=True)

    web.logout()
    response = web.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_email_is_case_insensitive(web, tenant):
    response = web.login(tenant.agent.email.upper(), PASSWORD)
    assert response.status_code == 302


def test_wrong_password_is_refused_with_a_message(web, tenant):
    response = web.login(tenant.agent.email, "not-the-password-1")
    assert response.status_code == 200
    assert "E-mail or password is not right." in response.get_data(as_text=True)
    assert web.get("/").status_code == 302


def test_unknown_email_gets_the_same_message(web, tenant):
    response = web.login("nobody@acme.example.com", PASSWORD)
    assert "E-mail or password is not right." in response.get_data(as_text=True)


def test_five_wrong_passwords_lock_the_account(web, app, tenant):
    for _ in range(5):
        web.login(tenant.agent.email, "wrong-password-1")
    response = web.login(tenant.agent.email, PASSWORD)
    page = response.get_data(as_text=True)
    assert "locked" in page
    assert web.get("/").status_code == 302  # the right password does not get in either
    with app.app_context():
        assert db.session.get(User, tenant.agent.id).locked_until is not None


def test_lock_expires(web, app, tenant):
    from datetime import timedelta

    from leadtrack.timeutil import utcnow

    for _ in range(5):
        web.login(tenant.agent.email, "wrong-password-1")
    with app.app_context():
        user = db.session.get(User, tenant.agent.id)
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert web.login(tenant.agent.email, PASSWORD).status_code == 302


def test_a_success_resets_the_failure_count(web, app, tenant):
    for _ in range(4):
        web.login(tenant.agent.email, "wrong-password-1")
    assert web.login(tenant.agent.email, PASSWORD).status_code == 302
    web.logout()
    for _ in range(4):
        web.login(tenant.agent.email, "wrong-password-1")
    assert web.login(tenant.agent.email, PASSWORD).status_code == 302


def test_login_is_rate_limited_per_ip(web, tenant):
    statuses = [
        web.login("someone@acme.example.com", "x-password-1").status_code for _ in range(21)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429


def test_deactivated_user_cannot_sign_in(web, app, tenant):
    with app.app_context():
        db.session.get(User, tenant.agent.id).is_active_user = False
        db.session.commit()
    response = web.login(tenant.agent.email, PASSWORD)
    assert "deactivated" in response.get_data(as_text=True)
    assert web.get("/").status_code == 302


def test_deactivation_ends_an_open_session(web, app, tenant):
    web.login(tenant.agent.email, PASSWORD)
    assert web.get("/").status_code == 200
    with app.app_context():
        db.session.get(User, tenant.agent.id).is_active_user = False
        db.session.commit()
    assert web.get("/").status_code == 302


def test_change_password(web, tenant):
    web.login(tenant.agent.email, PASSWORD)
    web.get("/account/password")
    response = web.post(
        "/account/password",
        {
            "current_password": "wrong-one-1",
            "new_password": "new-secret-42",
            "confirm": "new-secret-42",
        },
    )
    assert "This is not your current password." in response.get_data(as_text=True)
    response = web.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "short1", "confirm": "short1"},
    )
    assert "at least 10 characters" in response.get_data(as_text=True)
    response = web.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "new-secret-42", "confirm": "new-secret-42"},
    )
    assert response.status_code == 302
    web.logout()
    assert web.login(tenant.agent.email, PASSWORD).status_code == 200
    assert web.login(tenant.agent.email, "new-secret-42").status_code == 302


def test_csrf_token_is_required(app, tenant):
    client = app.test_client()
    response = client.post("/login", data={"email": tenant.agent.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)


def _reset_link(smtp_sink) -> str:
    [message] = smtp_sink.wait_for(1)
    body = text_part(message)
    return re.search(r"http://localhost(/reset-password/\S+)", body).group(1)


def test_password_reset_mail_arrives_over_smtp_and_its_link_works_once(
    web, tenant, smtp_sink, run_jobs
):
    response = web.post("/forgot-password", {"email": tenant.agent.email})
    assert "Check your mail" in response.get_data(as_text=True)
    run_jobs()

    [message] = smtp_sink.wait_for(1)
    assert message["To"] == tenant.agent.email
    assert message["Subject"] == "Reset your LeadTrack password"
    link = _reset_link(smtp_sink)

    assert web.get(link).status_code == 200
    response = web.post(link, {"new_password": "brand-new-pass-7", "confirm": "brand-new-pass-7"})
    assert response.status_code == 302
    assert web.login(tenant.agent.email, "brand-new-pass-7").status_code == 302
    web.logout()

    again = web.get(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_reset_for_unknown_email_sends_nothing_and_says_the_same(web, smtp_sink, run_jobs, tenant):
    response = web.post("/forgot-password", {"email": "ghost@acme.example.com"})
    assert "Check your mail" in response.get_data(as_text=True)
    run_jobs()
    assert smtp_sink.wait_for(1, timeout=0.5) == []


def test_expired_reset_link_is_refused(web, app, tenant):
    from leadtrack.services.auth import make_reset_token

    with app.app_context():
        token = make_reset_token(db.session.get(User, tenant.agent.id), app.config["SECRET_KEY"])
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    try:
        response = web.get(f"/reset-password/{token}")
    finally:
        app.config["PASSWORD_RESET_MAX_AGE"] = 3600
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_tampered_reset_link_is_refused(web, tenant):
    response = web.get("/reset-password/not-a-real-token")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_open_redirect_after_login_is_refused(web, tenant):
    web.get("/login")
    response = web.post(
        "/login?next=//evil.example.com/", {"email": tenant.agent.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"
