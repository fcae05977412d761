"""The live board in a real browser: a lead posted to the API appears on an open board
without a reload; a rep's board never hears of another rep's lead; a card dragged to a
column (or moved by keyboard) changes the status and the history says so, a refused move
snaps back with the reason; a countdown turns red at its deadline; and a board whose server
restarts catches up what it missed. Also writes docs/screenshot-board.png."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from leadtrack.extensions import db
from leadtrack.models import Lead
from leadtrack.timeutil import utcnow
from tests.support.clock import process_env, wait_until
from tests.support.factories import PASSWORD
from tests.support.leads import make_lead
from tests.test_api_leads import make_key
from tests.test_browser import PHONE, assert_not_reloaded, has_horizontal_scroll, mark_page
from tests.test_browser import sign_in as browser_sign_in

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def open_board(page: Page, email: str, path: str = "/board") -> None:
    browser_sign_in(page, email)
    page.goto(path)
    expect(page.locator("#live-status")).to_have_text("Live")
    page.evaluate(
        "window.heard = [];"
        " document.addEventListener('leadtrack:lead', (e) => window.heard.push(e.detail.lead))"
    )
    mark_page(page)


def column(page: Page, name: str):
    return page.locator(".board-column").filter(has=page.get_by_role("heading", name=name))


def post_lead(app, key: str, **fields) -> int:
    body = {"name": "Api Person", "phones": "030 5550111", "source": "web", **fields}
    response = app.test_client().post(
        "/api/v1/leads", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def history_lines(page: Page, lead_id: int) -> str:
    page.goto(f"/leads/{lead_id}")
    return page.locator(".timeline").inner_text()


def test_a_lead_posted_to_the_api_appears_without_a_reload(page: Page, app, tenant):
    key = make_key(app, tenant)
    open_board(page, tenant.admin.email)
    expect(page.locator("#count-new")).to_have_text("0")
    lead_id = post_lead(app, key, name="Speedy Gonzales", temperature="hot")
    card = page.locator(f"#card-{lead_id}")
    expect(card).to_be_visible(timeout=2000)
    expect(card).to_contain_text("Speedy Gonzales")
    expect(column(page, "New").locator(f"#card-{lead_id}")).to_be_visible()
    expect(page.locator("#count-new")).to_have_text("1")
    assert_not_reloaded(page)


def test_a_reps_board_hears_nothing_of_another_reps_lead(page: Page, app, tenant):
    open_board(page, tenant.agent.email)
    theirs = make_lead(app, tenant.org.id, by=tenant.other_agent.id, name="Not Yours")
    mine = make_lead(app, tenant.org.id, assignee_id=tenant.agent.id, name="Yours Truly")
    expect(page.locator(f"#card-{mine}")).to_be_visible(timeout=2000)
    assert page.evaluate("window.heard") == [mine]
    expect(page.locator(f"#card-{theirs}")).to_have_count(0)
    # the rep was alerted: the lead was given to them
    expect(page.locator(".toast")).to_contain_text("Lead Yours Truly assigned to you")


def test_drag_to_a_column_changes_the_status(page: Page, app, tenant):
    lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id, name="Drag Me")
    open_board(page, tenant.agent.email)
    card = page.locator(f"#card-{lead_id}")
    card.drag_to(column(page, "Contacted"))
    expect(column(page, "Contacted").locator(f"#card-{lead_id}")).to_be_visible()
    expect(column(page, "New").locator(".column-count")).to_have_text("0")
    expect(column(page, "Contacted").locator(".column-count")).to_have_text("1")
    assert_not_reloaded(page)
    assert "Status New → Contacted" in history_lines(page, lead_id)


def test_moves_by_keyboard_closing_asks_why_and_a_refusal_snaps_back(page: Page, app, tenant):
    lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id, name="Key Board")
    open_board(page, tenant.agent.email)
    card = page.locator(f"#card-{lead_id}")
    card.focus()
    page.keyboard.press("Tab")  # the lead's name
    page.keyboard.press("Tab")
    menu = card.get_by_label("Move Key Board to")
    expect(menu).to_be_focused()
    menu.select_option(label="Won")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Close Key Board as Won")
    dialog.get_by_label("Why is it closed?").fill("Signed the contract")
    page.keyboard.press("Enter")
    expect(column(page, "Won").locator(f"#card-{lead_id}")).to_be_visible()

    # Reopening is a manager's call: the card goes back to Won and the board says why.
    page.locator(f"#card-{lead_id}").get_by_label("Move Key Board to").select_option(
        label="Contacted"
    )
    expect(page.locator("#board-message")).to_have_text(
        "Your role does not allow you to reopen a closed lead."
    )
    expect(column(page, "Won").locator(f"#card-{lead_id}")).to_be_visible()
    expect(page.locator(f"#card-{lead_id}").get_by_label("Move Key Board to")).to_have_value(
        str(page.locator(f"#card-{lead_id}").get_attribute("data-column"))
    )
    assert_not_reloaded(page)
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.status.name, lead.close_reason) == ("Won", "Signed the contract")


def test_a_countdown_turns_red_at_its_deadline(page: Page, app, tenant):
    lead_id = make_lead(app, tenant.org.id, by=tenant.agent.id, name="Tick Tock")
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        lead.response_due_at = utcnow() + timedelta(seconds=3)
        db.session.commit()
    open_board(page, tenant.agent.email)
    countdown = page.locator(f"#card-{lead_id} .countdown")
    expect(countdown).to_have_class("countdown tone-soon")
    expect(countdown).to_contain_text("left")
    expect(countdown).to_have_class("countdown tone-over", timeout=6000)
    expect(countdown).to_contain_text("over")


def test_the_board_at_laptop_and_phone_widths(page: Page, app, tenant):
    now = utcnow()
    for n, (name, temperature, minutes) in enumerate(
        [
            ("Ada Lovelace", "hot", -4),
            ("Grace Hopper", "warm", 3),
            ("Alan Turing", None, 25),
            ("Edsger Dijkstra", "cold", None),
        ]
    ):
        lead_id = make_lead(
            app, tenant.org.id, by=tenant.agent.id, name=name, temperature=temperature,
            value=str(1000 * (n + 1)), source="web", phones=f"030 555012{n}",
        )  # fmt: skip
        if minutes is not None:
            with app.app_context():
                lead = db.session.get(Lead, lead_id)
                lead.response_due_at = now + timedelta(minutes=minutes)
                lead.overdue_at = now if minutes < 0 else None
                lead.escalation_tier = 2 if minutes < 0 else 1
                db.session.commit()
    open_board(page, tenant.admin.email)
    page.screenshot(path=str(ROOT / "docs" / "screenshot-board.png"))
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#live-status")).to_have_text("Live")
    assert not has_horizontal_scroll(page)


# -- a server restart -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_web(app, port: int, log: Path) -> subprocess.Popen:
    env = process_env(app) | {"LEADTRACK_INSTANCE": os.environ["LEADTRACK_INSTANCE"]}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [GUNICORN, "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
             "--threads", "8", "--graceful-timeout", "3", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    up = wait_until(lambda: _answers(port), 30)
    assert up, log.read_text()
    return process


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_board_catches_up_after_the_server_restarts(page: Page, app, tenant, tmp_path):
    port = _free_port()
    log = tmp_path / "web.log"
    server = _start_web(app, port, log)
    try:
        page.goto(f"http://127.0.0.1:{port}/login")
        page.get_by_label("E-mail").fill(tenant.admin.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"http://127.0.0.1:{port}/board")
        expect(page.locator("#live-status")).to_have_text("Live")
        mark_page(page)
        before = make_lead(app, tenant.org.id, name="Before The Restart")
        expect(page.locator(f"#card-{before}")).to_be_visible(timeout=2000)

        server.terminate()
        server.wait(timeout=30)
        expect(page.locator("#live-status")).not_to_have_text("Live")
        missed = make_lead(app, tenant.org.id, name="While It Was Down")
        server = _start_web(app, port, log)
        expect(page.locator(f"#card-{missed}")).to_be_visible(timeout=15000)
        expect(page.locator("#live-status")).to_have_text("Live")
        assert_not_reloaded(page)
    finally:
        server.terminate()
        server.wait(timeout=30)
