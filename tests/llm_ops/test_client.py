"""The gateway client and its settings: tokens from files or env, never shown; typed refusals."""

from __future__ import annotations

import pytest

from llm_ops.client import AdminTokenMissing, AuthRejected, GatewayClient, RequestRejected
from llm_ops.settings import OpsConfigError, OpsSettings
from tests.gateway.conftest import ADMIN_TOKEN, CLIENT_TOKEN, HELLO, SMALL

from .conftest import ledger_totals


def test_tokens_come_from_files_first_and_never_show_in_a_repr(tmp_path):
    (tmp_path / "client").write_text(f"  {CLIENT_TOKEN}\n")
    settings = OpsSettings.from_env({"GATEWAY_URL": "https://gw.example.com/v1/",
                                     "GATEWAY_TOKEN_FILE": str(tmp_path / "client"),
                                     "GATEWAY_TOKEN": "ignored-when-a-file-is-given",
                                     "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN})
    assert settings.gateway_url == "https://gw.example.com"
    assert (settings.token, settings.admin_token) == (CLIENT_TOKEN, ADMIN_TOKEN)
    client = GatewayClient.from_settings(settings)
    for text in (repr(settings), repr(client)):
        assert CLIENT_TOKEN not in text and ADMIN_TOKEN not in text


@pytest.mark.parametrize(("env", "names"), [
    ({}, "GATEWAY_TOKEN_FILE"),
    ({"GATEWAY_TOKEN_FILE": "/nonexistent/token"}, "GATEWAY_TOKEN_FILE: cannot read /nonexistent/token"),
    ({"GATEWAY_TOKEN": CLIENT_TOKEN, "GATEWAY_URL": f"https://user:{ADMIN_TOKEN}@gw"}, "GATEWAY_URL"),
])
def test_bad_settings_name_the_variable_and_echo_no_token(env, names):
    with pytest.raises(OpsConfigError) as error:
        OpsSettings.from_env(env)
    assert names in str(error.value) and ADMIN_TOKEN not in str(error.value)


def test_refusals_are_typed_and_carry_no_token(gw):
    with GatewayClient(gw.url, ADMIN_TOKEN) as admin_as_client, GatewayClient(gw.url, CLIENT_TOKEN) as client:
        with pytest.raises(AuthRejected) as refused:
            admin_as_client.chat(HELLO)  # the admin token reads usage; it cannot spend
        with pytest.raises(RequestRejected) as unknown:
            client.chat(HELLO, model="gpt-17")
        with pytest.raises(AdminTokenMissing):
            client.budget()
        done = client.chat(HELLO, model=SMALL, max_tokens=3)
    assert refused.value.status == 403 and ADMIN_TOKEN not in str(refused.value)
    assert unknown.value.status == 404 and SMALL in str(unknown.value)
    assert (done.model, done.completion_tokens, done.text) == (SMALL, 3, "w0 w1 w2")
    assert ledger_totals(gw)[0] == 1 and ledger_totals(gw)[3] == done.cost_pico
