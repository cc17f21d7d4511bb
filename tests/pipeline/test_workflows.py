"""The delivery pipeline's workflow files say what the runbook promises.

Parsed with PyYAML (where `on:` becomes the boolean key True) and checked for triggers, least
privilege, per-stack deploy serialisation, the prod approval gate, the policy pack on every preview
and up, and secrets that are only ever referenced by name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = ("ci", "preview", "deploy", "integration", "cost-monitor")
# Tags allowed only in jobs without credentials (they run no code with a token or a secret).
PINNED = {
    "actions/checkout": "v4",
    "actions/setup-python": "v5",
    "actions/upload-artifact": "v4",
    "actions/cache": "v4",
    "pulumi/actions": "v6",
    "aws-actions/configure-aws-credentials": "v4",
}
# Commit SHAs (and the release each one is) for jobs that hold credentials; a tag can be moved.
PINNED_SHAS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    "aws-actions/configure-aws-credentials": ("e3dd6a429d7300a6a4c196c26e071d42e0343502", "v4.0.2"),
    "pulumi/actions": ("8582a9e8cc630786854029b4e09281acd6794b58", "v6.6.1"),
    "docker/setup-buildx-action": ("e468171a9de216ec08956ac3ada2f0791b6bd435", "v3.11.1"),
    "docker/login-action": ("74a5d142397b4f367a81961eba4e8cd7edddf772", "v3.4.0"),
    "docker/build-push-action": ("263435318d21b8e681c14492fe198d362a7d2c83", "v6.18.0"),
    "actions/cache": ("5a3ec84eff668545956fd18022155c47e93e2684", "v4.2.3"),
}
OIDC_ACTION = "aws-actions/configure-aws-credentials"
PULUMI_ACTION = "pulumi/actions"
# The one secret the pipeline needs, written by the bootstrap project (bootstrap/github_setup.py);
# role ARNs are not secrets: they come from the variables the bootstrap writes (vars.*).
SECRET_NAMES = {"PULUMI_ACCESS_TOKEN"}
# Write permissions beyond the defaults, and the one job each belongs to.
EXTRA_WRITES = {("deploy", "image"): {"packages"}, ("cost-monitor", "issue"): {"issues"}}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())


def text(name: str) -> str:
    return (WORKFLOWS / f"{name}.yml").read_text()


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    assert "on" not in workflow
    return workflow[True]


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])]


def action(step: dict[str, Any]) -> str:
    return step.get("uses", "").split("@")[0]


def pulumi_runs(workflow: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(job, command, step) for every pulumi preview/up, through the action or the CLI."""
    found = []
    for job_id, step in steps(workflow):
        if action(step) == PULUMI_ACTION and step.get("with", {}).get("command") in ("preview", "up"):
            found.append((job_id, step["with"]["command"], step))
        for command in re.findall(r"^\s*pulumi (up|preview)\b", step.get("run", ""), re.MULTILINE):
            found.append((job_id, command, step))
    return found


@pytest.fixture(params=NAMES)
def name(request) -> str:
    return request.param


# --- every workflow ----------------------------------------------------------------------------


def test_workflow_files_are_exactly_these(name):
    assert sorted(p.stem for p in WORKFLOWS.glob("*.y*ml")) == sorted(NAMES)
    assert load(name)["jobs"]


def holds_credentials(workflow: dict[str, Any], job: dict[str, Any]) -> bool:
    """A job that can write, has an environment, or sees a secret or the token."""
    granted = {**workflow["permissions"], **job.get("permissions", {})}
    return ("write" in granted.values() or "environment" in job
            or re.search(r"secrets\.|github\.token", yaml.safe_dump(job)) is not None)


