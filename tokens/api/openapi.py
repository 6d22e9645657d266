"""The OpenAPI 3.1 description of the service API (served at /api/v1/openapi.json).

It is the server's exact contract: the input rules come from tokens/validation.py
(the same constants and patterns the checks use), and every status an operation
can answer is listed with the error codes it carries. tests/test_api_contract.py
runs schemathesis against the app with this document.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from tokens import aliases, idempotency, validation
from tokens.vault import SEARCH_LIMIT

ERROR_TEXT = {
    400: "Invalid input (the message and `details` name the field and the rule)",
    401: "Missing, unknown or revoked key",
    403: "Scope or field not allowed, or this function role does not serve the operation",
    404: "Unknown, expired, malformed or tampered token (all alike), or no such endpoint on this function",
    405: "This function role does not serve the method on this path (see Allow)",
    409: "Changed concurrently, or the Idempotency-Key's first request still running; retry",
    413: "Body over the size limit",
    415: "Body is not application/json",
    422: "The Idempotency-Key was used with a different body",
    429: "Over this client's request rate (see Retry-After)",
    503: "DynamoDB, KMS or the audit log unavailable; nothing was done (see Retry-After)",
}
RETRY_AFTER = {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _entry_error(*codes: str) -> dict[str, Any]:
    """A batch entry that failed: the error a single call would have answered."""
    return _error_schema(*codes)


def _error_schema(*codes: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "enum": list(codes)},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    }


def _error(status: int, *codes: str) -> dict[str, Any]:
    schema = _error_schema(*codes)
    response: dict[str, Any] = {"description": ERROR_TEXT[status], **_json(schema)}
    headers = {}
    if status in (429, 503):
        headers["Retry-After"] = {**RETRY_AFTER, "required": True}
    if status == 401:
        headers["WWW-Authenticate"] = {"schema": {"type": "string"}, "required": True}
    if status == 405:
        headers["Allow"] = {"schema": {"type": "string"}, "required": True}
    if headers:
        response["headers"] = headers
    return response


def _errors(*statuses: int, not_found: tuple[str, ...] = ("no_such_endpoint",)) -> dict[str, Any]:
    """Error answers of an authenticated operation, plus `statuses` (400, 405, 409, 413, 415...)."""
    codes: dict[int, tuple[str, ...]] = {
        400: ("invalid_request", "invalid_json"),
        401: ("unauthorized",),
        403: ("forbidden",),
        404: not_found,
        405: ("method_not_allowed",),
        409: ("conflict",),
        413: ("too_large",),
        415: ("unsupported_media_type",),
        429: ("throttled",),
        503: ("unavailable", "audit_unavailable"),
    }
    wanted = sorted({401, 403, 404, 429, 503, *statuses})
    return {str(s): _error(s, *codes[s]) for s in wanted}


IDEMPOTENCY_KEY = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe (IETF draft 'The Idempotency-Key HTTP Header Field'): the same key from the "
        f"same client with the same body within {idempotency.WINDOW // 3600} hours gets the first answer "
        "again, with `Idempotent-Replayed: true`, and no new token. Another body: 422 "
        "`idempotency_key_reused`; while the first is still running: 409 `idempotency_key_in_use`."
    ),
    "schema": {"type": "string", "pattern": idempotency.KEY_PATTERN, "example": "order-4711-card"},
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "Present on an answer replayed for a repeated Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _idempotent(answers: dict[str, Any]) -> dict[str, Any]:
    """An operation's answers once it honours Idempotency-Key."""
    answers = {status: dict(answer) for status, answer in answers.items()}
    for answer in answers.values():
        answer["headers"] = {**answer.get("headers", {}), **REPLAYED}
    answers["409"] = _error(409, *_codes(answers.get("409")), "idempotency_key_in_use")
    answers["422"] = _error(422, "idempotency_key_reused")
    return dict(sorted(answers.items()))


def _codes(answer: dict[str, Any] | None) -> list[str]:
    """The error codes an error answer already lists (none for no answer)."""
    if answer is None:
        return []
    schema = answer["content"]["application/json"]["schema"]
    return list(schema["properties"]["error"]["properties"]["code"]["enum"])


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, **_json(schema)}


def _ok(description: str, schema: dict[str, Any], links: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, **_json(schema)}
    if links:
        answer["links"] = links
    return answer


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required if required is not None else list(properties),
        "additionalProperties": False,
        "properties": properties,
    }


