"""The Lambda entry point (zappa_settings.json `lambda_handler`).

Serves the seed's direct invocations itself, through the same vault functions
as the JSON API:

    {"data": {"field": "value", ..., "TTL": 1749865423}}  ->  {"tokenId": ..., "TTL": ...}    (writer)
    {"tokenId": "TKN-SYD-...", "fields": [...]?}          ->  {"tokenId": ..., "field": ..., "TTL": ...}
                                                              (reader)

hands API Gateway requests (v1 and v2), our two schedules and a short list of
`zappa manage` commands to Zappa's handler, and refuses every other event,
and every event Zappa could read two ways (classified in Zappa's own order). The
process's function role (settings.VAULT_FUNCTION_ROLE), checked by the vault
functions, decides what a direct event may do, exactly as it does for the API:
a reader function cannot tokenize, a writer cannot detokenize. Failures come
back as {"error": {"code", "message"}}, never as an exception whose text Lambda
would hand to the caller and to the logs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from zappa.handler import LambdaHandler
from zappa.handler import lambda_handler as zappa_lambda_handler

from tokens.errors import VaultError, error_body, public

log = logging.getLogger(__name__)

DIRECT_KEYS = frozenset({"data", "tokenId", "fields"})
# A direct invocation may tokenize or detokenize; which of the two this
# function serves is decided by the vault's function-role check, as for the API.
# Who may invoke the function at all is decided by IAM (lambda:InvokeFunction).
DIRECT_PERMISSIONS = frozenset({"tokenize", "detokenize"})
# Zappa's handler runs code named by many event shapes (`command`, `raw_command`,
# `manage shell`, S3/SNS/DynamoDB/Kinesis/SQS records, scheduled-event rule
# names, Lex, Cognito, ...). Anyone allowed to invoke a function could use them
# to run code with the function's role, outside every vault check. So only
# these reach Zappa: API Gateway requests, our two schedules, and a short list
# of management commands on the operator function. Everything else is refused.
CODE_RUNNING_KEYS = frozenset(
    {"command", "raw_command", "manage", "Records", "detail-type", "awslogs", "bot", "triggerSource", "type"}
)
HTTP_KEYS = frozenset({"httpMethod", "requestContext", "version"})
SCHEDULED_FUNCTIONS = ("keep_warm_callback", "monitoring.scheduled.check_anomalies")
MANAGE_COMMANDS = frozenset(
    {
        "migrate", "migrate --noinput", "showmigrations", "createcachetable", "check --deploy",
        "vault_bootstrap", "verify_audit", "setup_monitoring", "check_anomalies", "rotate_keys", "rekey",
        "lapse_roles",
        # the audit log: resume from this region's checkpoint, compare with the copy (VAULT_AUDIT_COPY)
        "verify_audit --checkpoint dynamodb", "verify_audit --checkpoint dynamodb --restart",
        "verify_audit --against-copy", "verify_audit --checkpoint dynamodb --against-copy",
    }
)  # fmt: skip


# Zappa 0.63's LambdaHandler.handler() tries these in this order and serves the
# first that matches; the tests mirror its own conditions. An event matching
# more than one is refused: what we checked must be what Zappa runs.
ZAPPA_BRANCHES: tuple[tuple[str, Callable[[dict[str, Any]], bool]], ...] = (
    ("http_v2", lambda e: "version" in e and e["version"] == "2.0"),
    ("http_v1", lambda e: bool(e.get("httpMethod"))),
    ("websocket", lambda e: _request_context(e).get("eventType") in ("CONNECT", "DISCONNECT", "MESSAGE")),
    ("schedule", lambda e: e.get("detail-type") == "Scheduled Event"),
    ("command", lambda e: bool(e.get("command"))),
    ("raw_command", lambda e: bool(e.get("raw_command"))),
    ("manage", lambda e: bool(e.get("manage"))),
    ("records", lambda e: bool(e.get("Records"))),
    ("bot", lambda e: bool(e.get("bot"))),
    ("authorizer", lambda e: e.get("type") == "TOKEN"),
    ("cognito", lambda e: bool(e.get("triggerSource"))),
    ("awslogs", lambda e: bool(e.get("awslogs"))),
)


def lambda_handler(event: Any, context: Any) -> Any:
    if not isinstance(event, dict):
        return error_body("invalid_request", "The event must be a JSON object.")
    kind = _kind(event)
    if kind == "direct":
        return _direct(event, context)
    if kind is None:
        log.warning("refused an event that is not an API request, a known schedule or an allowed command")
        return error_body("forbidden", "This function does not serve that kind of event.")
    return zappa_lambda_handler(event, context)


def zappa_branches(event: dict[str, Any]) -> list[str]:
    """Every branch of Zappa's handler this event matches, in Zappa's order."""
    return [name for name, matches in ZAPPA_BRANCHES if matches(event)]


def _kind(event: dict[str, Any]) -> str | None:
    """What an event is: "http", "schedule", "manage", "direct", or None (refused)."""
    if event.get("stageVariables"):
        return None  # Zappa copies them into os.environ
    branches = zappa_branches(event)
    if len(branches) > 1:
        return None  # Zappa would serve the first; we refuse rather than guess
    branch = branches[0] if branches else None
    keys = set(event)
    others = CODE_RUNNING_KEYS & keys
    context = event.get("requestContext")
    if branch in ("http_v1", "http_v2"):
        if others or not isinstance(context, dict):
            return None
        if branch == "http_v2":
            return "http" if isinstance(context.get("http"), dict) else None
        return "http" if isinstance(event["httpMethod"], str) else None
    if branch == "schedule":
        resources = event.get("resources")
        if others == {"detail-type"} and isinstance(resources, list) and len(resources) == 1:
            target = str(resources[0]).split("/")[-1].split("-")[-1]
            if target.endswith(SCHEDULED_FUNCTIONS[0]) or target == SCHEDULED_FUNCTIONS[1]:
                return "schedule"
        return None
    if branch == "manage":
        if others != {"manage"} or HTTP_KEYS & keys:
            return None
        LambdaHandler()  # loads the stage's settings and Django, once per container
        from django.conf import settings

        command = event["manage"]
        allowed = isinstance(command, str) and command in MANAGE_COMMANDS
        return "manage" if allowed and settings.VAULT_FUNCTION_ROLE in ("operator", "all") else None
    # A seed-style event: it names data or a token, and Zappa would not touch it.
    if branch is None and DIRECT_KEYS & keys and not others and not HTTP_KEYS & keys:
        return "direct"
    return None


def _request_context(event: dict[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext")
    return context if isinstance(context, dict) else {}


def _direct(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        # Zappa's handler is a singleton: this loads zappa_settings and sets up
        # Django once per container, as it does for HTTP events.
        LambdaHandler()
        from tokens import budget

        with budget.within():  # one budget for the invocation's AWS calls, as for a request
            return _serve(event, context)
    except VaultError as exc:
        exc = public(exc)
        return error_body(exc.code, exc.message, **exc.details)
    except Exception as exc:
        # Log the type only: the text of an unexpected error could hold input.
        log.error("direct invocation failed: %s", type(exc).__name__)
        return error_body("error", "The vault could not complete the request.")


def _serve(event: dict[str, Any], context: Any) -> dict[str, Any]:

    from tokens import validation, vault
    from tokens.actors import Actor, RequestContext

    function = str(getattr(context, "function_name", "") or "lambda")
    actor = Actor(
        kind="lambda",
        id=f"lambda:{function}",
        name=function,
        permissions=DIRECT_PERMISSIONS,
    )
    request_id = str(getattr(context, "aws_request_id", "") or "") or uuid.uuid4().hex
    ctx = RequestContext(channel="lambda", user_agent="lambda-invoke", request_id=request_id[:128])
    if "data" in event:
        validation.only_keys(event, {"data"}, where="event")
        info = vault.tokenize(actor, ctx, event["data"])
        return {"tokenId": info.token_id, "TTL": info.expires_at}
    validation.only_keys(event, {"tokenId", "fields"}, where="event")
    token_id = event.get("tokenId")
    if not isinstance(token_id, str):
        raise validation.invalid("event.tokenId", "is required and must be a string")
    revealed = vault.detokenize(actor, ctx, token_id, event.get("fields"))
    # The seed's decrypt function returned the item itself: tokenId, the fields, TTL.
    return {"tokenId": revealed.token_id, **revealed.data, "TTL": revealed.expires_at}
