"""A test client that behaves like a browser with CSRF: it reads the token from the page."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

_HIDDEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')


class WebClient:
    def __init__(self, client: FlaskClient):
        self.client = client
        self._token: str | None = None

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        self._remember_token(response.get_data(as_text=True))
        return response

    def post(self, url: str, data: dict | None = None, *, htmx: bool = False, **kwargs):
        """POST like the page would: the form's csrf_token, or htmx's X-CSRFToken header."""
        if self._token is None:
            self.get("/login")
        payload = dict(data or {})
        headers = dict(kwargs.pop("headers", {}))
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRFToken": self._token})
        else:
            payload.setdefault("csrf_token", self._token)
        response = self.client.post(url, data=payload, headers=headers, **kwargs)
        self._remember_token(response.get_data(as_text=True))
        return response

    def login(self, email: str, password: str):
        self._token = None
        response = self.post("/login", {"email": email, "password": password})
        self._token = None  # the session was renewed at sign-in: its token too
        self.get("/login", follow_redirects=True)
        return response

    def logout(self):
        return self.post("/logout")

    def _remember_token(self, html: str) -> None:
        match = _HIDDEN.search(html) or _HEADER.search(html)
        if match:
            self._token = match.group(1)