def _token_links(*names: str) -> dict[str, Any]:
    """Links from an answer holding `tokenId` to the operations on that token (for clients and
    for schemathesis' stateful runs: create -> read -> change expiry -> detokenize -> delete)."""
    token = "$response.body#/tokenId"
    links = {
        "GetToken": {"operationId": "getToken", "parameters": {"tokenId": token}},
        "ChangeExpiry": {"operationId": "changeExpiry", "parameters": {"tokenId": token}},
        "Detokenize": {"operationId": "detokenize", "requestBody": {"tokenId": token}},
        "DeleteToken": {"operationId": "deleteToken", "parameters": {"tokenId": token}},
    }
    return {name: link for name, link in links.items() if name in names}


TTL_OUT = {"type": "integer", "description": "Expiry, Unix seconds"}
MASK = {"type": "boolean", "description": "Answer every value masked by its field type"}


def search_request_schema() -> dict[str, Any]:
    """{"field", "value"}: the value must pass the field's declared type, as in tokenize."""
    typed = validation.typed_fields_schema()
    return {
        **_object({"field": _ref("FieldName"), "value": _ref("FieldValue")}),
        "description": (
            "The field to search and the value to look for (compared in normalized form). A field "
            "with a declared type (see TokenData) needs a value of that type."
        ),
        "allOf": [
            {
                "if": {"properties": {"field": {"const": name}}, "required": ["field"]},
                "then": {"properties": {"value": rules}},
            }
            for name, rules in typed.items()
        ],
        "example": {"field": "drivers_license", "value": "987654321"},
    }


