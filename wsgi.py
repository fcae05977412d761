"""WSGI entry point: `gunicorn wsgi:app`."""

from leadtrack import create_app

app = create_app()
