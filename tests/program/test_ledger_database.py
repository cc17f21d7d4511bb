"""LedgerDatabase under mocks: encrypted RDS PostgreSQL, TLS forced, reachable only from the hosts'
/32s, RDS-managed password (never a resource input or plain output), its DSN a secret in each env file."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from components.settings import SettingsError
from gateway import env_names
from tests.program.harness import (
    PROJECT,
    RDS_ADDRESS,
    RDS_PASSWORD,
    ProgramRun,
    is_secret,
    reveal,
    run_program,
    unwrapped_strings,
)
from tests.program.test_gateway_hosts import HOSTS, env_file, several

INSTANCE = "aws:rds/instance:Instance"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"


@pytest.fixture(scope="module")
def rds_run() -> ProgramRun:
    return run_program("staging", several(3, ledgerKind="rds"))


def test_the_instance_is_encrypted_postgres_with_backups_deletion_protection_and_no_password(rds_run):
    db = rds_run.one(INSTANCE, "ledger-db").inputs
    assert db["engine"] == "postgres" and db["storageEncrypted"] is True
    assert db["manageMasterUserPassword"] is True and "password" not in db
    assert db["backupRetentionPeriod"] == 7 and db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == f"{PROJECT}-staging-ledger-final"
    assert db["identifier"] == f"{PROJECT}-staging-ledger"
    assert db["publiclyAccessible"] is True  # the hosts are outside AWS; the security group is the gate
    params = rds_run.one(PARAMS, "ledger-db-params").inputs
    assert db["parameterGroupName"] == params["name"] == f"{PROJECT}-staging-ledger-db"
    assert {"name": "rds.force_ssl", "value": "1"} in [
        {k: p[k] for k in ("name", "value")} for p in params["parameters"]]
    assert db["vpcSecurityGroupIds"] == ["ledger-db-access-id"]


def test_only_each_hosts_address_reaches_port_5432(rds_run):
    group = rds_run.one(GROUP, "ledger-db-access").inputs
    assert group["name"] == f"{PROJECT}-staging-ledger-db"
    assert group["egress"] == []
    [rule] = group["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 5432, 5432)
    assert rule["cidrBlocks"] == sorted(f"{h['host']}/32" for h in HOSTS)
    assert not rule.get("ipv6CidrBlocks")
    everything = json.dumps([r.inputs for r in rds_run.of_type(GROUP)], default=str)
    assert "0.0.0.0/0" not in everything and "::/0" not in everything


def test_every_gateway_gets_the_dsn_with_tls_as_a_secret_and_the_password_appears_nowhere_plain(rds_run):
    for spec in HOSTS:
        dsn = env_file(rds_run, f"gateway-{spec['name']}")[env_names.LEDGER_URL]
        parts = urlsplit(dsn)
        where = (parts.scheme, parts.hostname, parts.port, parts.path)
        assert where == ("postgresql", RDS_ADDRESS, 5432, "/ledger")
        assert parts.query == "sslmode=require" and parts.username == "ledger_admin"
        assert "/" not in parts.password and "@" not in parts.password  # escaped, so libpq parses it back
    for resource in rds_run.resources:
        plain = [p for p, text in unwrapped_strings(resource.inputs) if RDS_PASSWORD in text]
        assert not plain, resource.name
    assert RDS_PASSWORD not in repr(rds_run.outputs)
    assert rds_run.outputs["ledgerKind"] == "rds"


def test_the_database_and_its_parts_carry_the_cost_tags(rds_run):
    for typ, name in ((INSTANCE, "ledger-db"), (GROUP, "ledger-db-access"), (PARAMS, "ledger-db-params")):
        tags = rds_run.one(typ, name).inputs["tags"]
        assert tags == {"project": PROJECT, "stack": "staging", "component": "LedgerDatabase"}


def test_settings_change_size_backups_and_deletion_protection():
    run = run_program("staging", several(2, ledgerKind="rds", ledgerDbInstanceClass="db.t4g.small",
                                         ledgerDbAllocatedStorageGb="50", ledgerDbBackupRetentionDays="14",
                                         ledgerDbDeletionProtection="false"))
    db = run.one(INSTANCE, "ledger-db").inputs
    got = (db["instanceClass"], db["allocatedStorage"], db["backupRetentionPeriod"], db["deletionProtection"])
    assert got == ("db.t4g.small", 50, 14, False)


def test_a_launched_host_is_admitted_by_its_ip():
    from tests.program.harness import LAUNCHED_INSTANCE

    run = run_program("staging", {"launchInstance": "true", "gatewayHost": None, "gatewayHostKey": None,
                                  "lambdaRegion": "us-east-1", "lambdaSshKeyName": "ops",
                                  "ledgerKind": "rds"})
    [rule] = run.one(GROUP, "ledger-db-access").inputs["ingress"]
    assert rule["cidrBlocks"] == [f"{LAUNCHED_INSTANCE['ip']}/32"]
    stdin = run.one("command:remote:Command", "gateway-env-file").inputs["stdin"]
    assert is_secret(stdin) and f"{env_names.LEDGER_URL}=" in reveal(stdin)


def test_rds_needs_ip_addresses_to_admit():
    entries = [HOSTS[0], {**HOSTS[1], "host": "gpu-b.example.com"}]
    with pytest.raises(SettingsError) as info:
        run_program("staging", {**several(2, ledgerKind="rds"), "gatewayHosts": json.dumps(entries)})
    message = str(info.value)
    assert f"{PROJECT}:gatewayHosts" in message and "entry 1 ('b')" in message
    assert "an IPv4 address when ledgerKind is rds" in message


def test_the_database_passes_the_policy_pack_and_ops_get_its_endpoint_and_secret(rds_run):
    from policy.validators import violations
    from tests.program.harness import RDS_SECRET_ARN

    found = {(r.typ, r.name): v for r in rds_run.resources if (v := violations(r.typ, r.inputs))}
    assert found == {}
    assert rds_run.outputs["ledgerDbEndpoint"] == RDS_ADDRESS
    assert rds_run.outputs["ledgerDbSecretArn"] == RDS_SECRET_ARN  # an ARN, never the password
    readme = rds_run.outputs["readme"]
    assert all(h["host"] in readme for h in HOSTS) and "ledger rds" in readme