def schemas(now: int) -> dict[str, Any]:
    metadata = _object(
        {
            "tokenId": _ref("TokenId"),
            "region": {"type": "string", "pattern": "^[A-Z]{2,8}$", "example": settings.VAULT_REGION_CODE},
            "createdAt": {"type": "integer", "description": "Unix seconds"},
            "TTL": {"type": "integer", "description": "Expiry, Unix seconds"},
            "fields": {"type": "array", "items": _ref("FieldName")},
        }
    )
    return {
        "FieldName": validation.field_name_schema(),
        "FieldValue": validation.field_value_schema(),
        "TTL": validation.ttl_schema(now),
        "TokenId": validation.token_id_schema(),
        "TokenData": validation.token_data_schema(now),
        "FieldList": validation.field_list_schema(),
        "TokenizeRecord": _object({"data": _ref("TokenData")}),
        "TokenizeRequest": _object(
            {
                "data": _ref("TokenData"),
                "deduplicate": {
                    "type": "boolean",
                    "description": (
                        "When a live token holds exactly the same field names and normalized values, "
                        "answer it (200, `deduplicated: true`) instead of making a new token"
                    ),
                },
                "aliases": _ref("AliasRequest"),
            },
            ["data"],
        ),
        "AliasFormat": {
            "type": "string",
            "enum": list(validation.ALIAS_FORMATS),
            "description": (
                "`card-last4`: same length and separators, the last four digits kept, failing the Luhn "
                "check (the value needs at least 10 digits, only digits, spaces and dashes); "
                "`same-format`: each digit and letter replaced by a random one of its kind, separators kept "
                f"(the value needs at least {aliases.MIN_RANDOM_CHARS} letters or digits). A value that "
                "cannot have the alias: 400."
            ),
        },
        "AliasRequest": {
            "type": "object",
            "description": "Field name -> alias format; each name must be a field of `data`",
            "propertyNames": _ref("FieldName"),
            "additionalProperties": _ref("AliasFormat"),
            "maxProperties": validation.MAX_FIELDS,
            "example": {"drivers_license": "same-format"},
        },
        "TokenRef": _object({"tokenId": _ref("TokenId"), "TTL": TTL_OUT}),
        "TokenCreated": _object(
            {
                "tokenId": _ref("TokenId"),
                "TTL": TTL_OUT,
                "aliases": {
                    "type": "object",
                    "description": "Field name -> its alias, for each alias asked for (absent when none)",
                    "propertyNames": _ref("FieldName"),
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
            },
            ["tokenId", "TTL"],
        ),
        "Deduplicated": _object(
            {
                "tokenId": _ref("TokenId"),
                "TTL": TTL_OUT,
                "deduplicated": {"type": "boolean", "const": True},
            }
        ),
        "DetokenizeByToken": _object(
            {
                "tokenId": _ref("TokenId"),
                "fields": _ref("FieldList"),
                "mask": MASK,
            },
            ["tokenId"],
        ),
        "DetokenizeByAlias": _object(
            {
                "alias": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": validation.MAX_VALUE_BYTES,
                    "description": (
                        "An alias issued by tokenize; an unknown one is answered like an unknown token"
                    ),
                },
                "field": _ref("FieldName"),
                "fields": _ref("FieldList"),
                "mask": MASK,
            },
            ["alias", "field"],
        ),
        "DetokenizeRequest": {
            "description": "A token id, or an alias with the field it stands in for",
            "oneOf": [_ref("DetokenizeByToken"), _ref("DetokenizeByAlias")],
        },
        "SearchRequest": search_request_schema(),
        "SearchResults": _object(
            {
                "tokens": {
                    "type": "array",
                    "maxItems": SEARCH_LIMIT,
                    "description": f"Live tokens holding the value, newest first, at most {SEARCH_LIMIT}",
                    "items": _ref("TokenRef"),
                }
            }
        ),
        "Detokenized": _object(
            {
                "tokenId": _ref("TokenId"),
                "data": {"type": "object", "additionalProperties": {"type": "string"}},
                "TTL": {"type": "integer", "description": "Expiry, Unix seconds"},
                "masked": {
                    "type": "array",
                    "items": _ref("FieldName"),
                    "description": "The fields whose values in `data` are masked (absent when none)",
                },
            },
            ["tokenId", "data", "TTL"],
        ),
        "Metadata": metadata,
        "TokenizeBatchRequest": _object(
            {
                "records": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": validation.MAX_BATCH,
                    "items": _ref("TokenizeRecord"),
                }
            }
        ),
        "TokenizeBatchResults": _object(
            {
                "results": {
                    "type": "array",
                    "description": "One per record, in the order sent",
                    "items": {
                        "oneOf": [
                            _ref("TokenRef"),
                            _entry_error("invalid_request", "unavailable", "audit_unavailable"),
                        ]
                    },
                }
            }
        ),
        "DetokenizeBatchRequest": _object(
            {
                "tokens": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": validation.MAX_BATCH,
                    "items": _ref("DetokenizeByToken"),
                }
            }
        ),
        "DetokenizeBatchResults": _object(
            {
                "results": {
                    "type": "array",
                    "description": "One per token, in the order sent",
                    "items": {
                        "oneOf": [
                            _ref("Detokenized"),
                            _entry_error(
                                "invalid_request",
                                "token_not_found",
                                "forbidden",
                                "unavailable",
                                "audit_unavailable",
                            ),
                        ]
                    },
                }
            }
        ),
        "ChangeExpiryRequest": _object({"TTL": _ref("TTL")}),
        "Status": _object({"status": {"type": "string", "const": "ok"}}),
    }


