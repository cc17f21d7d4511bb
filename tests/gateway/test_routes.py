"""The route table is the one place endpoints are added: a module's factory, one line in ROUTES."""

from __future__ import annotations

import requests

from gateway import routes
from gateway.asgi import HttpRequest, respond_json
from gateway.openai_errors import bad_request

from .conftest import ADMIN_TOKEN, CLIENT_TOKEN, running_gateway


def echo_endpoint(app):
    """A new admin endpoint as another module would write it: auth, query, errors, JSON."""

    async def handle(request: HttpRequest) -> None:
        app.auth.require_admin(request.headers.get(b"authorization"))
        if request.query_string == b"fail=1":
            raise bad_request("fail was asked for", "fail", "invalid_value")
        await respond_json(request.send, 200, {"query": request.query_string.decode(),
                                               "requests": app.writer.pending})

    return handle


def test_an_endpoint_added_to_the_route_table_is_served_with_the_gateway_s_auth_and_errors(
        backends, tmp_path, monkeypatch):
    monkeypatch.setitem(routes.ROUTES, ("GET", "/v1/echo"), echo_endpoint)
    backends.reset()
    with running_gateway(backends, tmp_path) as gw:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ok = requests.get(f"{gw.v1}/echo?a=1", headers=admin, timeout=30)
        assert ok.status_code == 200 and ok.json() == {"query": "a=1", "requests": 0}
        refused = requests.get(f"{gw.v1}/echo", headers={"Authorization": f"Bearer {CLIENT_TOKEN}"},
                               timeout=30)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_token_required"
        bad = requests.get(f"{gw.v1}/echo?fail=1", headers=admin, timeout=30)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "fail"
        wrong = requests.post(f"{gw.v1}/echo", headers=admin, timeout=30)
        assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"

