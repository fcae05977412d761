"""Errors a service raises for bad input: a message per field, nothing stored."""

from __future__ import annotations


class ValidationError(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors.items()))
        self.errors = errors


class NotFound(Exception):
    """The thing does not exist, or the actor may not see it (the same answer, on purpose)."""


class Forbidden(Exception):
    """The actor may see the thing but lacks the privilege for this action."""