def spec(now: int | None = None) -> dict[str, Any]:
    now = int(time.time()) if now is None else now
    token_param = {"name": "tokenId", "in": "path", "required": True, "schema": _ref("TokenId")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Token vault API",
            "version": "1.0.0",
            "description": (
                "Swap sensitive fields for a token and back. Values are strings of 1 to "
                f"{validation.MAX_VALUE_BYTES} UTF-8 bytes, at most {validation.MAX_FIELDS} fields per "
                f"token. Default retention {settings.VAULT_DEFAULT_RETENTION} s, maximum "
                f"{settings.VAULT_MAX_RETENTION} s from creation. Bodies are application/json of at most "
                f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, with no key twice in one object. Any "
                "method a path does not list answers 405 `method_not_allowed` with `Allow`. Each API "
                "client may make its rate limit of requests a minute per serving process (its own, set "
                f"by an operator, else {settings.VAULT_API_RATE_LIMIT}): a detokenize batch of n counts "
                "n, a tokenize batch one; searches also have their own limit "
                f"({settings.VAULT_SEARCH_RATE_LIMIT} a minute). Over it: 429 `throttled` with "
                "`Retry-After`."
            ),
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/tokens": {
                "post": {
                    "operationId": "tokenize",
                    "summary": "Tokenize fields (scope tokenize)",
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": _body(_ref("TokenizeRequest")),
                    "responses": _idempotent(
                        {
                            "200": _ok(
                                "With `deduplicate`: a live token already held this record",
                                _ref("Deduplicated"),
                                _token_links("GetToken", "ChangeExpiry", "Detokenize", "DeleteToken"),
                            ),
                            "201": _ok(
                                "Created (with the aliases asked for)",
                                _ref("TokenCreated"),
                                _token_links("GetToken", "ChangeExpiry", "Detokenize", "DeleteToken"),
                            ),
                            # 409 `conflict`: a deduplication claim another request holds
                            # with no live token behind it yet; retry.
                            **_errors(400, 409, 413, 415),
                        }
                    ),
                }
            },
            "/api/v1/tokens/search": {
                "post": {
                    "operationId": "searchTokens",
                    "summary": (
                        "Find live tokens by a field's value, by keyed fingerprint, nothing decrypted "
                        "(scope search; audited; its own rate limit per client, then 429)"
                    ),
                    "requestBody": _body(_ref("SearchRequest")),
                    "responses": {
                        "200": _ok("The tokens holding the value", _ref("SearchResults")),
                        **_errors(400, 413, 415),
                    },
                }
            },
            "/api/v1/tokens/batch": {
                "post": {
                    "operationId": "tokenizeBatch",
                    "summary": (
                        f"Tokenize 1 to {validation.MAX_BATCH} records (scope tokenize); a bad record "
                        "gets its error entry and does not stop the others"
                    ),
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": _body(_ref("TokenizeBatchRequest")),
                    "responses": _idempotent(
                        {
                            "200": _ok("One result per record, in order", _ref("TokenizeBatchResults")),
                            **_errors(400, 413, 415),
                        }
                    ),
                }
            },
            "/api/v1/detokenize/batch": {
                "post": {
                    "operationId": "detokenizeBatch",
                    "summary": (
                        f"Detokenize 1 to {validation.MAX_BATCH} tokens (scope detokenize); each counts "
                        "as one request against the rate limit"
                    ),
                    "requestBody": _body(_ref("DetokenizeBatchRequest")),
                    "responses": {
                        "200": _ok("One result per token, in order", _ref("DetokenizeBatchResults")),
                        **_errors(400, 413, 415),
                    },
                }
            },
            "/api/v1/detokenize": {
                "post": {
                    "operationId": "detokenize",
                    "summary": (
                        "Detokenize, by token id or by alias (scope detokenize); masked values for "
                        "`mask: true` and for the fields this client may only see masked"
                    ),
                    "requestBody": _body(_ref("DetokenizeRequest")),
                    "responses": {
                        "200": _ok(
                            "The values", _ref("Detokenized"), _token_links("GetToken", "DeleteToken")
                        ),
                        **_errors(400, 413, 415, not_found=("token_not_found", "no_such_endpoint")),
                    },
                }
            },
            "/api/v1/tokens/{tokenId}": {
                "parameters": [token_param],
                "get": {
                    "operationId": "getToken",
                    "summary": "Metadata, no values (scope metadata)",
                    "responses": {
                        "200": _ok(
                            "Metadata",
                            _ref("Metadata"),
                            _token_links("ChangeExpiry", "Detokenize", "DeleteToken"),
                        ),
                        **_errors(not_found=("token_not_found", "no_such_endpoint")),
                    },
                },
                "patch": {
                    "operationId": "changeExpiry",
                    "summary": "Change expiry (scope ttl; operator function only)",
                    "requestBody": _body(_ref("ChangeExpiryRequest")),
                    "responses": {
                        "200": _ok(
                            "New metadata",
                            _ref("Metadata"),
                            _token_links("GetToken", "Detokenize", "DeleteToken"),
                        ),
                        **_errors(400, 405, 409, 413, 415, not_found=("token_not_found", "no_such_endpoint")),
                    },
                },
                "delete": {
                    "operationId": "deleteToken",
                    "summary": "Purge now (scope delete; operator function only)",
                    "responses": {
                        "204": {"description": "Deleted"},
                        **_errors(405, not_found=("token_not_found", "no_such_endpoint")),
                    },
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "summary": "Process alive",
                    "security": [],
                    "responses": {"200": _ok("ok", _ref("Status"))},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readyz",
                    "summary": "DynamoDB and KMS reachable",
                    "security": [],
                    "responses": {"200": _ok("ready", _ref("Status")), "503": _error(503, "unavailable")},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas(now),
        },
    }
