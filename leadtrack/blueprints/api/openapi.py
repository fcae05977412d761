"""The OpenAPI document of /api/v1; each issue adds its paths here."""

from __future__ import annotations

from leadtrack.models import SCOPES

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["status", "message", "fields"],
        }
    },
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LeadTrack API",
            "version": "1",
            "description": "Scopes: " + "; ".join(f"`{k}` {v}" for k, v in SCOPES.items()),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "paths": {
            "/me": {
                "get": {
                    "summary": "The key's organization and scopes",
                    "operationId": "getMe",
                    "responses": {
                        "200": {
                            "description": "The key is valid",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "organization": {"type": "object"},
                                            "key": {"type": "object"},
                                            "scopes": {
                                                "type": "array",
                                                "items": {"type": "string"},
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "401": _error("No key, or a revoked or unknown one"),
                        "429": _error("Rate limit exceeded"),
                    },
                }
            }
        },
    }