def test_actions_are_pinned_and_credential_jobs_pin_commit_shas(name):
    workflow, lines = load(name), text(name).splitlines()
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if "uses" not in step:
                continue
            repo, _, ref = step["uses"].partition("@")
            if re.fullmatch(r"[0-9a-f]{40}", ref):
                where = f"{name}.{job_id}: {repo}@{ref[:7]}"
                assert PINNED_SHAS.get(repo, ("",))[0] == ref, f"{where}: unknown commit"
                version = PINNED_SHAS[repo][1]
                commented = [line for line in lines if step["uses"] in line]
                assert all(line.rstrip().endswith(f"# {version}") for line in commented), \
                    f"{where} needs its version comment '# {version}'"
            else:
                where = f"{name}.{job_id}: {repo}"
                assert not holds_credentials(workflow, job), f"{where}: pin to a commit SHA"
                assert PINNED.get(repo) == ref, f"{where} must be pinned to {PINNED.get(repo)}"


def test_python_is_312_and_install_is_make_install(name):
    workflow = load(name)
    for job_id, job in workflow["jobs"].items():
        runs = [s.get("run", "") for s in job.get("steps", [])]
        work = [i for i, r in enumerate(runs) if "pulumi" in r or "make test" in r or "make lint" in r
                or ".venv/bin/" in r]
        work += [i for i, s in enumerate(job.get("steps", []))
                 if action(s) == PULUMI_ACTION and "command" in s.get("with", {})]
        if not work:  # e.g. the image build and the issue update run no project code
            continue
        setups = [s for s in job["steps"] if action(s) == "actions/setup-python"]
        assert [s["with"]["python-version"] for s in setups] == ["3.12"], f"{name}.{job_id}"
        installs = [i for i, r in enumerate(runs) if r.startswith("make install")]
        assert installs, f"{name}.{job_id} never runs make install"
        assert all(i > installs[0] for i in work), f"{name}.{job_id}: install must come first"


def test_every_job_checks_out_first_and_has_a_time_limit(name):
    for job_id, job in load(name)["jobs"].items():
        if "steps" not in job:  # a reusable-workflow call: the called workflow's jobs carry their own
            continue
        assert action(job["steps"][0]) == "actions/checkout", f"{name}.{job_id}"
        assert 0 < job["timeout-minutes"] <= 60, f"{name}.{job_id}: jobs must stop by themselves"


def test_permissions_are_least_privilege(name):
    workflow = load(name)
    assert isinstance(workflow.get("permissions"), dict), f"{name}: set top-level permissions explicitly"
    uses_oidc = {job_id for job_id, step in steps(workflow) if action(step) == OIDC_ACTION}
    for job_id, job in workflow["jobs"].items():
        granted = {**workflow["permissions"], **job.get("permissions", {})}
        assert "write-all" not in str(granted)
        if job_id in uses_oidc:
            assert granted.get("id-token") == "write", f"{name}.{job_id} needs id-token: write for OIDC"
        else:
            assert "id-token" not in granted, f"{name}.{job_id} does not use OIDC: no id-token"
        extra = EXTRA_WRITES.get((name, job_id), set())
        allowed = {"contents", "id-token", "pull-requests"} | extra
        assert set(granted) <= allowed, f"{name}.{job_id}: {granted}"
        assert all(granted[key] == "write" for key in extra), f"{name}.{job_id}"
        assert granted.get("contents") == "read"


def test_every_preview_and_up_runs_the_policy_pack(name):
    for job_id, command, step in pulumi_runs(load(name)):
        if "with" in step and action(step) == PULUMI_ACTION:
            assert step["with"].get("policyPacks") == "policy", f"{name}.{job_id} {command}"
        else:
            for line in re.findall(r"^\s*pulumi (?:up|preview)\b.*$", step["run"], re.MULTILINE):
                assert "--policy-pack policy" in line, f"{name}.{job_id}: {line.strip()}"
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file() and (ROOT / "policy" / "__main__.py").is_file()


