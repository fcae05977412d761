"""The stack's ceiling for intake: Flask + SQLAlchemy Core + psycopg, nothing else.

One `POST /rows` that reads the same JSON body as `POST /api/v1/leads` and inserts one row
into `bench_bare_row` in the same database, with the same pool settings as the app
(Flask-SQLAlchemy's defaults for PostgreSQL plus `pool_pre_ping`). No auth, no rate limit,
no validation, no history: what any Flask endpoint that writes one row costs on this stack.

    DATABASE_URL=postgresql://… gunicorn -w 4 -k gthread --threads 4 --chdir bench bare_app:app

`intake_bench.py` creates the table (`metadata.create_all`) before starting the server.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
)

from leadtrack.config import normalize_database_url

metadata = MetaData()
rows = Table(
    "bench_bare_row",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(32), nullable=False, default=""),
    Column("email", String(254), nullable=False, default=""),
    Column("source", String(40), nullable=False, default=""),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def make_engine(url: str | None = None):
    return create_engine(
        normalize_database_url(url or os.environ["DATABASE_URL"]), pool_pre_ping=True
    )


app = Flask(__name__)
engine = make_engine() if os.environ.get("DATABASE_URL") else None


def _first(value) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


@app.post("/rows")
def create_row():
    body = request.get_json(force=True)
    values = {
        "name": str(body.get("name", ""))[:200],
        "phone": _first(body.get("phones"))[:32],
        "email": _first(body.get("emails"))[:254],
        "source": str(body.get("source", ""))[:40],
        "payload": body,
        "created_at": datetime.now(UTC),
    }
    with engine.begin() as conn:
        new_id = conn.execute(insert(rows).returning(rows.c.id), values).scalar_one()
    return jsonify(id=new_id, name=values["name"]), 201


@app.get("/health")
def health():
    return jsonify(ok=True)
