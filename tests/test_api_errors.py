"""Every error the API gives is JSON in the one shape, with the right status."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import Api, audit_records, error_of
from tokens.models import ApiClient


def post_raw(api: Api, body: bytes | str, content_type: str = "application/json") -> Any:
    return api.client.post(
        "/api/v1/tokens", body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {api.key}"
    )


def test_a_missing_key_gets_401(db: Any) -> None:
    response = Client().post("/api/v1/tokens", "{}", content_type="application/json")
    assert response.status_code == 401
    assert error_of(response) == {
        "code": "unauthorized",
        "message": "Send your API key as 'Authorization: Bearer <key>'.",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="token-vault"'


def test_an_unknown_key_gets_401_and_is_audited(db: Any) -> None:
    response = Api("tvk_0123456789ab_" + "A" * 43).post("/api/v1/tokens", {"data": {"a": "b"}})
    assert response.status_code == 401
    assert error_of(response)["message"] == "The API key is unknown or revoked."
    record = audit_records()[-1]
    assert (record["action"], record["outcome"], record["detail"]) == (
        "authenticate",
        "denied",
        "bad key (0123456789ab)",
    )


def test_a_garbage_key_gets_401_without_echoing_it(db: Any) -> None:
    response = Api("4111111111111111").post("/api/v1/tokens", {"data": {"a": "b"}})
    assert response.status_code == 401
    assert "4111111111111111" not in repr(audit_records())


def test_a_wrong_secret_with_a_real_prefix_gets_401(full_api: Api) -> None:
    assert full_api.key
    forged = full_api.key[:-4] + "AAAA"
    assert Api(forged).post("/api/v1/tokens", {"data": {"a": "b"}}).status_code == 401


def test_a_revoked_key_gets_401(full_api: Api) -> None:
    client = ApiClient.objects.get(name="full")
    client.active = False
    client.save()
    assert full_api.post("/api/v1/tokens", {"data": {"a": "b"}}).status_code == 401


def test_a_deleted_client_gets_401(full_api: Api) -> None:
    ApiClient.objects.get(name="full").delete()
    assert full_api.post("/api/v1/tokens", {"data": {"a": "b"}}).status_code == 401


def test_a_basic_auth_header_gets_401(full_api: Api) -> None:
    response = full_api.client.post(
        "/api/v1/tokens", "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Basic {full_api.key}"
    )
    assert response.status_code == 401


def test_a_missing_scope_gets_403(writer_api: Api, full_api: Api) -> None:
    token = full_api.tokenize({"a": "b"})
    response = writer_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "forbidden",
        "message": "This caller lacks the 'detokenize' permission.",
    }


def test_a_wrong_method_gets_405(full_api: Api) -> None:
    response = full_api.get("/api/v1/tokens")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert error_of(response) == {"code": "method_not_allowed", "message": "Use POST here."}


def test_a_large_body_gets_413(full_api: Api, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = full_api.post("/api/v1/tokens", {"data": {"a": "x" * 2000}})
    assert response.status_code == 413
    assert error_of(response) == {"code": "too_large", "message": "The body is over 1000 bytes."}


def test_a_form_body_gets_415(full_api: Api) -> None:
    response = post_raw(full_api, "data=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response) == {
        "code": "unsupported_media_type",
        "message": "Send the body as application/json.",
    }


def test_invalid_json_gets_400(full_api: Api) -> None:
    response = post_raw(full_api, '{"data": ')
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_json", "message": "The body is not valid JSON."}


def test_invalid_utf8_gets_400(full_api: Api) -> None:
    response = post_raw(full_api, b'{"data": {"a": "\xff\xfe"}}')
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_json", "message": "The body is not valid UTF-8."}


def test_a_body_that_is_not_an_object_gets_400(full_api: Api) -> None:
    response = post_raw(full_api, "[1, 2]")
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_request", "message": "The body must be a JSON object."}


def test_too_many_requests_get_429(full_api: Api, settings: Any) -> None:

    settings.VAULT_API_RATE_LIMIT = 3
    statuses = [full_api.get("/api/v1/tokens/zzzz").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    response = full_api.get("/api/v1/tokens/zzzz")
    assert error_of(response) == {"code": "throttled", "message": "Too many requests; slow down."}
    assert response["Retry-After"] == "60"


def test_an_unknown_endpoint_gets_a_json_404(full_api: Api) -> None:
    response = full_api.get("/api/v1/nope")
    assert response.status_code == 404
    assert error_of(response)["code"] == "no_such_endpoint"


@pytest.mark.parametrize("path", ["/api/v1/tokens/zzzz", "/api/v1/detokenize"])
def test_errors_are_never_cached(full_api: Api, path: str) -> None:
    assert full_api.get(path)["Cache-Control"] == "no-store"


def test_a_bad_host_header_gets_a_json_400(full_api: Api) -> None:
    response = full_api.client.get("/api/v1/tokens/zzzz", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert error_of(response) == {"code": "bad_request", "message": "The request could not be understood."}


def test_an_unexpected_error_gets_a_json_500(full_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens.api import views

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError

    monkeypatch.setattr(views.vault, "metadata", explode)
    full_api.client.raise_request_exception = False
    response = full_api.get("/api/v1/tokens/zzzz")
    assert response.status_code == 500
    assert error_of(response) == {"code": "error", "message": "The vault could not complete the request."}


def test_repeated_bad_keys_from_one_address_get_429(db: Any, settings: Any) -> None:

    settings.VAULT_API_RATE_LIMIT = 2
    guesser = Api("tvk_0123456789ab_" + "A" * 43)
    statuses = [guesser.post("/api/v1/tokens", {"data": {"a": "b"}}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert len([r for r in audit_records() if r["action"] == "authenticate"]) == 2


def test_every_response_carries_the_request_id(full_api: Api) -> None:
    response = full_api.client.get(
        "/api/v1/tokens/zzzz", HTTP_AUTHORIZATION=f"Bearer {full_api.key}", HTTP_X_REQUEST_ID="req-123"
    )
    assert response["X-Request-Id"] == "req-123"
    assert audit_records()[-1]["request_id"] == "req-123"


def test_a_post_to_an_unknown_endpoint_gets_a_json_404_not_a_csrf_page(full_api: Api) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/nope", "{}", content_type="application/json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "no_such_endpoint"


def test_deeply_nested_json_gets_400_not_500(full_api: Api) -> None:
    response = post_raw(full_api, '{"data": ' + "[" * 100000 + "]" * 100000 + "}")
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_json", "message": "The body is not valid JSON."}


def test_a_lone_surrogate_in_a_value_gets_400(full_api: Api) -> None:
    response = post_raw(full_api, '{"data": {"pan": "\\ud800"}}')
    assert response.status_code == 400
    assert error_of(response)["message"] == "data.pan: values must be valid Unicode text"


def test_api_errors_stay_json_under_a_stage_prefix(db: Any) -> None:
    from django.test import RequestFactory

    from vaultsite import errors

    request = RequestFactory().get("/api/v1/tokens/x", SCRIPT_NAME="/syd_writer")
    assert request.path == "/syd_writer/api/v1/tokens/x"
    response = errors.server_error(request)
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "error": {"code": "error", "message": "The vault could not complete the request."}
    }


@pytest.mark.parametrize("length", ["abc", " 12x", "1e3", "-5", "١٢"])
def test_a_content_length_that_is_not_a_number_gets_a_json_400(full_api: Api, length: str) -> None:
    for path in ("/api/v1/tokens", "/api/v1/detokenize", "/api/v1/tokens/batch"):
        response = full_api.client.post(
            path, '{"tokenId": "zzzz"}', content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {full_api.key}", CONTENT_LENGTH=length,
        )  # fmt: skip
        assert response.status_code == 400, path
        assert error_of(response) == {
            "code": "invalid_request",
            "message": "The Content-Length header is not a number of bytes.",
        }
        assert response["Cache-Control"] == "no-store"


def test_a_page_with_a_content_length_that_is_not_a_number_gets_a_400(db: Any) -> None:
    response = Client().post("/accounts/login/", "a=b", content_type="application/x-www-form-urlencoded",
                             CONTENT_LENGTH="abc")  # fmt: skip
    assert response.status_code == 400


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_python_only_number_constants_are_not_json(full_api: Api, constant: str) -> None:
    response = post_raw(full_api, '{"data": {"note": "x"}, "TTL": ' + constant + "}")
    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_json", "message": "The body is not valid JSON."}
