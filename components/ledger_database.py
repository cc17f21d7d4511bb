"""LedgerDatabase: an RDS PostgreSQL for the gateways' shared ledger, for stacks that bring none.

Why these choices (docs/adr/0011-shared-ledger-database.md):
- the GPU hosts are outside AWS (Lambda Labs), so the instance is publicly accessible, and the only
  way in is a security group admitting TCP 5432 from each host's address/32, nothing else;
- TLS is enforced by the server (parameter group rds.force_ssl=1) and asked by the DSN
  (sslmode=require), storage is encrypted, backups kept, deletion protected unless turned off;
- the master password is RDS-managed (manage_master_user_password): RDS generates it into Secrets
  Manager, so no resource input or output holds it. The deploy reads it to build the DSN, which is a
  Pulumi secret from then on (like every other secret in the gateways' env file);
- the account's default VPC and its default subnets: the simplest placement that works for hosts
  reaching it over the internet; a dedicated VPC buys nothing when every client is outside AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from components.naming import CostTaggedComponent, physical_name
from components.settings import LedgerSettings

ENGINE_VERSION = "16"
PARAMETER_FAMILY = "postgres16"
PORT = 5432
DB_NAME = "ledger"
MASTER_USER = "ledger_admin"


def ingress_cidrs(addresses: list[str]) -> list[str]:
    """Each host's own /32: the only sources the database admits."""
    return sorted({f"{address}/32" for address in addresses})


def dsn(username: str, password: str, address: str, port: int) -> str:
    """libpq URL with TLS required (the server refuses plain connections anyway)."""
    return (f"postgresql://{quote(username, safe='')}:{quote(password, safe='')}@{address}:{port}/"
            f"{DB_NAME}?sslmode=require")


@dataclass
class LedgerDatabaseArgs:
    ledger: LedgerSettings
    host_addresses: list[pulumi.Input[str]]  # each gateway host's IPv4 address


class LedgerDatabase(CostTaggedComponent):
    endpoint: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]
    dsn: pulumi.Output[str]  # secret

    def __init__(self, name: str, args: LedgerDatabaseArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("LedgerDatabase", name, opts)
        ledger = args.ledger
        child = pulumi.ResourceOptions(parent=self)
        cidrs = pulumi.Output.all(*args.host_addresses).apply(lambda ips: ingress_cidrs(list(ips)))
        group = aws.ec2.SecurityGroup(
            f"{name}-access",
            name=physical_name("ledger-db"),
            description="PostgreSQL 5432 from the gateway hosts only",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=PORT, to_port=PORT, cidr_blocks=cidrs,
                description="gateway hosts")],
            egress=[],  # the database starts no connections
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            name=physical_name("ledger-db"),
            family=PARAMETER_FAMILY,
            description="TLS only for the gateways' ledger",
            parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            opts=child,
        )
        instance = aws.rds.Instance(
            name,
            identifier=physical_name("ledger"),
            engine="postgres",
            engine_version=ENGINE_VERSION,
            instance_class=ledger.db_instance_class,
            allocated_storage=ledger.db_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=DB_NAME,
            username=MASTER_USER,
            manage_master_user_password=True,
            port=PORT,
            parameter_group_name=parameters.name,
            vpc_security_group_ids=[group.id],
            publicly_accessible=True,  # the hosts are outside AWS; the security group is the gate
            backup_retention_period=ledger.db_backup_retention_days,
            deletion_protection=ledger.db_deletion_protection,
            skip_final_snapshot=False,
            final_snapshot_identifier=physical_name("ledger-final"),
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            opts=child,
        )
        secret_arn = instance.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn)
        current = aws.secretsmanager.get_secret_version_output(
            secret_id=secret_arn, opts=pulumi.InvokeOptions(parent=self))
        login = pulumi.Output.secret(current.secret_string).apply(lambda text: json.loads(str(text)))
        self.endpoint = instance.address
        self.master_secret_arn = secret_arn  # type: ignore[assignment]
        self.dsn = pulumi.Output.secret(pulumi.Output.all(login, instance.address, instance.port).apply(
            lambda v: dsn(v[0]["username"], v[0]["password"], v[1], int(v[2]))))
        self.register_outputs({"endpoint": self.endpoint, "masterSecretArn": self.master_secret_arn})
