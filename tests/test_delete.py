from __future__ import annotations

from tests.conftest import Api, audit_records, error_of
from tokens import storage


def test_it_purges_a_token(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    response = full_api.delete(f"/api/v1/tokens/{token}")
    assert response.status_code == 204
    assert storage.get(token) is None
    assert full_api.post("/api/v1/detokenize", {"tokenId": token}).status_code == 404


def test_deleting_twice_gives_404(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    full_api.delete(f"/api/v1/tokens/{token}")
    response = full_api.delete(f"/api/v1/tokens/{token}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "token_not_found"


def test_it_audits_the_purge(full_api: Api) -> None:
    token = full_api.tokenize({"pan": "4111"})
    full_api.delete(f"/api/v1/tokens/{token}")
    record = audit_records()[-1]
    assert (record["action"], record["outcome"], record["token_id"]) == ("delete", "success", token)
