"""gatewayHosts: one gateway per host, same configuration, one shared ledger; the one-host keys stay
the shorthand; several hosts without a shared ledger, duplicates and a DSN without TLS fail preview."""

from __future__ import annotations

import json

import pytest

from components.settings import HostSpec, SettingsError, parse_settings
from gateway import env_names
from tests.program.harness import (
    ESC_STAND_IN,
    PROJECT,
    REGION,
    ProgramRun,
    is_secret,
    project_config,
    reveal,
    run_program,
    stack_config,
    unwrapped_strings,
)

COMMAND = "command:remote:Command"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{}"
HOSTS = [{"name": n, "host": f"198.51.100.{20 + i}", "hostKey": KEY.format(f"Host{n}"),
          "url": f"https://gw-{n}.staging.example.com"} for i, n in enumerate(("a", "b", "c"))]
DSN = "postgresql://ledger:esc-ledger-pw-51c7@db.example.com:5432/ledger?sslmode=verify-full"
ONE_HOST = {"gatewayHost": None, "gatewayHostKey": None, "gatewayUrl": None}


def several(count: int, **more: str | None) -> dict[str, str | None]:
    return {**ONE_HOST, "gatewayHosts": json.dumps(HOSTS[:count]), **more}


def with_ledger_url(dsn: str = DSN) -> dict[str, str]:
    return {**ESC_STAND_IN["staging"], "ledgerUrl": dsn}


def env_file(run: ProgramRun, component: str) -> dict[str, str]:
    stdin = run.one(COMMAND, f"{component}-env-file").inputs["stdin"]
    assert is_secret(stdin)
    return dict(line.split("=", 1) for line in reveal(stdin).splitlines())


def tracker_gateway_url(run: ProgramRun) -> str:
    from cost_tracker import env_names as tracker_env

    function = run.one("aws:lambda/function:Function", "cost-tracker")
    return function.inputs["environment"]["variables"][tracker_env.GATEWAY_URL]


def test_the_one_host_keys_deploy_one_gateway_named_as_before_on_sqlite(run):
    assert {r.name for r in run.of_type(f"{PROJECT}:index:GatewayHost")} == {"gateway"}
    pairs = env_file(run, "gateway")
    assert pairs[env_names.LEDGER_URL] == "/data/ledger.db" and env_names.LEDGER_DEAD_LETTER_PATH not in pairs
    url = stack_config(run.stack)[f"{PROJECT}:gatewayUrl"]
    assert run.outputs["gatewayUrls"] == {"gateway": url}
    assert run.outputs["ledgerKind"] == "sqlite"
    assert run.options[(f"{PROJECT}:index:GatewayHost", "gateway")].aliases == ()


def test_one_listed_host_may_keep_sqlite_and_adopts_the_one_host_resources():
    run = run_program("staging", several(1))
    gateways = {r.name for r in run.of_type(f"{PROJECT}:index:GatewayHost")}
    assert gateways == {"gateway-a"}
    assert run.options[(f"{PROJECT}:index:GatewayHost", "gateway-a")].aliases == (("gateway", ""),)
    parent = f"urn:pulumi:staging::{PROJECT}::{PROJECT}:index:GatewayHost::gateway"
    for resource in run.resources:
        if resource.typ.startswith("command:remote:"):
            assert resource.name.startswith("gateway-a-")
            old = "gateway-" + resource.name.removeprefix("gateway-a-")
            assert run.options[(resource.typ, resource.name)].aliases == ((old, parent),), resource.name
    assert tracker_gateway_url(run) == HOSTS[0]["url"]  # gatewayUrl defaults to the first host's


@pytest.mark.parametrize("count", [2, 3])
def test_several_hosts_get_the_same_gateway_and_the_shared_dsn_as_a_secret(count):
    run = run_program("staging", several(count, ledgerKind="postgres"), secrets=with_ledger_url())
    files = [env_file(run, f"gateway-{h['name']}") for h in HOSTS[:count]]
    assert all(f[env_names.LEDGER_URL] == DSN for f in files)
    assert all(f[env_names.LEDGER_DEAD_LETTER_PATH] == "/data/ledger.dead-letter.jsonl" for f in files)
    assert all(f == files[0] for f in files)  # same configuration on every host
    for spec in HOSTS[:count]:
        connection = reveal(run.one(COMMAND, f"gateway-{spec['name']}-dirs").inputs["connection"])
        assert (connection["host"], connection["hostKey"]) == (spec["host"], spec["hostKey"])
        caddyfile = run.one(COMMAND, f"gateway-{spec['name']}-caddyfile").inputs["stdin"]
        assert caddyfile.count(spec["url"].removeprefix("https://") + " {") == 1
    assert run.outputs["gatewayUrls"] == {h["name"]: h["url"] for h in HOSTS[:count]}
    assert run.outputs["ledgerKind"] == "postgres"
    assert tracker_gateway_url(run) == HOSTS[0]["url"]  # any one: they answer the same
    leaks = [(r.name, path) for r in run.resources for path, text in unwrapped_strings(r.inputs)
             if "esc-ledger-pw" in text]
    assert leaks == [] and "esc-ledger-pw" not in repr(run.outputs)


def test_an_explicit_gateway_url_is_what_the_tracker_reads():
    run = run_program("staging", several(2, ledgerKind="postgres", gatewayUrl="https://lb.example.com"),
                      secrets=with_ledger_url())
    assert tracker_gateway_url(run) == "https://lb.example.com"


