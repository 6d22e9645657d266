"""The OpenAPI 3 description of the service API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tokens.validation import MAX_FIELDS, MAX_VALUE_BYTES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Invalid input", 401: "Missing, unknown or revoked key", 403: "Scope or field not allowed",
        404: "Unknown, expired or malformed token", 405: "Method not allowed", 409: "Changed concurrently",
        413: "Body too large", 415: "Body is not JSON", 429: "Throttled",
        503: "DynamoDB, KMS or the audit log unavailable (see Retry-After)",
    }  # fmt: skip
    return {
        str(s): {"description": text[s], "content": {"application/json": {"schema": _ref("Error")}}}
        for s in statuses
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


COMMON = (401, 403, 404, 429, 503)


def spec() -> dict[str, Any]:
    token_param = {"name": "tokenId", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Token vault API",
            "version": "1.0.0",
            "description": (
                "Swap sensitive fields for a token and back. Values are strings of 1 to "
                f"{MAX_VALUE_BYTES} UTF-8 bytes, at most {MAX_FIELDS} fields per token. "
                f"Default retention {settings.VAULT_DEFAULT_RETENTION} s, maximum "
                f"{settings.VAULT_MAX_RETENTION} s from creation."
            ),
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/tokens": {
                "post": {
                    "summary": "Tokenize fields (scope tokenize)",
                    "requestBody": {"required": True, **_json(_ref("TokenizeRequest"))},
                    "responses": {
                        "201": {"description": "Created", **_json(_ref("TokenCreated"))},
                        **_errors(400, 413, 415, *COMMON),
                    },
                }
            },
            "/api/v1/detokenize": {
                "post": {
                    "summary": "Detokenize (scope detokenize)",
                    "requestBody": {"required": True, **_json(_ref("DetokenizeRequest"))},
                    "responses": {
                        "200": {"description": "The values", **_json(_ref("Detokenized"))},
                        **_errors(400, 413, 415, *COMMON),
                    },
                }
            },
            "/api/v1/tokens/{tokenId}": {
                "parameters": [token_param],
                "get": {
                    "summary": "Metadata, no values (scope metadata)",
                    "responses": {
                        "200": {"description": "Metadata", **_json(_ref("Metadata"))},
                        **_errors(*COMMON),
                    },
                },
                "patch": {
                    "summary": "Change expiry (scope ttl)",
                    "requestBody": {
                        "required": True,
                        **_json(
                            {
                                "type": "object",
                                "required": ["TTL"],
                                "properties": {"TTL": _ref("TTL")},
                                "additionalProperties": False,
                            }
                        ),
                    },  # fmt: skip
                    "responses": {
                        "200": {"description": "New metadata", **_json(_ref("Metadata"))},
                        **_errors(400, 409, 413, 415, *COMMON),
                    },
                },
                "delete": {
                    "summary": "Purge now (scope delete)",
                    "responses": {"204": {"description": "Deleted"}, **_errors(*COMMON)},
                },
            },
            "/healthz": {
                "get": {
                    "summary": "Process alive",
                    "security": [],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "DynamoDB and KMS reachable",
                    "security": [],
                    "responses": {"200": {"description": "ready"}, **_errors(503)},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "TTL": {"type": "integer", "description": "Expiry, Unix seconds"},
                "TokenId": {"type": "string", "example": "TKN-SYD-4b30f90b-d478-4e4d-8b8d-96e34522f553"},
                "TokenizeRequest": {
                    "type": "object",
                    "required": ["data"],
                    "additionalProperties": False,
                    "properties": {
                        "data": {
                            "type": "object",
                            "description": "Field name -> string value, plus optional TTL",
                            "properties": {"TTL": _ref("TTL")},
                            "additionalProperties": {"type": "string", "minLength": 1},
                            "example": {"drivers_license": "987654321", "TTL": 1749865423},
                        }
                    },
                },
                "TokenCreated": {
                    "type": "object",
                    "properties": {"tokenId": _ref("TokenId"), "TTL": _ref("TTL")},
                },
                "DetokenizeRequest": {
                    "type": "object",
                    "required": ["tokenId"],
                    "additionalProperties": False,
                    "properties": {
                        "tokenId": _ref("TokenId"),
                        "fields": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Detokenized": {
                    "type": "object",
                    "properties": {
                        "tokenId": _ref("TokenId"),
                        "data": {"type": "object", "additionalProperties": {"type": "string"}},
                        "TTL": _ref("TTL"),
                    },
                },
                "Metadata": {
                    "type": "object",
                    "properties": {
                        "tokenId": _ref("TokenId"),
                        "region": {"type": "string", "example": "SYD"},
                        "createdAt": {"type": "integer"},
                        "TTL": _ref("TTL"),
                        "fields": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "object"},
                            },
                        }
                    },
                },
            },
        },
    }
