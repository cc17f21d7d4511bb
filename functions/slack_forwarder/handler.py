"""SNS -> Slack: one readable Slack message per alarm state change or tracker failure.

Standard library only (boto3 comes from the Lambda runtime) plus the shared package's URL rule,
so the zip is a few kilobytes. The
webhook URL is a secret: it is read from Secrets Manager by ARN, cached for the container's life,
and never appears in logs or error messages.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from llm_shared.urls import secret_url_problem

WEBHOOK_SECRET_ARN_ENV = "SLACK_WEBHOOK_SECRET_ARN"  # noqa: S105 - a variable name
TIMEOUT_SECONDS = 5
MAX_TEXT = 3000
_STATE_ICONS = {"ALARM": ":rotating_light:", "OK": ":white_check_mark:",
                "INSUFFICIENT_DATA": ":grey_question:"}

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)
_cached_webhook: str | None = None


class ForwarderError(RuntimeError):
    """Configuration or delivery failed; the message never contains the webhook URL."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _secrets_client() -> Any:
    import boto3  # provided by the Lambda runtime; imported lazily so tests can run without AWS

    return boto3.client("secretsmanager")


def webhook_url(client: Any = None) -> str:
    """The webhook from Secrets Manager (cached); https only, except a loopback stand-in for tests."""
    global _cached_webhook
    if _cached_webhook is None:
        arn = os.environ.get(WEBHOOK_SECRET_ARN_ENV, "").strip()
        if not arn:
            raise ForwarderError(f"{WEBHOOK_SECRET_ARN_ENV} is not set")
        value = (client or _secrets_client()).get_secret_value(SecretId=arn).get("SecretString", "").strip()
        problem = secret_url_problem(value)
        if problem:
            raise ForwarderError(f"secret {arn} does not hold an https:// Slack webhook URL: {problem}")
        _cached_webhook = value
    return _cached_webhook


def _alarm_text(alarm: dict[str, Any]) -> str:
    state = str(alarm.get("NewStateValue", "?"))
    lines = [f"{_STATE_ICONS.get(state, ':bell:')} *{alarm.get('AlarmName', 'alarm')}* is {state}"]
    for key in ("AlarmDescription", "NewStateReason"):
        if alarm.get(key):
            lines.append(str(alarm[key]))
    return "\n".join(lines)


def _failure_text(record: dict[str, Any]) -> str:
    context = record.get("requestContext") or {}
    payload = record.get("responsePayload") or {}
    error = payload.get("errorMessage") if isinstance(payload, dict) else None
    text = (f":x: *{context.get('functionArn', 'function').split(':')[-1]}* failed "
            f"({context.get('condition', 'unknown condition')}, "
            f"{context.get('approximateInvokeCount', '?')} attempts)")
    return f"{text}\n{error}" if error else text


def format_message(subject: str | None, message: str) -> dict[str, str]:
    """Slack payload for one SNS message: alarm, Lambda failure record, or plain text."""
    try:
        data = json.loads(message)
    except (TypeError, ValueError):
        data = None
    if isinstance(data, dict) and "AlarmName" in data:
        text = _alarm_text(data)
    elif isinstance(data, dict) and "requestContext" in data:
        text = _failure_text(data)
    else:
        text = f"*{subject}*\n{message}" if subject else message
    return {"text": text[:MAX_TEXT]}


def post(url: str, payload: dict[str, str]) -> None:
    request = urllib.request.Request(  # noqa: S310 - scheme checked in webhook_url()
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        raise ForwarderError(f"Slack webhook answered HTTP {exc.code}", exc.code) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ForwarderError(f"Slack webhook unreachable: {type(reason).__name__}") from None


def _post_with_rotation(payload: dict[str, str]) -> None:
    """A revoked webhook (4xx) may have been rotated in Secrets Manager: re-read once and retry."""
    global _cached_webhook
    url = webhook_url()
    try:
        post(url, payload)
    except ForwarderError as exc:
        if exc.status is None or not 400 <= exc.status < 500:
            raise
        _cached_webhook = None
        if webhook_url() == url:
            raise
        post(webhook_url(), payload)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, int]:
    """Lambda entry point for SNS events; raises on delivery failure so Lambda retries."""
    posted = 0
    for record in event.get("Records", []):
        sns = record.get("Sns") or {}
        _post_with_rotation(format_message(sns.get("Subject"), str(sns.get("Message", ""))))
        posted += 1
    log.info("forwarded to Slack", extra={"event": "slack_forwarder.posted", "posted": posted})
    return {"posted": posted}
