"""HTTP: parse -> call a service -> commit -> render a page, a fragment or JSON."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from leadtrack.blueprints import (
        admin_keys,
        admin_org,
        admin_units,
        admin_users,
        auth,
        home,
        platform,
    )
    from leadtrack.blueprints.api import api_v1

    for module in (auth, home, admin_org, admin_units, admin_users, admin_keys, platform):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_v1)
