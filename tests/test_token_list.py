"""The token list: recent tokens' metadata from the index, newest first, paged,
filtered by creator and creation day, kept in step with expiry and purges."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings

from tests.conftest import MARKER, CallLog, audit_where, fresh_client, raw_item
from tests.multiregion import SIN, SYD, replicate_items, replicate_key_material, use_region
from tokens import aws, budget, index, listing, vault
from tokens.actors import Actor, RequestContext
from tokens.bootstrap import bootstrap
from tokens.errors import InvalidInput, PermissionDenied

ALL = frozenset({"tokenize", "metadata", "ttl", "delete"})
BILLING = Actor(kind="api_client", id="client:101", name="billing", permissions=ALL)
CRM = Actor(kind="api_client", id="client:102", name="crm", permissions=ALL)
CAROL = Actor(kind="operator", id="user:103", name="carol", permissions=ALL)
DAY = 86400
# 2026-03-10 12:00:00 UTC: a fixed clock, so days and ordering do not depend on when the test runs.
NOON = 1773144000


def ctx() -> RequestContext:
    return RequestContext(channel="cli")


def make(actor: Actor, at: float, **data: str) -> str:
    with time_machine.travel(at, tick=False):
        return vault.tokenize(actor, ctx(), data or {"pan": "4111"}).token_id


def listed(actor: Actor = CAROL, at: float = NOON + 60, **query: Any) -> listing.Page:
    with time_machine.travel(at, tick=False):
        return vault.list_tokens(actor, ctx(), **query)


def ids(page: listing.Page) -> list[str]:
    return [token.token_id for token in page.tokens]


def index_rows() -> list[dict[str, Any]]:
    return list(aws.client("dynamodb").scan(TableName=settings.VAULT_INDEX_TABLE)["Items"])


def listing_rows(token_id: str) -> list[dict[str, Any]]:
    return [r for r in index_rows() if r["fp"]["S"].startswith("l:") and r["tokenId"]["S"] == token_id]


# --- what a page holds, and in which order --------------------------------------


def test_it_lists_tokens_newest_first_with_their_metadata_and_creator() -> None:
    first = make(BILLING, NOON - 300, pan="4111", cvc="123")
    second = make(CAROL, NOON - 200, ssn="078-05-1120")
    third = make(CRM, NOON - 100)
    page = listed()
    assert ids(page) == [third, second, first]
    oldest = page.tokens[2]
    assert (oldest.region, oldest.created_at, oldest.fields, oldest.created_by) == (
        "SYD",
        NOON - 300,
        ("cvc", "pan"),
        "client:101",
    )
    assert oldest.expires_at == int(raw_item(first)["TTL"]["N"])
    assert page.tokens[1].created_by == "user:103"


def test_tokens_made_in_the_same_second_on_every_shard_come_out_in_one_order() -> None:
    made = [make(BILLING, NOON - 10) for _ in range(12)] + [make(BILLING, NOON - 5) for _ in range(12)]
    shards = {row["fp"]["S"] for t in made for row in listing_rows(t)}
    assert len(shards) > 1  # spread over the day's partitions
    expected = sorted(made[12:], reverse=True) + sorted(made[:12], reverse=True)
    assert ids(listed()) == expected


def test_it_pages_through_the_tokens_without_repeating_or_skipping_one(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 3)
    # Tokens live at most 2 days here, so the list ends with the day before yesterday.
    settings.VAULT_DEFAULT_RETENTION = settings.VAULT_MAX_RETENTION = 2 * DAY
    made = [make(BILLING, NOON - 100 + n) for n in range(7)]
    pages = [listed()]
    while pages[-1].cursor:
        pages.append(listed(cursor=pages[-1].cursor))
    assert [len(p.tokens) for p in pages] == [3, 3, 1]
    assert [t for p in pages for t in ids(p)] == list(reversed(made))


def test_a_page_that_ends_a_days_tokens_leads_on_to_the_day_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    today = [make(BILLING, NOON - 20), make(BILLING, NOON - 10)]
    yesterday = make(BILLING, NOON - DAY)
    first = listed()
    assert ids(first) == list(reversed(today))
    assert first.cursor
    second = listed(cursor=first.cursor)
    assert ids(second) == [yesterday]
    assert (second.newest_day, second.oldest_day) == (
        "2026-03-09",
        "2026-03-03",
    )  # not full: a week looked at


def test_without_a_day_it_looks_back_a_week_per_page_then_offers_older_tokens() -> None:
    old = make(BILLING, NOON - 10 * DAY)
    first = listed()
    assert ids(first) == []
    assert (first.newest_day, first.oldest_day) == ("2026-03-10", "2026-03-04")
    second = listed(cursor=first.cursor)
    assert ids(second) == [old]


def test_the_walk_back_stops_once_half_the_request_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    old = make(BILLING, NOON - 3 * DAY)
    monkeypatch.setattr(budget, "remaining", lambda: settings.VAULT_REQUEST_BUDGET / 2 - 0.1)
    first = listed()
    assert (ids(first), first.oldest_day) == ([], "2026-03-10")
    monkeypatch.undo()
    assert ids(listed(cursor=first.cursor)) == [old]


def test_the_list_ends_at_the_longest_a_token_can_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "VAULT_MAX_RETENTION", 3 * DAY)
    page = listed()
    assert (page.oldest_day, page.cursor) == ("2026-03-07", "")


# --- filters --------------------------------------------------------------------


def test_it_filters_by_the_creating_api_client_or_operator() -> None:
    billing = [make(BILLING, NOON - 30), make(BILLING, NOON - 10)]
    crm = make(CRM, NOON - 20)
    carol = make(CAROL, NOON - 5)
    assert ids(listed(created_by="client:101")) == list(reversed(billing))
    assert ids(listed(created_by="client:102")) == [crm]
    assert ids(listed(created_by="user:103")) == [carol]
    assert ids(listed(created_by="user:999")) == []


def test_the_creator_filter_pages_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    mine = [make(BILLING, NOON - 50 + n) for n in range(3)]
    make(CRM, NOON - 1)
    first = listed(created_by="client:101")
    second = listed(created_by="client:101", cursor=first.cursor)
    assert ids(first) + ids(second) == list(reversed(mine))


def test_it_filters_by_creation_day_and_stops_at_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    make(BILLING, NOON)
    before = make(BILLING, NOON - DAY)
    page = listed(day="2026-03-09")
    assert (ids(page), page.cursor) == ([before], "")
    both = listed(day="2026-03-09", created_by="client:101")
    assert ids(both) == [before]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"day": "9 March"}, "day: must be a date, YYYY-MM-DD"),
        ({"day": "2026-02-30"}, "day: must be a date, YYYY-MM-DD"),
        ({"day": "2026-03-11"}, "day: must be a day from 2025-02-03 to 2026-03-10 (UTC)"),
        ({"created_by": "billing"}, "created_by: must name an operator or an API client"),
    ],
)
def test_it_refuses_a_bad_filter_and_audits_it(query: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        listed(**query)
    assert refused.value.message == message
    [record] = audit_where(action="list_tokens")
    assert record["outcome"] == "invalid"


# --- the cursor -----------------------------------------------------------------

STALE = "cursor: this page link is no longer valid: start again from the newest tokens"


def a_cursor(monkeypatch: pytest.MonkeyPatch, **query: Any) -> str:
    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    make(BILLING, NOON - 20)
    make(BILLING, NOON - 10)
    cursor = listed(**query).cursor
    assert cursor
    return cursor


def test_a_cursor_holds_no_token_id_and_no_filter_in_the_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = a_cursor(monkeypatch, created_by="client:101")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert "TKN" not in cursor and "client" not in cursor and "2026" not in cursor


def test_a_cursor_altered_by_one_character_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = a_cursor(monkeypatch)
    altered = cursor[:20] + ("A" if cursor[20] != "A" else "B") + cursor[21:]
    with pytest.raises(InvalidInput) as refused:
        listed(cursor=altered)
    assert refused.value.message == STALE


def test_a_cursor_works_for_the_operator_it_was_made_for_only(monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = a_cursor(monkeypatch)
    someone_else = Actor(kind="operator", id="user:104", name="dave", permissions=ALL)
    with pytest.raises(InvalidInput) as refused:
        listed(someone_else, cursor=cursor)
    assert refused.value.message == STALE


def test_a_cursor_cannot_be_carried_to_other_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = a_cursor(monkeypatch, created_by="client:101")
    for other in ({}, {"created_by": "client:102"}, {"created_by": "client:101", "day": "2026-03-10"}):
        with pytest.raises(InvalidInput) as refused:
            listed(cursor=cursor, **other)
        assert refused.value.message == STALE


def test_a_cursor_expires_after_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = a_cursor(monkeypatch)
    assert len(listed(at=NOON + 60 + 3500, cursor=cursor).tokens) == 1
    with pytest.raises(InvalidInput) as refused:
        listed(at=NOON + 60 + 3700, cursor=cursor)
    assert refused.value.message == STALE


# --- the index rows: one per token, kept in step, never a value ------------------


def test_a_token_gets_one_listing_row_with_its_ttl_in_the_same_transaction(aws_calls: CallLog) -> None:
    token = make(BILLING, NOON, pan=MARKER)
    assert aws_calls.count("dynamodb", "TransactWriteItems") == 1
    [row] = listing_rows(token)
    assert row["TTL"] == raw_item(token)["TTL"]
    assert row["fp"]["S"] == f"l:2026-03-10:{index.shard_of(token)}"
    assert row["lc"]["S"] == f"l:2026-03-10:client:101:{index.shard_of(token)}"
    assert row["fields"] == {"SS": ["pan"]}
    assert f"{row['fp']['S']}|{row['sk']['S']}" in raw_item(token)["*vault-index*"]["SS"]


def test_a_batch_gives_each_token_its_listing_row() -> None:
    with time_machine.travel(NOON, tick=False):
        results = vault.tokenize_batch(BILLING, ctx(), [{"data": {"pan": str(n)}} for n in range(5)])
    made = [r.token_id for r in results if isinstance(r, vault.TokenInfo)]
    assert len(made) == 5 and all(len(listing_rows(t)) == 1 for t in made)
    assert sorted(ids(listed(created_by="client:101"))) == sorted(made)


def test_no_listing_row_and_no_page_holds_a_value(operators: dict[str, Any]) -> None:
    card = "4973 1722 4066 0003"
    make(BILLING, time.time(), pan=MARKER, card_number=card, passport_secret_name="x")
    for row in index_rows():
        assert MARKER not in str(row) and card not in str(row)
    response = fresh_client(operators["everyone"]).get("/tokens")
    assert response.status_code == 200
    assert MARKER.encode() not in response.content and card.encode() not in response.content
    assert b"card_number, pan, passport_secret_name" in response.content


def test_a_change_of_expiry_re_times_the_listing_row_and_the_list_shows_it() -> None:
    token = make(BILLING, NOON)
    with time_machine.travel(NOON + 10, tick=False):
        vault.change_expiry(CAROL, ctx(), token, NOON + 7 * DAY)
    [row] = listing_rows(token)
    assert row["TTL"]["N"] == str(NOON + 7 * DAY)
    assert row["lc"]["S"].startswith("l:2026-03-10:client:101:")  # still its creator's
    assert row["fields"] == {"SS": ["pan"]}
    assert [(t.token_id, t.expires_at) for t in listed().tokens] == [(token, NOON + 7 * DAY)]


def test_an_expired_token_leaves_the_list() -> None:
    with time_machine.travel(NOON, tick=False):
        short = vault.tokenize(BILLING, ctx(), {"pan": "1", "TTL": NOON + 600}).token_id
    longer = make(BILLING, NOON - 10)
    assert ids(listed(at=NOON + 60)) == [short, longer]
    assert ids(listed(at=NOON + 601)) == [longer]


def test_a_purge_removes_the_listing_row_with_the_item() -> None:
    token = make(BILLING, NOON)
    with time_machine.travel(NOON + 10, tick=False):
        vault.delete(CAROL, ctx(), token)
    assert listing_rows(token) == []
    assert ids(listed()) == []


def test_a_row_whose_token_is_gone_is_not_listed() -> None:
    # A purge in one region racing a change of expiry in the other can leave a
    # row behind (last writer wins, item by item): the item decides.
    token = make(BILLING, NOON)
    [row] = listing_rows(token)
    with time_machine.travel(NOON + 10, tick=False):
        vault.delete(CAROL, ctx(), token)
    aws.client("dynamodb").put_item(TableName=settings.VAULT_INDEX_TABLE, Item=row)
    assert ids(listed()) == []


def test_listing_reads_the_index_and_never_scans(aws_calls: CallLog) -> None:
    for n in range(3):
        make(BILLING, NOON - n)
    aws_calls.clear()
    assert len(listed(day="2026-03-10").tokens) == 3
    assert aws_calls.count("dynamodb", "Scan") == 0
    assert aws_calls.count("dynamodb", "Query") == index.LIST_SHARDS
    assert aws_calls.count("dynamodb", "BatchGetItem") == 1
    assert aws_calls.count("kms", "Decrypt") == 0


# --- who may list, and what is recorded ------------------------------------------


def test_it_is_audited_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[tuple[str, str]] = []
    monkeypatch.setattr(vault.metrics, "record", lambda op, outcome, *_: counted.append((op, outcome)))
    make(BILLING, NOON)
    listed(created_by="client:101")
    [record] = audit_where(action="list_tokens")
    assert (record["outcome"], record["actor_id"], record["token_id"], record["fields"]) == (
        "success",
        "user:103",
        "",
        [],
    )
    assert record["detail"] == "created_by=client:101 day=* from=2026-03-10: 1 listed"
    assert ("list_tokens", "success") in counted


def test_a_caller_without_the_look_up_right_is_refused_and_audited() -> None:
    writer = Actor(kind="api_client", id="client:9", name="writer", permissions=frozenset({"tokenize"}))
    with pytest.raises(PermissionDenied):
        listed(writer)
    [record] = audit_where(action="list_tokens")
    assert (record["outcome"], record["actor_id"]) == ("denied", "client:9")


@pytest.mark.parametrize("role", ["writer", "reader"])
def test_only_operator_functions_serve_the_list(settings: Any, role: str) -> None:
    settings.VAULT_FUNCTION_ROLE = role
    with pytest.raises(PermissionDenied):
        listed()


@pytest.mark.parametrize(("role", "status"), [
    ("tokenizer", 200), ("detokenizer", 200), ("ttl_manager", 200), ("auditor", 403), ("vault_admin", 403),
    ("nobody", 403),
])  # fmt: skip
def test_the_page_is_for_operators_with_the_look_up_right(
    operators: dict[str, Any], role: str, status: int
) -> None:
    assert fresh_client(operators[role]).get("/tokens").status_code == status


def actions_of(page: str) -> set[str]:
    return set(
        re.findall(r'<button type="submit" class="small [a-z ]+" aria-label="([A-Z][a-z]+(?: [a-z]+)?)', page)
    )


@pytest.mark.parametrize(("role", "actions"), [
    ("tokenizer", {"Look up"}),
    ("detokenizer", {"Look up", "Reveal"}),
    ("ttl_manager", {"Look up", "Change expiry", "Purge"}),
    ("everyone", {"Look up", "Reveal", "Change expiry", "Purge"}),
])  # fmt: skip
def test_each_row_offers_the_actions_the_operator_may_take(
    operators: dict[str, Any], role: str, actions: set[str]
) -> None:
    vault.tokenize(BILLING, ctx(), {"pan": "4111"})
    page = fresh_client(operators[role]).get("/tokens").content.decode()
    assert {a.removesuffix(" of") for a in actions_of(page)} == actions


def test_the_page_names_creators_and_filters_by_them(operators: dict[str, Any]) -> None:
    from tests.conftest import make_api

    api = make_api(["tokenize"], "billing-service")
    token = api.tokenize({"pan": "4111"})
    client = fresh_client(operators["tokenizer"])
    page = client.get("/tokens").content.decode()
    assert token in page and '<td data-label="Created by">billing-service</td>' in page
    creator = re.search(r'<option value="(client:\d+)">billing-service</option>', page)
    assert creator is not None
    assert token in client.get("/tokens", {"created_by": creator.group(1)}).content.decode()
    other = f"user:{operators['tokenizer'].pk}"
    assert token not in client.get("/tokens", {"created_by": other}).content.decode()


def test_the_older_link_carries_no_token_id(
    operators: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    first = vault.tokenize(BILLING, ctx(), {"pan": "1"}).token_id
    second = vault.tokenize(BILLING, ctx(), {"pan": "2"}).token_id
    client = fresh_client(operators["tokenizer"])
    page = client.get("/tokens").content.decode()
    older = re.search(r'href="(\?[^"]+)" rel="next"', page)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "TKN" not in link
    shown = [second, first] if second > first else [first, second]
    assert {t for t in shown if t in page} | {
        t for t in shown if t in client.get("/tokens" + link).content.decode()
    } == {first, second}


def test_a_bad_filter_on_the_page_says_what_is_wrong(operators: dict[str, Any]) -> None:
    response = fresh_client(operators["tokenizer"]).get("/tokens", {"day": "yesterday"})
    assert response.status_code == 400
    assert b"day: must be a date, YYYY-MM-DD" in response.content


def test_reveal_from_the_list_fills_in_the_id_and_reveals_nothing_yet(operators: dict[str, Any]) -> None:
    token = vault.tokenize(BILLING, ctx(), {"pan": MARKER}).token_id
    response = fresh_client(operators["detokenizer"]).post("/reveal", {"step": "prefill", "token": token})
    assert response.status_code == 200
    assert f'value="{token}"' in response.content.decode()
    assert MARKER.encode() not in response.content
    assert audit_where(action="detokenize") == []


def test_purge_from_the_list_asks_to_confirm_first(operators: dict[str, Any]) -> None:
    token = vault.tokenize(BILLING, ctx(), {"pan": "4111"}).token_id
    response = fresh_client(operators["ttl_manager"]).post("/expiry", {"step": "purge", "token": token})
    assert response.status_code == 200
    assert b"Purge this token?" in response.content
    assert raw_item(token)


# --- two regions ------------------------------------------------------------------


@pytest.fixture
def two_regions(settings: Any) -> Any:
    meta = aws.client("kms").describe_key(KeyId=settings.VAULT_KMS_KEY)["KeyMetadata"]
    keys = {SYD: meta["Arn"], SIN: replicate_key_material(meta["KeyId"], SYD, SIN)}
    use_region(settings, SIN, keys[SIN])
    bootstrap()
    use_region(settings, SYD, keys[SYD])

    def use(region: str) -> None:
        use_region(settings, region, keys[region])

    return use


def replicate(source: str, target: str) -> None:
    for table in (settings.VAULT_TABLE, settings.VAULT_INDEX_TABLE, settings.VAULT_KEYS_TABLE):
        replicate_items(table, source, target)


def test_both_regions_tokens_are_listed_together_once_replicated(two_regions: Any) -> None:
    sydney = make(BILLING, NOON - 20)
    two_regions(SIN)
    singapore = make(CRM, NOON - 10)
    replicate(SYD, SIN)
    replicate(SIN, SYD)
    for region in (SIN, SYD):
        two_regions(region)
        page = listed()
        assert ids(page) == [singapore, sydney]
        assert [t.region for t in page.tokens] == ["SIN", "SYD"]


def test_a_change_of_expiry_in_the_other_region_shows_as_the_item_says(two_regions: Any) -> None:
    token = make(BILLING, NOON - 20)
    replicate(SYD, SIN)
    two_regions(SIN)
    with time_machine.travel(NOON, tick=False):
        vault.change_expiry(CAROL, ctx(), token, NOON + 3 * DAY)
    replicate_items(settings.VAULT_TABLE, SIN, SYD)  # the item arrived, its row not yet
    two_regions(SYD)
    assert [t.expires_at for t in listed().tokens] == [NOON + 3 * DAY]


def test_a_token_purged_in_the_other_region_leaves_the_list_before_its_row_replicates(
    two_regions: Any,
) -> None:
    token = make(BILLING, NOON - 20)
    replicate(SYD, SIN)
    two_regions(SIN)
    with time_machine.travel(NOON, tick=False):
        vault.delete(CAROL, ctx(), token)
    two_regions(SYD)
    aws.client("dynamodb").delete_item(TableName=settings.VAULT_TABLE, Key={"tokenId": {"S": token}})
    assert listing_rows(token)  # the row's delete has not arrived yet
    assert ids(listed()) == []


def test_bootstrap_adds_the_listing_index_to_an_index_table_made_before_it(settings: Any) -> None:
    ddb = aws.client("dynamodb")
    ddb.delete_table(TableName=settings.VAULT_INDEX_TABLE)
    ddb.create_table(
        TableName=settings.VAULT_INDEX_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("fp", "sk")],
        KeySchema=[{"AttributeName": "fp", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    assert "table vault-index: index by_creator created (it fills as tokens are made)" in bootstrap()
    assert "table vault-index: index by_creator found" in bootstrap()
    make(BILLING, time.time())
    with time_machine.travel(datetime.now(UTC), tick=False):
        assert len(vault.list_tokens(CAROL, ctx(), created_by="client:101").tokens) == 1
