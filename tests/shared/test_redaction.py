"""The one redaction function every log line and error message passes through."""

from __future__ import annotations

from llm_shared.redaction import redact

KEY = "sk-test-7f3a9c2e1b5d4f60"


def test_every_secret_and_its_bearer_form_is_masked_and_empty_ones_are_ignored():
    text = f"upstream said 'Bearer {KEY}' to admin-token-0123456789 ({KEY})"
    assert redact(text, KEY, None, "", "admin-token-0123456789") == "upstream said 'Bearer ***' to *** (***)"


def test_a_secret_containing_another_is_hidden_whole():
    """Shortest first would leave the longer secret's tail readable: 'abc' then 'abcdef' -> '***def'."""
    assert redact("token abcdef-long", "abc", "abcdef-long") == "token ***"
    assert redact("token abcdef-long", "abcdef-long", "abc") == "token ***"


def test_text_without_secrets_is_unchanged():
    assert redact("nothing to hide", KEY) == "nothing to hide"
    assert redact("nothing to hide") == "nothing to hide"
