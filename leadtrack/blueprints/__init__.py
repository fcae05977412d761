"""HTTP: parse -> call a service -> commit -> render a page, a fragment or JSON."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from leadtrack.blueprints import (
        admin_keys,
        admin_org,
        admin_units,
        admin_users,
        alert_links,
        alert_preferences,
        alert_settings,
        auth,
        board,
        clock_rules,
        deliveries,
        home,
        lead_export,
        lead_messages,
        lead_settings,
        leads,
        live,
        notifications,
        platform,
        rules,
        system,
        tasks,
        twilio_hooks,
    )
    from leadtrack.blueprints.api import api_v1
    from leadtrack.blueprints.api import leads as api_leads  # noqa: F401 - adds its routes
    from leadtrack.blueprints.api import rules as api_rules  # noqa: F401 - adds its routes

    modules = (
        auth,
        home,
        admin_org,
        admin_units,
        admin_users,
        admin_keys,
        platform,
        leads,
        board,
        live,
        lead_export,
        lead_settings,
        alert_links,
        twilio_hooks,
        notifications,
        deliveries,
        lead_messages,
        alert_settings,
        alert_preferences,
        rules,
        clock_rules,
        tasks,
        system,
    )
    for module in modules:
        app.register_blueprint(module.bp)
    app.register_blueprint(api_v1)