def test_secrets_are_only_referenced_by_name(name):
    content = text(name)
    assert "secrets[" not in content and "toJSON(secrets" not in content
    assert "secrets: inherit" not in content
    for expression in re.findall(r"\$\{\{(.*?)\}\}", content):
        for reference in re.findall(r"secrets\.(\w+)", expression):
            assert reference in SECRET_NAMES, f"{name}: undocumented secret {reference}"
    # Never interpolated into a shell script (logs and injection): only into `with:` and `env:`.
    for job_id, step in steps(load(name)):
        assert "secrets." not in step.get("run", ""), f"{name}.{job_id}: secret used inside run:"


LITERAL_CREDENTIALS = [
    (r"AKIA[0-9A-Z]{16}", "AWS access key id"),
    (r"aws-(access-key-id|secret-access-key|session-token)\s*:", "long-lived AWS key input"),
    (r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "private key"),
    (r"\bpul-[0-9a-f]{40}\b", "Pulumi access token"),
    (r"hooks\.slack\.com/services/", "Slack webhook"),
    (r"\bxox[abps]-", "Slack token"),
    (r"\bgh[pousr]_[A-Za-z0-9]{20,}", "GitHub token"),
]


def test_no_literal_credentials(name):
    content = text(name)
    for pattern, what in LITERAL_CREDENTIALS:
        assert not re.search(pattern, content), f"{name}: literal {what}"
    # Environment entries whose name says "credential" must come from an expression, never a literal.
    workflow = load(name)
    envs = [workflow.get("env", {})] + [job.get("env", {}) for job in workflow["jobs"].values()]
    envs += [step.get("env", {}) for _, step in steps(workflow)]
    for env in envs:
        for key, value in env.items():
            if re.search(r"TOKEN|SECRET|PASSWORD|PASSPHRASE|KEY", key):
                assert str(value).startswith("${{"), f"{name}: {key} is a literal"


# --- ci ----------------------------------------------------------------------------------------


def test_ci_runs_once_per_push_lint_once_and_forks_on_pull_requests():
    workflow = load("ci")
    on = triggers(workflow)
    # main's pushes are tested by deploy.yml calling this workflow, every other branch's here
    assert on["push"] == {"branches-ignore": ["main"]}
    assert "workflow_call" in on and load("deploy")["jobs"]["test"]["uses"] == "./.github/workflows/ci.yml"
    assert not (on["pull_request"] or {}).get("branches")
    (job,) = workflow["jobs"].values()
    # a branch of this repository was tested by its push: its pull request does not run it again
    assert job["if"] == ("github.event_name != 'pull_request' || "
                         "github.event.pull_request.head.repo.full_name != github.repository")
    runs = [step.get("run", "") for _, step in steps(workflow)]
    assert runs.count("make lint") == 1 and "make pytest" in runs
    assert "make test" not in runs  # make test runs lint again


def test_makefile_test_is_lint_then_pytest_and_lint_runs_mypy():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: lint pytest$", makefile, re.M)
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "ruff check" in lint and "mypy" in lint


def test_every_install_restores_the_uv_cache_keyed_on_the_lock_file(name):
    for job_id, job in load(name)["jobs"].items():
        if "steps" not in job:
            continue
        kinds = [action(s) for s in job["steps"]]
        installs = [i for i, s in enumerate(job["steps"]) if s.get("run", "").startswith("make install")]
        if not installs:  # the image build and the issue update install nothing
            continue
        install = installs[0]
        caches = [s for s in job["steps"][:install] if action(s) == "actions/cache"
                  and s["with"]["path"] == "~/.cache/uv"]
        assert len(caches) == 1, f"{name}.{job_id}: restore ~/.cache/uv before make install"
        assert "hashFiles('uv.lock')" in caches[0]["with"]["key"], f"{name}.{job_id}"
        assert kinds.count("actions/cache") >= 1


def test_jobs_that_run_pulumi_put_the_venvs_uv_on_path(name):
    # Pulumi.yaml says `toolchain: uv`: the CLI calls `uv`, which make install puts in .venv/bin.
    workflow = load(name)
    pulumi_jobs = {job_id for job_id, _, _ in pulumi_runs(workflow)}
    for job_id in pulumi_jobs:
        job_steps = workflow["jobs"][job_id]["steps"]
        install = next(s for s in job_steps if s.get("run", "").startswith("make install"))
        assert 'echo "$PWD/.venv/bin" >> "$GITHUB_PATH"' in install["run"], f"{name}.{job_id}"


