"""Run the real Pulumi program (__main__.py) under mocks and record the resource graph.

``run_program("dev")`` loads ``Pulumi.yaml``'s project config and ``Pulumi.dev.yaml`` the way the
CLI would hand them to the program, runs ``__main__.py`` with ``pulumi.runtime.set_mocks``, and
returns a ``ProgramRun``: every registered resource (type, name, inputs, outputs, parent,
provider, dependencies) and the stack outputs with their secret flags. No CLI, cloud, docker or
cluster is needed; computed outputs (kubeconfigs, ids, release status) are realistic fakes and
invokes such as Alibaba Cloud's zones data source answer from a fixed table.

Use ``overrides`` to vary a stack (``{"argo-fanout:storage": {"type": "nas", ...}}`` replaces
that key's value) and ``tools`` to control which executables the program finds on PATH.
"""

from __future__ import annotations

import json
import os
import runpy
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from common.paths import REPO_ROOT

PROJECT = "argo-fanout"
PROGRAM = REPO_ROOT / "__main__.py"
# Executables the kind target looks for; run_program puts fakes of these on PATH by default.
DEFAULT_TOOLS = ("docker", "kind")
# Zones the mocked alicloud zones data source reports, per region (a region not listed gets
# three synthetic zones "<region>-a/b/c").
ZONES = {
    "cn-hangzhou": ("cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j", "cn-hangzhou-k"),
    "cn-beijing": ("cn-beijing-g", "cn-beijing-h", "cn-beijing-i"),
}
FAKE_SERVER = "https://127.0.0.1:6443"
# How Pulumi's wire format marks a secret value (pulumi/runtime/rpc.py keeps these private).
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# Dynamic resources (infra/ackone/hub.py) register as pulumi-python:dynamic[/<module>]:<name>.
DYNAMIC_TYPE_PREFIX = "pulumi-python:dynamic"
ACCOUNT_ID = "1234567890123456"  # what the mocked alicloud caller-identity data source reports
# Alibaba Cloud outputs the provider computes (the rest echo their inputs).
ALICLOUD_COMPUTED = {
    "alicloud:nas/mountTarget:MountTarget": lambda name: {
        "mountTargetDomain": f"{name}-0a1b2c.cn-hangzhou.nas.aliyuncs.com",
        "status": "Active",
    },
    "alicloud:ram/accessKey:AccessKey": lambda name: {
        "secret": f"{name}-fake-secret",
        "status": "Active",
    },
}


RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def fake_password(name: str, length: int) -> str:
    """The mocked RandomPassword result for resource `name`: letters and digits only."""
    stem = "FakePw" + "".join(c for c in name if c.isalnum())
    return (stem * (length // len(stem) + 1))[:length]


@dataclass(frozen=True)
class Registered:
    """One resource the program registered."""

    type: str
    name: str
    urn: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str  # URN of the parent ("" for the stack's direct children registered without one)
    provider: str  # provider reference "<urn>::<id>", "" when none was given
    dependencies: tuple[str, ...]  # URNs from depends_on and from Inputs
    custom: bool
    secret_inputs: frozenset[str]  # top-level input names whose value is (or holds) a secret
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    custom_timeouts: Mapping[str, str] = field(default_factory=dict)  # create/update/delete
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    replace_on_changes: tuple[str, ...] = ()
    protect: bool = False

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass
class ProgramRun:
    """What one run of the program registered and exported."""

    stack: str
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Registered:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registered:
        (found,) = [r for r in self.resources if r.urn == urn]
        return found

    def ancestors(self, resource: Registered) -> list[Registered]:
        """Parents from the resource up to the topmost registered component."""
        chain = []
        urns = {r.urn for r in self.resources}
        while resource.parent in urns:
            resource = self.by_urn(resource.parent)
            chain.append(resource)
        return chain

    def depends_on(self, resource: Registered, other: Registered) -> bool:
        """Whether ``resource`` waits for ``other``: through its own or its ancestors'
        dependencies, followed transitively (Pulumi orders creation, and reverses it for
        deletion, along the same edges)."""
        seen: set[str] = set()
        pending = [resource]
        while pending:
            current = pending.pop()
            for waiter in (current, *self.ancestors(current)):
                for urn in waiter.dependencies:
                    if urn == other.urn:
                        return True
                    if urn not in seen and any(r.urn == urn for r in self.resources):
                        seen.add(urn)
                        pending.append(self.by_urn(urn))
        return False


class RecordingMocks(mocks.Mocks):
    """Mocks whose resources echo their inputs plus realistic computed outputs."""

    def __init__(
        self,
        region: str | None = None,
        vswitches: Mapping[str, str | tuple[str, str]] | None = None,
        file_systems: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        self.region = region
        # The vSwitches the VPC already has, name -> zone or (zone, CIDR) (none: a first up).
        self.vswitches = {
            name: value if isinstance(value, tuple) else (value, "")
            for name, value in (vswitches or {}).items()
        }
        # The NAS file systems the account already has (none: a first `pulumi up`).
        self.file_systems = [dict(system) for system in file_systems]
        self.calls: list[mocks.MockCallArgs] = []

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        resource_id = f"{args.name}-id"
        if args.typ == "command:local:Command":
            outputs.update(stdout=_command_stdout(args.inputs.get("create", "")), stderr="")
        elif args.typ == "kubernetes:helm.sh/v3:Release":
            outputs["status"] = {
                "name": args.inputs.get("name"),
                "namespace": args.inputs.get("namespace"),
                "chart": Path(str(args.inputs.get("chart"))).name,
                "version": args.inputs.get("version", "0.1.0"),
                "revision": 1,
                "status": "deployed",
            }
        elif args.typ.startswith(DYNAMIC_TYPE_PREFIX) and "kubeconfig" in args.inputs:
            # infra/ackone's kubeconfig resource: fetched from the ACK One API on create.
            outputs["kubeconfig"] = fake_kubeconfig(str(args.inputs.get("clusterId")))
        elif args.typ == RANDOM_PASSWORD:
            # What pulumi-random computes: a value of the asked length (the provider marks it
            # secret), recognisable so tests can look for it where it must never appear.
            outputs["result"] = fake_password(args.name, int(args.inputs["length"]))
        elif args.typ in ALICLOUD_COMPUTED:
            outputs.update(ALICLOUD_COMPUTED[args.typ](args.name))
        elif args.typ.startswith("kubernetes:") and "metadata" in args.inputs:
            metadata = dict(args.inputs["metadata"])
            metadata.setdefault("uid", f"{args.name}-uid")
            outputs["metadata"] = metadata
            resource_id = metadata.get("name", resource_id)
        return resource_id, outputs

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list]:
        self.calls.append(args)
        if args.token == "alicloud:index/getZones:getZones":
            region = self.region or "cn-hangzhou"
            ids = ZONES.get(region, tuple(f"{region}-{suffix}" for suffix in "abc"))
            zones = [{"id": zone, "localName": zone, "multi": False} for zone in ids]
            return {"id": region, "ids": list(ids), "zones": zones}, []
        if args.token == "alicloud:vpc/getSwitches:getSwitches":
            found = [
                {
                    "id": f"{name}-id",
                    "vswitchId": f"{name}-id",
                    "vswitchName": name,
                    "name": name,
                    "zoneId": zone,
                    "vpcId": args.args.get("vpcId"),
                    "cidrBlock": cidr,
                    "availableIpAddressCount": 0,
                    "creationTime": "",
                    "description": "",
                    "enableIpv6": False,
                    "ipv6CidrBlock": "",
                    "isDefault": False,
                    "resourceGroupId": "",
                    "routeTableId": "",
                    "status": "Available",
                    "tags": {},
                }
                for name, (zone, cidr) in self.vswitches.items()
            ]
            return {
                "id": "vswitches",
                "ids": [v["id"] for v in found],
                "names": list(self.vswitches),
                "vswitches": found,
                "totalCount": len(found),
            }, []
        if args.token == "alicloud:nas/getFileSystems:getFileSystems":
            systems = [dict(system) for system in self.file_systems]
            return {
                "id": "file-systems",
                "ids": [s["id"] for s in systems],
                "descriptions": [s["description"] for s in systems],
                "systems": systems,
            }, []
        if args.token == "alicloud:index/getCallerIdentity:getCallerIdentity":
            return {
                "id": ACCOUNT_ID,
                "accountId": ACCOUNT_ID,
                "arn": f"acs:ram::{ACCOUNT_ID}:user/argo-fanout-deployer",
                "identityType": "RAMUser",
            }, []
        # The program called a data source these mocks do not answer: fail loudly, never guess.
        raise LookupError(f"no mock for invoke {args.token}: add one to {type(self).__name__}.call")


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, also keeping what the engine would know: parent, provider, deps."""

    def __init__(self, recorder: RecordingMocks) -> None:
        super().__init__(recorder)
        self.registered: list[Registered] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        state = self.resources[response.urn].state
        inputs, secret_inputs = {}, set()
        for key, value in pulumi.runtime.rpc.deserialize_properties(request.object).items():
            inputs[key], secret = _unwrap_secrets(value)
            if secret:
                secret_inputs.add(key)
        self.registered.append(
            Registered(
                type=request.type,
                name=request.name,
                urn=response.urn,
                id=response.id,
                inputs=inputs,
                outputs=dict(state),
                parent=request.parent,
                provider=request.provider,
                dependencies=tuple(request.dependencies),
                custom=request.custom,
                secret_inputs=frozenset(secret_inputs),
                ignore_changes=tuple(request.ignoreChanges),
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
                custom_timeouts={
                    step: getattr(request.customTimeouts, step)
                    for step in ("create", "update", "delete")
                    if getattr(request.customTimeouts, step)
                },
                retain_on_delete=request.retainOnDelete,
                delete_before_replace=request.deleteBeforeReplace,
                replace_on_changes=tuple(request.replaceOnChanges),
                protect=request.protect,
            )
        )
        return response


class MissingConfigError(ValueError):
    """The CLI would refuse the stack: a declared project key has no default, value or setting."""


def merge_project_config(
    project: Mapping[str, Any], stack: str, stack_values: Mapping[str, Any]
) -> dict[str, Any]:
    """The stack's values with Pulumi.yaml's config merged in, by the CLI's rule.

    (sdk/go/common/workspace/config.go, mergeConfig): a declared key the stack does not set
    takes its ``value`` or ``default``; a key of the project's namespace with neither is
    required, and all such keys fail together with the CLI's message.
    """
    values = {_full_key(key): value for key, value in stack_values.items()}
    missing = []
    for key, entry in sorted((project.get("config") or {}).items()):
        full = _full_key(key)
        if not isinstance(entry, dict):  # the shorthand `key: value`: a default in the project
            entry = {"default" if full.startswith(f"{PROJECT}:") else "value": entry}
        if "default" in entry and "value" in entry:
            raise ValueError(f"project config {key!r} cannot have both a 'default' and 'value'")
        if full in values:
            continue
        if "value" in entry or "default" in entry:
            values[full] = entry["value"] if "value" in entry else entry["default"]
        elif full.startswith(f"{PROJECT}:"):
            missing.append(key)
    if missing:
        names = [f"'{key}'" for key in missing]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        plural = "value" if len(names) == 1 else "values"
        raise MissingConfigError(f"Stack '{stack}' is missing configuration {plural} {listed}")
    return values


def stack_config(
    stack: str, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The config the CLI would pass for ``stack``: the stack file merged with Pulumi.yaml's.

    ``overrides`` replace keys as if the stack file set them. Returns the PULUMI_CONFIG-style
    map (objects as JSON text) and the secret keys.
    """
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    stack_file = REPO_ROOT / f"Pulumi.{stack}.yaml"
    stack_values = dict(yaml.safe_load(stack_file.read_text()).get("config") or {})
    stack_values.update(overrides or {})
    values = merge_project_config(project, stack, stack_values)
    encrypted = sorted(k for k, v in values.items() if isinstance(v, dict) and "secure" in v)
    if encrypted:
        raise ValueError(f"{stack_file.name}: encrypted values {encrypted} cannot be read here")
    return {key: _config_text(value) for key, value in values.items() if value is not None}, []


def run_program(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    tools: Iterable[str] = DEFAULT_TOOLS,
    env: Mapping[str, str] | None = None,
    preview: bool = False,
    vswitches: Mapping[str, str | tuple[str, str]] | None = None,
    file_systems: Iterable[Mapping[str, Any]] = (),
) -> ProgramRun:
    """Run __main__.py for ``stack`` under mocks; see the module docstring.

    ``tools`` are fake executables placed on a PATH that holds nothing else; ``env`` sets extra
    environment variables for the run (e.g. HOME); ``preview`` runs it as `pulumi preview` does
    (``pulumi.runtime.is_dry_run()`` is true); ``vswitches`` (name -> zone, or (zone, CIDR)) and
    ``file_systems`` are what the data sources of a later `pulumi up` find in the cloud.
    """
    config, secret_keys = stack_config(stack, overrides)
    region = config.get("alicloud:region")
    recorder = RecordingMocks(region=region, vswitches=vswitches, file_systems=file_systems)
    monitor = RecordingMonitor(recorder)
    with _fake_path(tools), _environment(env or {}):
        settings.set_root_resource(None)
        set_all_config(config, secret_keys)
        mocks.set_mocks(recorder, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
        root = settings.get_root_resource()
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(PROGRAM), run_name="__main__")))
    run = ProgramRun(stack=stack, resources=list(monitor.registered))
    for name, value in root.outputs.items():
        output = pulumi.Output.from_input(value)
        run.outputs[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            run.secret_outputs.add(name)
    return run


def _unwrap_secrets(value: Any) -> tuple[Any, bool]:
    """The value with Pulumi's secret wrappers removed, and whether it held any."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            return _unwrap_secrets(value["value"])[0], True
        pairs = {key: _unwrap_secrets(item) for key, item in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        pairs = [_unwrap_secrets(item) for item in value]
        return [v for v, _ in pairs], any(s for _, s in pairs)
    return value, False


def _full_key(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _config_text(value: Any) -> str:
    """How the CLI passes a value: strings as is, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _command_stdout(create: str) -> str:
    if create.startswith("kind get kubeconfig"):
        cluster = create.split("--name", 1)[1].split()[0]
        return fake_kubeconfig(f"kind-{cluster}")
    return ""


def fake_kubeconfig(context: str, server: str = FAKE_SERVER) -> str:
    """A structurally valid kubeconfig with one cluster, user and context named ``context``."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": server}}],
            "users": [{"name": context, "user": {"token": "fake-token"}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
        },
        sort_keys=False,
    )


@contextmanager
def _fake_path(tools: Iterable[str]) -> Iterator[None]:
    with tempfile.TemporaryDirectory(prefix="fake-tools-") as directory:
        for tool in tools:
            path = Path(directory, tool)
            path.write_text("#!/bin/sh\nexit 0\n")
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        with _environment({"PATH": directory}):
            yield


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
