from __future__ import annotations

import time

from tests.conftest import Api


def test_a_token_round_trips_through_the_api(full_api: Api) -> None:
    ttl = int(time.time()) + 3600
    token = full_api.tokenize({"drivers_license": "987654321", "medicare_card": "1234 56789 0", "TTL": ttl})
    assert token.startswith("TKN-SYD-")
    response = full_api.post("/api/v1/detokenize", {"tokenId": token})
    assert response.status_code == 200
    assert response.json() == {
        "tokenId": token,
        "data": {"drivers_license": "987654321", "medicare_card": "1234 56789 0"},
        "TTL": ttl,
    }