# --- preview -----------------------------------------------------------------------------------


def test_preview_runs_on_pull_requests_for_both_stacks_and_comments():
    workflow = load("preview")
    assert set(triggers(workflow)) == {"pull_request"}
    assert workflow["permissions"] == {"id-token": "write", "contents": "read", "pull-requests": "write"}
    (job,) = workflow["jobs"].values()
    assert set(job["strategy"]["matrix"]["stack"]) == {"staging", "prod"}
    (pulumi_step,) = [s for s in job["steps"] if action(s) == PULUMI_ACTION]
    assert pulumi_step["with"]["command"] == "preview"
    assert pulumi_step["with"]["comment-on-pr"] is True
    assert pulumi_step["with"]["stack-name"].endswith("/${{ matrix.stack }}")
    assert pulumi_step["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}


def test_preview_never_runs_fork_code_with_stack_secrets():
    (job,) = load("preview")["jobs"].values()
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert "pull_request_target" not in triggers(load("preview"))


def test_preview_assumes_each_stacks_own_role_by_oidc_before_pulumi_runs():
    (job,) = load("preview")["jobs"].values()
    pulumi_at = [action(s) for s in job["steps"]].index(PULUMI_ACTION)
    roles = {}
    for index, step in enumerate(job["steps"]):
        if action(step) == OIDC_ACTION:
            assert index < pulumi_at
            assert set(step["with"]) == {"role-to-assume", "role-session-name", "aws-region"}
            stack = re.fullmatch(r"matrix\.stack == '(\w+)'", step["if"]).group(1)
            roles[stack] = step["with"]["role-to-assume"]
    assert roles == {"staging": "${{ vars.AWS_PREVIEW_ROLE_ARN_STAGING }}",
                     "prod": "${{ vars.AWS_PREVIEW_ROLE_ARN_PROD }}"}


# --- deploy ------------------------------------------------------------------------------------


def _up_job(workflow, stack):
    jobs = [(job_id, job) for job_id, job in workflow["jobs"].items()
            for s in job.get("steps", []) if action(s) == PULUMI_ACTION
            and s["with"].get("command") == "up" and s["with"]["stack-name"].endswith(f"/{stack}")]
    assert len(jobs) == 1, f"exactly one up job for {stack}"
    return jobs[0]


def test_deploy_runs_on_push_to_main_only():
    on = triggers(load("deploy"))
    assert on == {"push": {"branches": ["main"]}}


def test_deploy_order_is_tests_then_staging_then_approved_prod():
    workflow = load("deploy")
    staging_id, staging = _up_job(workflow, "staging")
    _, prod = _up_job(workflow, "prod")
    assert workflow["jobs"]["test"]["uses"] == "./.github/workflows/ci.yml"
    assert workflow["jobs"]["image"]["needs"] == "test"
    assert staging["needs"] == "image"
    assert prod["needs"] == ["image", staging_id]
    assert prod["environment"] == "production"  # required reviewers live on this environment
    assert staging.get("environment") != "production"


def test_deploys_of_one_stack_never_overlap_or_cancel():
    workflow = load("deploy")
    groups = []
    for stack in ("staging", "prod"):
        _, job = _up_job(workflow, stack)
        assert stack in job["concurrency"]["group"]
        assert job["concurrency"]["cancel-in-progress"] is False
        groups.append(job["concurrency"]["group"])
    assert len(set(groups)) == 2
    assert "concurrency" not in workflow  # a workflow-wide group would serialise unrelated stacks


def test_staging_is_smoke_tested_before_prod_can_start():
    workflow = load("deploy")
    _, staging = _up_job(workflow, "staging")
    kinds = [action(s) for s in staging["steps"]]
    up_at = max(i for i, k in enumerate(kinds) if k == PULUMI_ACTION)
    smoke = [i for i, s in enumerate(staging["steps"]) if "aws lambda invoke" in s.get("run", "")]
    assert smoke and smoke[0] > up_at
    assert "FunctionError" in staging["steps"][smoke[0]]["run"]  # a function error fails the job
    assert "costTrackerFunctionName" in staging["steps"][smoke[0]]["run"]


def test_deploy_uses_oidc_role_per_environment():
    workflow = load("deploy")
    for stack in ("staging", "prod"):
        _, job = _up_job(workflow, stack)
        kinds = [action(s) for s in job["steps"]]
        creds = job["steps"][kinds.index(OIDC_ACTION)]["with"]
        assert creds["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert kinds.index(OIDC_ACTION) < kinds.index(PULUMI_ACTION)


# --- integration -------------------------------------------------------------------------------


def _integration_script() -> tuple[dict[str, Any], str]:
    workflow = load("integration")
    (job,) = workflow["jobs"].values()
    return job, "\n".join(step.get("run", "") for step in job["steps"])


def test_integration_installs_the_cli_and_serves_moto_on_loopback():
    job, script = _integration_script()
    installs = [s for s in job["steps"] if action(s) == PULUMI_ACTION]
    assert installs and all("command" not in s.get("with", {}) for s in installs)  # install only
    assert re.search(r"moto_server -H 127\.0\.0\.1 -p", script)
    assert "0.0.0.0" not in script


def test_integration_runs_up_then_destroy_with_a_local_backend_and_no_oidc():
    job, script = _integration_script()
    up = script.index("pulumi up --stack")
    destroy = script.index("pulumi destroy --stack")
    assert script.index("moto_server") < up < destroy
    assert "PULUMI_BACKEND_URL=file://" in script
    assert "PULUMI_ACCESS_TOKEN" not in text("integration")
    assert "id-token" not in str(load("integration")["permissions"])
    stop = [s for s in job["steps"] if "moto.pid" in s.get("run", "") and "kill" in s["run"]]
    assert stop and stop[0]["if"] == "always()"


def test_integration_writes_the_stack_with_the_script_before_setting_secrets():
    _, script = _integration_script()
    init = script.index('pulumi stack init "$STACK"')
    write = script.index(".github/scripts/integration_stack.py --stack")
    secret = script.index("pulumi config set --secret")
    assert init < write < secret < script.index("pulumi up --stack")
    assert '--endpoint "http://127.0.0.1:$MOTO_PORT"' in script


def test_integration_sets_secrets_from_stdin_never_from_argv():
    _, script = _integration_script()
    assert re.search(r'openssl rand -hex 24 \| pulumi config set --secret "\$key"', script)
    assert not re.search(r"pulumi config set --secret \S+ \S+", script)


# --- release: the gateway image, deployed by digest --------------------------------------------


def test_the_image_is_built_from_the_gateway_dockerfile_pushed_to_ghcr_with_attestations():
    job = load("deploy")["jobs"]["image"]
    (build,) = [s for s in job["steps"] if action(s) == "docker/build-push-action"]
    assert build["with"]["file"] == "functions/gateway/Dockerfile" and build["with"]["context"] == "."
    assert build["with"]["push"] is True
    assert build["with"]["provenance"] == "mode=max" and build["with"]["sbom"] is True
    assert build["with"]["tags"].startswith("${{ steps.name.outputs.name }}:")
    (login,) = [s for s in job["steps"] if action(s) == "docker/login-action"]
    assert login["with"]["registry"] == "ghcr.io" and login["with"]["password"] == "${{ github.token }}"
    names = [s for s in job["steps"] if s.get("id") == "name"]
    assert "ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/llm-gateway" in names[0]["run"]
    assert (ROOT / "functions" / "gateway" / "Dockerfile").is_file()


def test_both_stacks_deploy_the_built_image_by_digest():
    workflow = load("deploy")
    job = workflow["jobs"]["image"]
    assert job["outputs"]["image"] == "${{ steps.reference.outputs.image }}"
    (reference,) = [s for s in job["steps"] if s.get("id") == "reference"]
    assert reference["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}"
    assert 'echo "image=$NAME@$DIGEST"' in reference["run"] and "sha256:[0-9a-f]{64}" in reference["run"]
    for stack in ("staging", "prod"):
        _, up_job = _up_job(workflow, stack)
        needs = up_job["needs"] if isinstance(up_job["needs"], list) else [up_job["needs"]]
        assert "image" in needs  # `needs.image` is only visible to direct dependants
        (up,) = [s for s in up_job["steps"] if action(s) == PULUMI_ACTION]
        config = yaml.safe_load(up["with"]["config-map"])
        assert config == {"llm-cost-governance:gatewayImage": {"value": "${{ needs.image.outputs.image }}",
                                                               "secret": False}}


def test_a_digest_reference_is_a_valid_gateway_image():
    from components.settings import parse_settings
    from tests.program.harness import REGION, project_config

    image = "ghcr.io/example-org/llm-gateway@sha256:" + "ab" * 32
    settings = parse_settings("prod", REGION, {**project_config("prod"), "gatewayImage": image})
    assert settings.gateway.image == image


# --- cost monitor ------------------------------------------------------------------------------


def test_cost_monitor_runs_every_six_hours_and_on_demand_with_a_check_type():
    workflow = load("cost-monitor")
    on = triggers(workflow)
    assert on["schedule"] == [{"cron": "0 */6 * * *"}]
    check = on["workflow_dispatch"]["inputs"]["check_type"]
    assert check["type"] == "choice" and check["default"] == "standard"
    assert check["options"] == ["standard", "detailed", "optimization"]
    assert workflow["env"]["CHECK_TYPE"] == "${{ inputs.check_type || 'standard' }}"
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_cost_monitor_reports_each_stack_with_the_tracker_cli_and_pushes_no_metric():
    job = load("cost-monitor")["jobs"]["report"]
    assert set(job["strategy"]["matrix"]["stack"]) == {"staging", "prod"}
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    roles = {re.fullmatch(r"matrix\.stack == '(\w+)'", s["if"]).group(1): s["with"]["role-to-assume"]
             for s in job["steps"] if action(s) == OIDC_ACTION}
    assert roles == {"staging": "${{ vars.AWS_MONITOR_ROLE_ARN_STAGING }}",
                     "prod": "${{ vars.AWS_MONITOR_ROLE_ARN_PROD }}"}
    (report,) = [s for s in job["steps"] if s.get("id") == "report"]
    assert '.github/scripts/cost_report.py --stack "$STACK" --type "$CHECK_TYPE"' in report["run"]
    assert "get-function-configuration" in report["run"]
    assert report["env"]["FUNCTION"] == "${{ steps.stack.outputs.costTrackerFunctionName }}"
    assert "put-metric-data" not in text("cost-monitor")  # the tracker is the only metric writer
    script = (ROOT / ".github" / "scripts" / "cost_report.py").read_text()
    assert '"--dry-run"' in script


def test_cost_monitor_keeps_one_open_labelled_issue():
    job = load("cost-monitor")["jobs"]["issue"]
    assert job["needs"] == "report" and job["if"] == "${{ !cancelled() }}"
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    (upsert,) = [s for s in job["steps"] if "gh issue" in s.get("run", "")]
    script = upsert["run"]
    lookup = script.index("gh issue list --label cost-alert --state open --limit 1")
    edit, create = script.index('gh issue edit "$number"'), script.index("gh issue create")
    assert lookup < edit < create  # update the open one; create only when there is none
    assert re.search(r'if \[ -n "\$number" \]; then\s+gh issue edit', script)
    assert "--label cost-alert" in script[create:]
    assert 'if [ "${#bodies[@]}" -eq 0 ]' in script  # below the warning threshold: no issue at all
