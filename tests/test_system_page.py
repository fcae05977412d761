"""The System page: its figures match what is in the database and in Redis, failed jobs and
failed timers can be retried, and who sees what (super admin: everything; an organization
admin: the installation's health figures and their own organization's timers)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from leadtrack.extensions import db
from leadtrack.models import ChannelName, DeliveryStatus, Notification, Timer, TimerKind, TimerState
from leadtrack.queues import enqueue
from leadtrack.redis_conn import get_redis
from leadtrack.services import system_status
from leadtrack.services.errors import NotFound, ValidationError
from leadtrack.timeutil import as_utc, utcnow
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead

PAGE = "/system"


def explode(word: str) -> None:
    """A job that fails, run by the `run_jobs` worker (it imports this module)."""
    raise RuntimeError(f"boom: {word}")


def _timer(app, org_id, lead_id, *, kind=TimerKind.ESCALATION, due_in=-60.0, **fields) -> int:
    with app.app_context():
        timer = Timer(
            org_id=org_id,
            lead_id=lead_id,
            kind=kind,
            fire_at=utcnow() + timedelta(seconds=due_in),
            **fields,
        )
        db.session.add(timer)
        db.session.commit()
        return timer.id


def _failed_timer(app, org_id, lead_id) -> int:
    return _timer(
        app,
        org_id,
        lead_id,
        state=TimerState.FAILED,
        attempts=5,
        outcome="failed: KeyError: 'ladder'",
        due_in=-3600,
    )


def _figure(page: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert match, f"no figure {name}"
    return match.group(1).strip()


def _timer_row(page: str, timer_id: int) -> str:
    match = re.search(rf'<tr id="timer-{timer_id}".*?</tr>', page, re.S)
    return match.group(0) if match else ""


# -- the figures ----------------------------------------------------------------------------


def test_pending_timers_due_in_the_past_show_their_count_and_lag(app, web, tenant):
    lead = make_lead(app, tenant.org.id)
    _timer(app, tenant.org.id, lead, due_in=-600)  # the oldest due: 10 minutes late
    _timer(app, tenant.org.id, lead, due_in=-30)
    _timer(app, tenant.org.id, lead, kind=TimerKind.WARNING, due_in=-5)
    _timer(app, tenant.org.id, lead, kind=TimerKind.AGING, due_in=3600)  # not due yet
    _timer(app, tenant.org.id, lead, due_in=-900, state=TimerState.DONE)  # fired: not counted
    _timer(app, tenant.org.id, lead, due_in=-900, state=TimerState.CANCELLED)

    web.login(tenant.admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)

    assert _figure(page, "timers-pending") == "4"
    assert _figure(page, "timers-due") == "3"
    assert re.fullmatch(r"10 min( \d+ s)?", _figure(page, "timers-lag"))
    assert 'data-kind="escalation">2<' in page
    assert 'data-kind="warning">1<' in page
    assert 'data-kind="aging">1<' in page
    assert 'data-kind="reclaim">0<' in page
    assert _figure(page, "timers-failed") == "0"
    assert "No failed timers." in page


def test_the_figures_with_an_explicit_now(app, ctx, tenant):
    lead = make_lead(app, tenant.org.id)
    now = utcnow()
    _timer(app, tenant.org.id, lead, due_in=-600)
    with app.app_context():
        oldest = db.session.scalar(select(Timer.fire_at))
    figures = system_status.timer_figures(db.session, now, tenant.org.id, lag_alarm_seconds=15)
    assert figures.due_now == 1
    assert figures.lag_seconds == pytest.approx((now - as_utc(oldest)).total_seconds())
    assert figures.late
    # Before the timer's time nothing is due and there is no lag.
    earlier = system_status.timer_figures(db.session, now - timedelta(hours=1), tenant.org.id)
    assert (earlier.due_now, earlier.lag_seconds, earlier.oldest_due_at) == (0, None, None)
    assert earlier.pending == 1 and not earlier.late


def test_nothing_due_shows_no_lag(app, web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert _figure(page, "timers-pending") == "0"
    assert _figure(page, "timers-lag") == "—"
    assert "nothing is due" in page


def test_queue_depths_match_redis(app, web, super_admin):
    with app.app_context():
        enqueue("tests.test_system_page.explode", "one")
        enqueue("tests.test_system_page.explode", "two")
        Queue("default", connection=get_redis()).enqueue_at(
            utcnow() + timedelta(hours=1), "tests.test_system_page.explode", "later"
        )
        Queue("default", connection=get_redis()).enqueue_at(
            utcnow() - timedelta(minutes=1), "tests.test_system_page.explode", "missed"
        )
    web.login(super_admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert _figure(page, "queued") == "2"
    assert _figure(page, "scheduled") == "2"
    assert 'data-figure="scheduled-late"><span class="badge bad">1</span>' in page  # missed
    assert _figure(page, "started") == "0"
    # No worker and no scheduler in this test: both are shown as missing, with the command.
    assert _figure(page, "workers") == "0"
    assert "leadtrack worker" in page and "leadtrack scheduler" in page
    assert _figure(page, "heartbeat") == "never"


def test_workers_and_the_heartbeat_job_are_shown(app, web, tenant):
    from rq import Worker

    from leadtrack.queues import HEARTBEAT_KEY

    with app.app_context():
        redis = get_redis()
        worker = Worker(["default"], connection=redis, name="worker-one")
        worker.register_birth()
        redis.set(HEARTBEAT_KEY, (utcnow() - timedelta(seconds=12)).isoformat())
    try:
        web.login(tenant.admin.email, PASSWORD)
        page = web.get(PAGE).get_data(as_text=True)
        assert _figure(page, "workers") == "1"
        assert "worker-one" in page
        assert re.search(r"1[2-9] s ago", page)  # the heartbeat job's age
        assert "Host (pid)" not in page  # hosts are the super admin's business
    finally:
        with app.app_context():
            worker.register_death()


def test_the_alert_outbox_backlog_of_the_admins_organization(app, ctx, web, tenant, other_tenant):
    now = utcnow()

    def note(org_id, status, key, due_in=-10):
        db.session.add(
            Notification(
                org_id=org_id,
                event="lead_assigned",
                channel=ChannelName.EMAIL,
                dedupe_key=key,
                status=status,
                next_attempt_at=now + timedelta(seconds=due_in),
            )
        )

    note(tenant.org.id, DeliveryStatus.PENDING, "a")
    note(tenant.org.id, DeliveryStatus.PENDING, "b", due_in=3600)  # quiet hours
    note(tenant.org.id, DeliveryStatus.RETRYING, "c")
    note(tenant.org.id, DeliveryStatus.DEAD, "d")
    note(tenant.org.id, DeliveryStatus.SENT, "e")
    note(other_tenant.org.id, DeliveryStatus.DEAD, "f")
    db.session.commit()

    mine = system_status.outbox_figures(db.session, now, tenant.org.id)
    assert (mine.due, mine.waiting, mine.retrying, mine.dead) == (2, 1, 1, 1)
    assert mine.lag_seconds == pytest.approx(10, abs=1)
    everyone = system_status.outbox_figures(db.session, now, None)
    assert everyone.dead == 2

    web.login(tenant.admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert _figure(page, "outbox-due") == "2"
    assert _figure(page, "outbox-dead") == "1"


def test_redis_away_still_shows_the_timers(app, ctx, tenant):
    lead = make_lead(app, tenant.org.id)
    _timer(app, tenant.org.id, lead)
    nowhere = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    status = system_status.gather(
        db.session, utcnow(), org_id=None, include_jobs=True, redis=nowhere
    )
    assert status.health is None and status.failed_jobs is None
    assert "ConnectionError" in status.redis_error
    assert status.timers.due_now == 1


# -- failed jobs ----------------------------------------------------------------------------


def test_a_failed_job_is_listed_and_retry_requeues_it(app, web, super_admin, run_jobs):
    with app.app_context():
        job = enqueue("tests.test_system_page.explode", "first")
    run_jobs()

    web.login(super_admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert "No failed jobs." not in page
    row = re.search(rf'<tr id="job-{job.id}".*?</tr>', page, re.S).group(0)
    assert "tests.test_system_page.explode" in row
    assert "RuntimeError: boom: first" in row  # the exception's last line
    assert 'name="csrf_token" type="hidden"' in row
    assert f'hx-post="/system/jobs/{job.id}/retry"' in row
    assert 'data-figure="failed"><span class="badge bad">1</span>' in page

    response = web.post(f"/system/jobs/{job.id}/retry", htmx=True)
    assert response.status_code == 200
    assert "back in the default queue" in response.get_data(as_text=True)
    with app.app_context():
        queue = Queue("default", connection=get_redis())
        assert job.id in queue.job_ids
        assert job.id not in queue.failed_job_registry

    # A second click: the job is no longer failed.
    again = web.post(f"/system/jobs/{job.id}/retry", htmx=True)
    assert again.status_code == 422
    assert "no longer failed (it is queued)" in again.get_data(as_text=True)
    assert web.post("/system/jobs/no-such-job/retry", htmx=True).status_code == 404

    run_jobs()  # it fails again, and is listed again
    page = web.get(PAGE).get_data(as_text=True)
    assert f'id="job-{job.id}"' in page


def test_no_failed_jobs_is_said_plainly(app, web, super_admin):
    web.login(super_admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert "No failed jobs." in page
    assert "No failed timers." in page


def test_failed_jobs_are_the_super_admins(app, web, tenant, run_jobs):
    with app.app_context():
        job = enqueue("tests.test_system_page.explode", "secret")
    run_jobs()
    web.login(tenant.admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert 'id="h-failed-jobs"' not in page and "boom: secret" not in page
    assert "listed, with their errors, for the platform administrator" in page
    assert web.post(f"/system/jobs/{job.id}/retry", htmx=True).status_code == 403
    with app.app_context():
        assert job.id in Queue("default", connection=get_redis()).failed_job_registry


def test_a_plain_form_post_retries_and_comes_back_to_the_page(app, web, super_admin, run_jobs):
    with app.app_context():
        job = enqueue("tests.test_system_page.explode", "plain")
    run_jobs()
    web.login(super_admin.email, PASSWORD)
    web.get(PAGE)
    response = web.post(f"/system/jobs/{job.id}/retry")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/system")
    assert "back in the default queue" in web.get(PAGE).get_data(as_text=True)


# -- failed timers --------------------------------------------------------------------------


def test_a_failed_timer_is_listed_and_retry_sets_it_pending(app, web, tenant):
    lead = make_lead(app, tenant.org.id)
    timer_id = _failed_timer(app, tenant.org.id, lead)

    web.login(tenant.admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert _figure(page, "timers-failed") == "1"
    row = _timer_row(page, timer_id)
    assert f'href="/leads/{lead}"' in row
    assert "escalation (tier 2)" in row
    assert "KeyError: &#39;ladder&#39;" in row
    assert 'name="csrf_token" type="hidden"' in row
    assert f'hx-post="/system/timers/{timer_id}/retry"' in row

    before = utcnow()
    response = web.post(f"/system/timers/{timer_id}/retry", htmx=True)
    assert response.status_code == 200
    assert "pending again" in response.get_data(as_text=True)
    with app.app_context():
        timer = db.session.get(Timer, timer_id)
        assert timer.state == TimerState.PENDING
        assert timer.attempts == 0
        assert before - timedelta(seconds=1) <= as_utc(timer.fire_at) <= utcnow()
        assert timer.outcome.startswith("retried after: failed: KeyError")

    again = web.post(f"/system/timers/{timer_id}/retry", htmx=True)
    assert again.status_code == 422
    assert "no longer failed" in again.get_data(as_text=True)
    page = web.get(PAGE).get_data(as_text=True)
    assert "No failed timers." in page
    assert _figure(page, "timers-due") == "1"  # the sweep fires it next


def test_the_sweep_fires_a_retried_timer(app, ctx, tenant):
    from leadtrack.services import clock_steps

    lead = make_lead(app, tenant.org.id)
    timer_id = _failed_timer(app, tenant.org.id, lead)
    now = utcnow()
    assert timer_id not in clock_steps.due_ids(db.session, now + timedelta(seconds=1))
    system_status.retry_failed_timer(db.session, timer_id, now, org_id=tenant.org.id)
    db.session.commit()
    assert timer_id in clock_steps.due_ids(db.session, now + timedelta(seconds=1))


def test_retry_failed_timer_refuses_other_organizations_and_live_timers(
    app, ctx, tenant, other_tenant
):
    theirs = _failed_timer(app, other_tenant.org.id, make_lead(app, other_tenant.org.id))
    live = _timer(app, tenant.org.id, make_lead(app, tenant.org.id))
    with pytest.raises(NotFound):
        system_status.retry_failed_timer(db.session, theirs, utcnow(), org_id=tenant.org.id)
    with pytest.raises(NotFound):
        system_status.retry_failed_timer(db.session, 987654, utcnow())
    with pytest.raises(ValidationError):
        system_status.retry_failed_timer(db.session, live, utcnow(), org_id=tenant.org.id)
    db.session.rollback()


# -- who sees what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "store_manager", "area_manager", "receptionist"])
def test_only_admins_open_the_page(web, tenant, role):
    web.login(getattr(tenant, role).email, PASSWORD)
    assert web.get(PAGE).status_code == 403
    assert web.get(f"{PAGE}/figures").status_code == 403
    assert web.post("/system/timers/1/retry", htmx=True).status_code == 403


def test_anonymous_is_sent_to_sign_in_and_a_stale_poll_is_left_alone(web, tenant):
    response = web.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    poll = web.get(f"{PAGE}/figures", headers={"HX-Request": "true"})
    assert poll.status_code == 204


def test_an_org_admin_sees_only_their_organizations_timers(
    app, web, other_web, tenant, other_tenant, super_admin
):
    mine = make_lead(app, tenant.org.id)
    theirs = make_lead(app, other_tenant.org.id)
    _timer(app, tenant.org.id, mine, due_in=-60)
    _timer(app, other_tenant.org.id, theirs, due_in=-1200)
    _timer(app, other_tenant.org.id, theirs, due_in=-1200)
    my_failed = _failed_timer(app, tenant.org.id, mine)
    their_failed = _failed_timer(app, other_tenant.org.id, theirs)

    web.login(tenant.admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert _figure(page, "timers-pending") == "1"
    assert re.fullmatch(r"1 min( \d+ s)?", _figure(page, "timers-lag"))  # not the other's 20 min
    assert _figure(page, "timers-failed") == "1"
    assert _timer_row(page, my_failed) and not _timer_row(page, their_failed)
    assert other_tenant.org.name not in page
    # Another organization's timer: not found, and left as it was.
    assert web.post(f"/system/timers/{their_failed}/retry", htmx=True).status_code == 404
    with app.app_context():
        assert db.session.get(Timer, their_failed).state == TimerState.FAILED

    root = other_web
    root.login(super_admin.email, PASSWORD)
    page = root.get(PAGE).get_data(as_text=True)
    assert _figure(page, "timers-pending") == "3"
    assert re.fullmatch(r"20 min( \d+ s)?", _figure(page, "timers-lag"))
    assert _figure(page, "timers-failed") == "2"
    row = _timer_row(page, their_failed)
    assert other_tenant.org.name in row and "/leads/" not in row  # no org: no lead page
    assert root.post(f"/system/timers/{their_failed}/retry", htmx=True).status_code == 200
    with app.app_context():
        assert db.session.get(Timer, their_failed).state == TimerState.PENDING


def test_retry_needs_the_csrf_token(app, web, tenant):
    timer_id = _failed_timer(app, tenant.org.id, make_lead(app, tenant.org.id))
    web.login(tenant.admin.email, PASSWORD)
    response = web.client.post(f"/system/timers/{timer_id}/retry", headers={"HX-Request": "true"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Timer, timer_id).state == TimerState.FAILED


def test_the_page_polls_its_figures_and_the_menu_links_to_it(app, web, tenant):
    web.login(tenant.admin.email, PASSWORD)
    page = web.get(PAGE).get_data(as_text=True)
    assert 'hx-get="/system/figures"' in page
    assert 'hx-trigger="every 5s' in page
    assert '<a href="/system">System</a>' in web.get("/").get_data(as_text=True)
    fragment = web.get(f"{PAGE}/figures").get_data(as_text=True)
    assert "<html" not in fragment and 'data-figure="timers-pending"' in fragment
    # The old address still works.
    assert web.get("/status").status_code == 200


# -- in a real browser ----------------------------------------------------------------------


@pytest.mark.browser
def test_retry_swaps_the_row_and_the_figures_refresh_by_themselves(app, page, tenant):
    from playwright.sync_api import expect

    from tests.test_browser import assert_not_reloaded, mark_page, nav_link, sign_in

    lead = make_lead(app, tenant.org.id)
    timer_id = _failed_timer(app, tenant.org.id, lead)
    sign_in(page, tenant.admin.email)
    nav_link(page, "System").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("System")
    mark_page(page)
    expect(page.locator('[data-figure="timers-failed"]')).to_have_text("1")

    page.get_by_role("button", name=f"Retry timer {timer_id} of lead {lead}").click()
    expect(page.locator(f"#timer-{timer_id}")).to_contain_text("pending again")
    with app.app_context():
        assert db.session.get(Timer, timer_id).state == TimerState.PENDING

    # A timer written elsewhere shows up within the 5 s poll, without a reload.
    _timer(app, tenant.org.id, lead, due_in=-120)
    expect(page.locator('[data-figure="timers-pending"]')).to_have_text("2", timeout=12_000)
    expect(page.get_by_text("No failed timers.")).to_be_visible()
    assert_not_reloaded(page)


@pytest.mark.browser
def test_the_page_fits_a_phone(app, browser, live_server, tenant):
    from playwright.sync_api import expect

    from tests.test_browser import has_horizontal_scroll, sign_in

    lead = make_lead(app, tenant.org.id)
    _failed_timer(app, tenant.org.id, lead)
    _timer(app, tenant.org.id, lead, due_in=-90)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server, is_mobile=True
    )
    try:
        phone = context.new_page()
        sign_in(phone, tenant.admin.email)
        phone.goto(PAGE)
        expect(phone.get_by_role("heading", name="Failed timers")).to_be_visible()
        assert not has_horizontal_scroll(phone), "the System page scrolls sideways on a phone"
    finally:
        context.close()
