"""Rules as a document over the API: GET/PUT /api/v1/rules, POST /api/v1/rules/simulate."""

from __future__ import annotations
