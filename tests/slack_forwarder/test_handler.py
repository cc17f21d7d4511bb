"""The Slack forwarder: webhook from Secrets Manager (moto), posted to a local stand-in for Slack."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from slack_forwarder import handler as forwarder
from standins.slack import SlackStandIn, slack_standin


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with slack_standin() as standin:
        yield standin


@pytest.fixture
def webhook_secret(monkeypatch):
    """A moto Secrets Manager holding the webhook; returns a setter for its value."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(forwarder, "_cached_webhook", None)
    with mock_aws():
        client = boto3.client("secretsmanager")

        def put(value: str) -> str:
            try:
                arn = client.create_secret(Name="slack-webhook", SecretString=value)["ARN"]
            except client.exceptions.ResourceExistsException:
                arn = client.put_secret_value(SecretId="slack-webhook", SecretString=value)["ARN"]
            monkeypatch.setenv(forwarder.WEBHOOK_SECRET_ARN_ENV, arn)
            return arn

        yield put


def sns_event(message: str, subject: str | None = None) -> dict:
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Subject": subject, "Message": message}}]}


ALARM = {"AlarmName": "llm-cost-governance-prod-daily-cost-critical", "NewStateValue": "ALARM",
         "NewStateReason": "Threshold Crossed: 1 datapoint [51.2] was >= 50.0",
         "AlarmDescription": "Daily LLM spend reached 100% of the 50 USD budget"}


def test_alarm_message_is_posted_as_readable_text(slack, webhook_secret):
    webhook_secret(slack.url)
    assert forwarder.handler(sns_event(json.dumps(ALARM), "ALARM: daily cost")) == {"posted": 1}
    [post] = slack.received
    assert post["path"] == "/services/T0/B0/secret-path-5c8d" and post["type"] == "application/json"
    text = post["json"]["text"]
    assert text.startswith(":rotating_light: *llm-cost-governance-prod-daily-cost-critical* is ALARM")
    assert "51.2" in text and "50 USD budget" in text


def test_ok_transition_and_tracker_failure_records_are_formatted():
    ok = forwarder.format_message(None, json.dumps({**ALARM, "NewStateValue": "OK"}))["text"]
    assert ok.startswith(":white_check_mark:")
    failure = {"requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:tracker:$LATEST",
                                  "condition": "RetriesExhausted", "approximateInvokeCount": 3},
               "responsePayload": {"errorMessage": "gateway unreachable"}}
    text = forwarder.format_message(None, json.dumps(failure))["text"]
    assert "RetriesExhausted" in text and "3 attempts" in text and "gateway unreachable" in text
    assert forwarder.format_message("Hello", "plain words")["text"] == "*Hello*\nplain words"
    assert len(forwarder.format_message(None, "x" * 10_000)["text"]) == forwarder.MAX_TEXT


def test_each_delivery_is_logged_with_structured_fields(slack, webhook_secret, caplog):
    webhook_secret(slack.url)
    with caplog.at_level(logging.INFO, logger=forwarder.log.name):
        forwarder.handler(sns_event("one"))
    record = next(r for r in caplog.records if r.name == forwarder.log.name)
    assert (record.getMessage(), record.event, record.posted) == ("forwarded to Slack",
                                                                  "slack_forwarder.posted", 1)
    assert "secret-path" not in caplog.text


def test_the_webhook_is_read_once_per_container(slack, webhook_secret):
    webhook_secret(slack.url)
    forwarder.handler(sns_event("one"))
    forwarder.handler(sns_event("two"))
    assert [p["json"]["text"] for p in slack.received] == ["one", "two"]
    assert forwarder._cached_webhook == slack.url


def test_slack_errors_raise_without_revealing_the_webhook(slack, webhook_secret):
    webhook_secret(slack.url)
    slack.status = 500
    with pytest.raises(forwarder.ForwarderError) as info:
        forwarder.handler(sns_event("boom"))
    assert "HTTP 500" in str(info.value) and "secret-path" not in str(info.value)


def test_unreachable_slack_raises_without_revealing_the_webhook(webhook_secret):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    webhook_secret(f"http://127.0.0.1:{port}/services/secret-path")
    with pytest.raises(forwarder.ForwarderError, match="unreachable") as info:
        forwarder.handler(sns_event("boom"))
    assert "secret-path" not in str(info.value)


@pytest.mark.parametrize("value", ["http://hooks.slack.com/services/x", "not a url", ""])
def test_a_webhook_that_is_not_https_is_refused(webhook_secret, value):
    arn = webhook_secret(value or " ")
    with pytest.raises(forwarder.ForwarderError, match="https://") as info:
        forwarder.handler(sns_event("x"))
    assert arn in str(info.value) and "hooks.slack.com" not in str(info.value)


def test_a_rotated_webhook_is_picked_up_after_the_old_one_is_revoked(slack, webhook_secret):
    old = slack.url.replace("secret-path-5c8d", "revoked")
    webhook_secret(old)
    forwarder.handler(sns_event("before"))  # the old URL is now cached in the warm container
    slack.revoked = {"/services/T0/B0/revoked"}
    webhook_secret(slack.url)  # rotated in Secrets Manager
    assert forwarder.handler(sns_event("after")) == {"posted": 1}
    paths = [p["path"] for p in slack.received]
    assert paths == ["/services/T0/B0/revoked", "/services/T0/B0/revoked", "/services/T0/B0/secret-path-5c8d"]
    assert forwarder._cached_webhook == slack.url


def test_a_server_error_does_not_reread_the_secret(slack, webhook_secret):
    webhook_secret(slack.url)
    forwarder.handler(sns_event("warm"))
    slack.status = 503
    with pytest.raises(forwarder.ForwarderError, match="503"):
        forwarder.handler(sns_event("x"))
    assert forwarder._cached_webhook == slack.url
