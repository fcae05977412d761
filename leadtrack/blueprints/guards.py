"""Route guards: who may open a page. Object visibility is the scoping helper's job."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from leadtrack.models import Organization, Privilege, Role
from leadtrack.services.errors import NotFound


def roles_required(*roles: Role):
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role_enum not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def privilege_required(privilege: Privilege):
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.org_id is None or not current_user.can(privilege):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


@login_required
def organization_members_only():
    """A `before_request` hook: signed-in people of an organization (not platform admins)."""
    if current_user.org_id is None:
        abort(403)


def current_org() -> Organization:
    org = current_user.organization
    if org is None:
        raise NotFound("organization")
    return org