def settings_error(**change: str | None) -> str:
    raw = {**project_config("staging"), **change}
    with pytest.raises(SettingsError) as info:
        parse_settings("staging", REGION, {k: v for k, v in raw.items() if v is not None})
    return str(info.value)


def test_several_hosts_without_a_shared_ledger_fail_naming_both_keys():
    message = settings_error(**several(2))
    assert f"{PROJECT}:gatewayHosts lists 2 hosts with {PROJECT}:ledgerKind" in message
    assert "Allowed: ledgerKind postgres or rds" in message


@pytest.mark.parametrize(("entries", "fragment"), [
    ([HOSTS[0], {**HOSTS[1], "name": "a"}], "entry 1 ('a'): the name is already used by entry 0"),
    ([HOSTS[0], {**HOSTS[1], "host": HOSTS[0]["host"]}],
     "entry 1 ('b'): the host is already used by entry 0"),
    ([HOSTS[0], {**HOSTS[1], "url": HOSTS[0]["url"]}], "entry 1 ('b'): the url is already used by entry 0"),
    ([{**HOSTS[0], "name": "A b"}], "entry 0: name 'A b' is not allowed"),
    ([{k: v for k, v in HOSTS[0].items() if k != "hostKey"}], "entry 0 ('a'): hostKey is required"),
    ([{**HOSTS[0], "user": "root"}], "entry 0 ('a'): unknown field(s) 'user'"),
    ([{**HOSTS[0], "url": "http://gw.example.com"}], "plain http"),
    ([{**HOSTS[0], "url": "https://198.51.100.9"}], "automatic HTTPS needs a DNS name"),
    ([], "0 hosts"),
    (["198.51.100.20"], "entry 0: not an object"),
])
def test_bad_host_lists_fail_naming_the_entry_and_what_is_allowed(entries, fragment):
    message = settings_error(**ONE_HOST, gatewayHosts=json.dumps(entries), ledgerKind="postgres")
    assert f"invalid config {PROJECT}:gatewayHosts" in message and fragment in message
    listed = "Allowed: a list of at most 20 {name, host, hostKey, url}"
    assert listed in message or "Allowed: a DNS" in message or "Allowed: an https://" in message


def test_the_one_host_keys_and_the_list_are_not_mixed():
    message = settings_error(gatewayHosts=json.dumps(HOSTS[:1]))
    assert f"{PROJECT}:gatewayHost = " in message and "empty when gatewayHosts is set" in message


def test_an_unknown_ledger_kind_fails():
    assert "Allowed: sqlite (one host), postgres" in settings_error(ledgerKind="mysql")


def test_the_settings_hold_one_spec_per_host():
    raw = {**project_config("staging"), **several(2, ledgerKind="rds")}
    settings = parse_settings("staging", REGION, {k: v for k, v in raw.items() if v is not None})
    assert settings.gateway.hosts == tuple(HostSpec(h["name"], h["host"], h["hostKey"], h["url"])
                                           for h in HOSTS[:2])
    assert settings.ledger.kind == "rds" and settings.ledger.shared


@pytest.mark.parametrize(("dsn", "fragment"), [
    ("postgresql://ledger:esc-ledger-pw-51c7@db.example.com:5432/ledger", "needs sslmode=require"),
    ("postgresql://ledger:esc-ledger-pw-51c7@db.example.com/ledger?sslmode=prefer", "needs sslmode=require"),
    ("postgresql://ledger:esc-ledger-pw-51c7@db.example.com:5432/", "names no database"),
    ("mysql://ledger:esc-ledger-pw-51c7@db.example.com/ledger?sslmode=require", "not a postgresql:// DSN"),
    ("postgresql://ledger:esc-ledger-pw-51c7@db.example.com/ledger?sslmode=require\nX=1", "line break"),
])
def test_a_ledger_url_without_tls_or_not_postgres_fails_naming_the_key_never_the_dsn(dsn, fragment):
    with pytest.raises(SettingsError) as info:
        run_program("staging", several(2, ledgerKind="postgres"), secrets=with_ledger_url(dsn))
    message = str(info.value)
    assert f"{PROJECT}:ledgerUrl" in message and fragment in message and "esc-ledger-pw" not in message


def test_loopback_postgres_needs_no_tls():
    run = run_program("staging", several(2, ledgerKind="postgres"),
                      secrets=with_ledger_url("postgresql://postgres@127.0.0.1:5432/test"))
    assert env_file(run, "gateway-a")[env_names.LEDGER_URL] == "postgresql://postgres@127.0.0.1:5432/test"


def test_postgres_without_the_esc_secret_and_a_secret_without_postgres_fail():
    with pytest.raises(SettingsError, match=f"missing secret config {PROJECT}:ledgerUrl: required when "
                       "ledgerKind is postgres"):
        run_program("staging", several(2, ledgerKind="postgres"))
    match = f"{PROJECT}:ledgerUrl is set but {PROJECT}:ledgerKind is 'sqlite'"
    with pytest.raises(SettingsError, match=match):
        run_program("staging", secrets=with_ledger_url())


def test_one_host_on_postgres_gets_the_dsn_too():
    run = run_program("staging", {"ledgerKind": "postgres"}, secrets=with_ledger_url())
    assert env_file(run, "gateway")[env_names.LEDGER_URL] == DSN
