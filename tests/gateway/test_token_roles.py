"""Who may see and spend what: client tokens chat, the admin token (the cost tracker's) reads usage
and metrics and cannot chat; /metrics is behind the admin token (docs/adr/0007-gateway-token-roles.md)."""

from __future__ import annotations

import pytest
import requests

from .conftest import ADMIN_TOKEN, CLIENT_TOKEN, HELLO, OTHER_CLIENT_TOKEN, SMALL

GOOD = {"model": SMALL, "messages": HELLO}


def _get(gw, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{gw.url}{path}", headers=headers, timeout=30)


@pytest.mark.parametrize("stream", [False, True])
def test_the_admin_token_cannot_chat_or_spend(gw, backends, stream):
    committed = gw.app.guard.status()
    response = gw.chat({**GOOD, "stream": stream}, token=ADMIN_TOKEN)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "permission_error" and error["code"] == "client_token_required"
    assert ADMIN_TOKEN not in response.text
    assert backends.serverless.app.request_count + backends.gpu.app.request_count == 0
    assert gw.rows() == []
    assert gw.app.guard.status() == committed
    assert gw.chat(GOOD, token=CLIENT_TOKEN).status_code == 200  # clients still chat


def test_metrics_need_the_admin_token(gw):
    assert _get(gw, "/metrics", None).status_code == 401
    for client in (CLIENT_TOKEN, OTHER_CLIENT_TOKEN):
        refused = _get(gw, "/metrics", client)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_token_required"
        assert "gateway_budget_used_ratio" not in refused.text
    allowed = _get(gw, "/metrics", ADMIN_TOKEN)
    assert allowed.status_code == 200 and "gateway_budget_used_ratio" in allowed.text


@pytest.mark.parametrize("token", [CLIENT_TOKEN, ADMIN_TOKEN])
def test_both_roles_may_list_models(gw, token):
    assert _get(gw, "/v1/models", token).status_code == 200


def test_health_probes_stay_open(gw):
    assert _get(gw, "/healthz", None).status_code == 200
    assert _get(gw, "/readyz", None).status_code == 200
