#!/usr/bin/env python3
"""The local real cluster: a single-node Kubernetes and an Argo controller started as processes.

No docker and no kind: etcd, containerd, runc and the CNI plugins come from Debian's packages;
kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl are
built with `go build` from the Go module proxy (`e2e/localcluster/k8s/go.mod`), the Argo
workflow controller and executor likewise (`e2e/localcluster/argo/go.mod`); the images are made
without any registry (`images.py`). Everything lives under one state directory (`.localcluster/`
in the repository, `LOCALCLUSTER_DIR` overrides it).

    python3 e2e/localcluster/cluster.py up       # build what is missing, start, wait until usable
    python3 e2e/localcluster/cluster.py down     # stop everything, undo every host change
    python3 e2e/localcluster/cluster.py check-clean   # exit 1 naming anything of ours still there
    python3 e2e/localcluster/cluster.py status

Standard library only, so `make cluster` needs no virtualenv. Needs root (cgroups, mounts,
network namespaces, iptables).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO_ROOT))

import images  # noqa: E402  (the sibling module; this file also runs as a script)
import persistence  # noqa: E402  (likewise)

from infra.podsecurity import EXECUTOR_SECURITY_CONTEXT, pod_security_labels  # noqa: E402

# --- The facts of the local cluster, in one place --------------------------------------------
K8S_VERSION = "v1.34.4"
NODE_NAME = "argo-fanout-local"
BRIDGE = "afl0"
NODE_IP = "10.87.0.1"
POD_CIDR = "10.87.0.0/24"
SERVICE_CIDR = "10.96.0.0/24"
API_SERVICE_IP = "10.96.0.1"
API_PORT = 6443
ETCD_CLIENT = "127.0.0.1:2379"
ETCD_PEER = "127.0.0.1:2380"
# The namespace log-count runs in, its claim and the PersistentVolume behind it.
WORKLOAD_NAMESPACE = "argo-fanout"
CLAIM_NAME = "argo-fanout-data"
VOLUME_NAME = "argo-fanout-local-data"
VOLUME_SIZE = "10Gi"
STEP_UID = 1000
# The namespace where `up` proves a pod runs (restricted Pod Security enforced there too).
SMOKE_NAMESPACE = "localcluster-smoke"
# The Argo controller's own namespace (its ConfigMap); it manages WORKLOAD_NAMESPACE only.
ARGO_NAMESPACE = "argo"
ARGO_CONFIGMAP = "workflow-controller-configmap"
# The Debian packages the cluster runs on, by the command each provides.
DEBIAN_TOOLS = {
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "ip": "iproute2",
    "openssl": "openssl",
    "mount": "mount",
}
CNI_PLUGINS = ("bridge", "host-local", "loopback")
CNI_DIR = Path("/usr/lib/cni")
# Commands built from the Go module proxy in the k8s module: binary -> package. etcd is built
# too, at the v3.6.4 Kubernetes 1.34.4 itself requires: Debian's 3.4.23 predates the watch
# progress fix the 1.34 API server relies on (watches then fail with "Too large resource version").
K8S_COMMANDS = {
    **{
        name: f"k8s.io/kubernetes/cmd/{name}"
        for name in (
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kubelet",
            "kube-proxy",
            "kubectl",
        )
    },
    "etcd": "go.etcd.io/etcd/server/v3",
}
ARGO_COMMANDS = ("workflow-controller", "argoexec")
# Host settings `up` changes and `down` restores.
SYSCTLS = ("net/ipv4/conf/all/route_localnet", "net/ipv4/ip_forward")
CGROUP_ROOT = Path("/sys/fs/cgroup")
IPTABLES = ("iptables", "ip6tables")
CGROUP_TOP = "kubepods"
# Components in start order; `down` stops them in reverse.
COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
    "kube-proxy",
    "workflow-controller",
)
# Started before the controller with `up --persistence` only (persistence.py).
OPTIONAL_COMPONENTS = ("postgres",)


class ClusterError(Exception):
    """A failure `up`/`down` reports as one line (exit 1), or a missing prerequisite."""


@dataclasses.dataclass(frozen=True)
class Layout:
    """Every path of one local cluster, derived from its state directory."""

    root: Path

    @classmethod
    def default(cls) -> Layout:
        raw = os.environ.get("LOCALCLUSTER_DIR")
        return cls(Path(raw).resolve() if raw else REPO_ROOT / ".localcluster")

    bin = property(lambda self: self.root / "bin")
    logs = property(lambda self: self.root / "logs")
    run = property(lambda self: self.root / "run")
    pki = property(lambda self: self.root / "pki")
    etcd = property(lambda self: self.root / "etcd")
    containerd = property(lambda self: self.root / "containerd")
    kubelet = property(lambda self: self.root / "kubelet")
    cni = property(lambda self: self.root / "cni")
    volume = property(lambda self: self.root / "volume")
    postgres = property(lambda self: self.root / "postgres" / "data")
    postgres_socket = property(lambda self: self.root / "run" / "postgres")
    config = property(lambda self: self.root / "config")
    kubeconfig = property(lambda self: self.root / "kubeconfig")
    host_state = property(lambda self: self.root / "run" / "host-state.json")
    containerd_socket = property(lambda self: self.root / "run" / "containerd.sock")

    def pidfile(self, component: str) -> Path:
        return self.run / f"{component}.pid"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    # Data `down` removes (binaries, images, logs and the volume stay).
    def runtime_dirs(self) -> tuple[Path, ...]:
        return (
            self.run,
            self.pki,
            self.etcd,
            self.containerd,
            self.kubelet,
            self.cni,
            self.config,
            self.postgres.parent,
        )


class Progress:
    """Progress lines on stderr, each with the seconds since the command started."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._start = clock()

    def __call__(self, message: str) -> None:
        print(f"[{self._clock() - self._start:7.1f}s] {message}", file=sys.stderr, flush=True)


def run(args, *, check=True, capture=False, env=None, cwd=None, input_text=None):
    """Runs a command; a failure raises ClusterError naming the command and its stderr tail."""
    result = subprocess.run(
        [str(a) for a in args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        input=input_text,
    )
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise ClusterError(
            f"`{' '.join(str(a) for a in args)}` exited {result.returncode}: " + " | ".join(tail)
        )
    return result.stdout if capture else result


# --- Prerequisites --------------------------------------------------------------------------


def preflight() -> None:
    """Names every missing prerequisite at once, with how to get it."""
    missing = []
    if os.geteuid() != 0:
        missing.append(
            "root (the cluster creates cgroups, mounts, network namespaces and iptables rules)"
        )
    for tool, package in DEBIAN_TOOLS.items():
        if shutil.which(tool) is None:
            missing.append(f"{tool} (apt-get install {package})")
    for plugin in CNI_PLUGINS:
        if not (CNI_DIR / plugin).exists():
            missing.append(f"{CNI_DIR / plugin} (apt-get install containernetworking-plugins)")
    if shutil.which("go") is None:
        missing.append(
            "go (Go 1.24 or newer on PATH, to build Kubernetes and Argo from the Go module proxy)"
        )
    for controller in ("cpu", "cpuacct", "cpuset", "memory", "pids"):
        if not (CGROUP_ROOT / controller / "cgroup.procs").exists():
            missing.append(
                f"the cgroup v1 hierarchy {CGROUP_ROOT / controller} (the kubelet uses cgroup v1)"
            )
    if "overlay" not in Path("/proc/filesystems").read_text():
        missing.append("the overlay filesystem (containerd's snapshotter)")
    missing.extend(images.missing_tools())
    if missing:
        raise ClusterError("missing: " + "; ".join(dict.fromkeys(missing)))


# --- Building -------------------------------------------------------------------------------


def go_build(
    module_dir: Path, package: str, output: Path, ldflags: str, progress: Progress
) -> None:
    name = output.name
    progress(f"building {name} (go build {package})")
    started = time.monotonic()
    env = dict(os.environ, CGO_ENABLED="0")
    result = subprocess.run(
        ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(output), package],
        cwd=module_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-8:]
        raise ClusterError(f"go build {package} failed in {module_dir}: " + " | ".join(tail))
    progress(f"built {name} in {time.monotonic() - started:.0f}s")


def k8s_ldflags() -> str:
    major, minor = K8S_VERSION.lstrip("v").split(".")[:2]
    prefix = "k8s.io/component-base/version"
    return (
        f"-s -w -X {prefix}.gitVersion={K8S_VERSION} -X {prefix}.gitMajor={major}"
        f" -X {prefix}.gitMinor={minor} -X {prefix}.gitTreeState=clean"
    )


def argo_module_dir() -> Path:
    return HERE / "argo"


def argo_version() -> str:
    return images.ARGO_VERSION


def argo_module_path() -> str:
    return images.ARGO_MODULE


def build(layout: Layout, progress: Progress) -> None:
    layout.bin.mkdir(parents=True, exist_ok=True)
    for command, package in K8S_COMMANDS.items():
        go_build(HERE / "k8s", package, layout.bin / command, k8s_ldflags(), progress)
    go_build(HERE / "k8s", "./pause", layout.bin / "pause", "-s -w", progress)
    # argoexec needs one file the module zip lacks (argo/build.sh says why and puts it back).
    progress(f"building {' and '.join(ARGO_COMMANDS)} (argo/build.sh, {argo_version()})")
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(argo_module_dir() / "build.sh")],
        env=dict(os.environ, OUT=str(layout.bin)),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-8:]
        raise ClusterError("argo/build.sh failed: " + " | ".join(tail))
    progress(f"built {' and '.join(ARGO_COMMANDS)} in {time.monotonic() - started:.0f}s")


def argo_source_dir() -> Path:
    """The argo-workflows module's directory in the Go module cache (for its CRD manifests)."""
    out = run(
        ["go", "list", "-m", "-json", argo_module_path()], capture=True, cwd=argo_module_dir()
    )
    return Path(json.loads(out)["Dir"])


# --- PKI and kubeconfigs --------------------------------------------------------------------


def write_private(path: Path, text: str) -> None:
    """Writes a file readable only by its owner, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def make_pki(layout: Layout, progress: Progress) -> None:
    pki = layout.pki
    if (pki / "admin.crt").exists():
        return
    progress("generating the cluster's CA and certificates (openssl)")
    pki.mkdir(parents=True, exist_ok=True)
    os.chmod(pki, 0o700)
    run(["openssl", "genrsa", "-out", pki / "ca.key", "2048"])
    run(
        [
            *("openssl", "req", "-x509", "-new", "-key", pki / "ca.key", "-sha256", "-days", "30"),
            *("-subj", "/CN=argo-fanout-localcluster-ca", "-out", pki / "ca.crt"),
        ]
    )
    apiserver_sans = [
        f"IP:{NODE_IP}",
        "IP:127.0.0.1",
        f"IP:{API_SERVICE_IP}",
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
    ]
    leaves = {
        "apiserver": ("/CN=kube-apiserver", "serverAuth", apiserver_sans),
        "admin": ("/O=system:masters/CN=argo-fanout-localcluster-admin", "clientAuth", []),
        "kubelet-client": (f"/O=system:nodes/CN=system:node:{NODE_NAME}", "clientAuth", []),
        "kubelet-serving": (
            f"/CN={NODE_NAME}",
            "serverAuth",
            [f"IP:{NODE_IP}", f"DNS:{NODE_NAME}"],
        ),
    }
    for name, (subject, usage, sans) in leaves.items():
        key, csr, crt = pki / f"{name}.key", pki / f"{name}.csr", pki / f"{name}.crt"
        ext = pki / f"{name}.ext"
        lines = [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={usage}",
        ]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        ext.write_text("\n".join(lines) + "\n")
        run(["openssl", "genrsa", "-out", key, "2048"])
        run(["openssl", "req", "-new", "-key", key, "-subj", subject, "-out", csr])
        run(
            [
                *("openssl", "x509", "-req", "-in", csr, "-CA", pki / "ca.crt"),
                *("-CAkey", pki / "ca.key", "-CAcreateserial", "-days", "30", "-sha256"),
                *("-extfile", ext, "-out", crt),
            ]
        )
        csr.unlink()
        ext.unlink()
    run(["openssl", "genrsa", "-out", pki / "sa.key", "2048"])
    run(["openssl", "rsa", "-in", pki / "sa.key", "-pubout", "-out", pki / "sa.pub"])
    for key in pki.glob("*.key"):
        os.chmod(key, 0o600)


def kubeconfig_text(layout: Layout, user: str, cert: str) -> str:
    def b64(name: str) -> str:
        return base64.b64encode((layout.pki / name).read_bytes()).decode()

    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "argo-fanout-local",
                "cluster": {
                    "server": f"https://{NODE_IP}:{API_PORT}",
                    "certificate-authority-data": b64("ca.crt"),
                },
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": b64(f"{cert}.crt"),
                    "client-key-data": b64(f"{cert}.key"),
                },
            }
        ],
        "contexts": [
            {"name": "argo-fanout-local", "context": {"cluster": "argo-fanout-local", "user": user}}
        ],
        "current-context": "argo-fanout-local",
    }
    return json.dumps(doc, indent=2) + "\n"  # JSON is YAML: every client reads it


def write_kubeconfigs(layout: Layout) -> None:
    write_private(layout.kubeconfig, kubeconfig_text(layout, "admin", "admin"))
    write_private(
        layout.config / "kubelet.kubeconfig",
        kubeconfig_text(layout, f"system:node:{NODE_NAME}", "kubelet-client"),
    )


# --- Host networking ------------------------------------------------------------------------


def read_sysctl(name: str) -> str | None:
    path = Path("/proc/sys") / name
    return path.read_text().strip() if path.exists() else None


def iptables_chains() -> dict[str, list[str]]:
    """The chains of each table of both families, keyed "<command> <table>" (the kubelet and
    kube-proxy add theirs to IPv6 too)."""
    chains: dict[str, list[str]] = {}
    for command in IPTABLES:
        if shutil.which(command) is None:
            continue
        for table in ("filter", "nat", "mangle"):
            out = run([command, "-t", table, "-S"], check=False).stdout
            chains[f"{command} {table}"] = sorted(
                {line.split()[1] for line in out.splitlines() if line.startswith("-N ")}
            )
    return chains


def record_host_state(layout: Layout) -> None:
    """What `down` restores: sysctls and the iptables chains that were there before `up`."""
    if layout.host_state.exists():
        return
    state = {"sysctls": {name: read_sysctl(name) for name in SYSCTLS}, "chains": iptables_chains()}
    layout.host_state.parent.mkdir(parents=True, exist_ok=True)
    layout.host_state.write_text(json.dumps(state, indent=2))


def link_exists(name: str) -> bool:
    return run(["ip", "link", "show", name], check=False).returncode == 0


def setup_network(layout: Layout, progress: Progress) -> None:
    """Our own bridge with the node address, and a route keeping service IPs on it.

    Pods get no default route (CNI `routes` list only the service range), so nothing in the
    cluster can send a packet off this machine; service traffic is DNATed by kube-proxy to the
    API server on the bridge address.
    """
    if not link_exists(BRIDGE):
        progress(f"creating bridge {BRIDGE} ({NODE_IP}/24)")
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addrs = run(["ip", "-4", "-o", "addr", "show", "dev", BRIDGE], capture=True)
    if f"{NODE_IP}/" not in addrs:
        run(["ip", "addr", "add", f"{NODE_IP}/24", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    routes = run(["ip", "route", "show", SERVICE_CIDR], capture=True)
    if not routes.strip():
        run(["ip", "route", "add", SERVICE_CIDR, "dev", BRIDGE, "src", NODE_IP])
    setup_network_files(layout)


def setup_network_files(layout: Layout) -> None:
    """The CNI configuration and the pods' resolv.conf."""
    conf = {
        "cniVersion": "1.0.0",
        "name": "argo-fanout-local",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": SERVICE_CIDR, "gw": NODE_IP}],
                    "dataDir": str(layout.cni / "ipam"),
                },
            }
        ],
    }
    (layout.cni / "net.d").mkdir(parents=True, exist_ok=True)
    (layout.cni / "net.d" / "10-argo-fanout-local.conflist").write_text(json.dumps(conf, indent=2))
    (layout.config / "resolv.conf").parent.mkdir(parents=True, exist_ok=True)
    # Pods resolve nothing: no cluster DNS, and no route to any nameserver.
    (layout.config / "resolv.conf").write_text("nameserver 127.0.0.1\n")


# --- Processes ------------------------------------------------------------------------------


def read_pid(layout: Layout, component: str) -> int | None:
    try:
        pid = int(layout.pidfile(component).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def start(
    layout: Layout, component: str, argv: list, progress: Progress, env: dict | None = None
) -> None:
    if read_pid(layout, component):
        progress(f"{component} already running")
        return
    progress(f"starting {component}")
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    log = open(layout.log(component), "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [str(a) for a in argv],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=layout.root,
        env=env,
    )
    log.close()
    layout.pidfile(component).write_text(str(proc.pid))


def stop(layout: Layout, component: str, progress: Progress, grace: float = 20.0) -> None:
    pid = read_pid(layout, component)
    if pid is None:
        layout.pidfile(component).unlink(missing_ok=True)
        return
    progress(f"stopping {component} (pid {pid})")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    layout.pidfile(component).unlink(missing_ok=True)


def wait_for(
    what: str, probe, timeout: float, layout: Layout, component: str | None = None
) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except ClusterError as exc:
            last = str(exc)
        if component and read_pid(layout, component) is None:
            raise ClusterError(
                f"{component} exited while waiting for {what}; see {layout.log(component)}"
            )
        time.sleep(1)
    where = f"; see {layout.log(component)}" if component else ""
    raise ClusterError(
        f"timed out after {timeout:.0f}s waiting for {what}{where}" + (f" ({last})" if last else "")
    )


def kubectl(layout: Layout, *args, check=True, input_text=None):
    return run(
        [layout.bin / "kubectl", "--kubeconfig", layout.kubeconfig, *args],
        check=check,
        input_text=input_text,
    )


def apply(layout: Layout, objects: list[dict]) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": objects}
    kubectl(
        layout, "apply", "--server-side", "--force-conflicts", "-f", "-", input_text=json.dumps(doc)
    )


# --- Components -----------------------------------------------------------------------------


def start_etcd(layout: Layout, progress: Progress) -> None:
    layout.etcd.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.etcd, 0o700)
    argv = [
        layout.bin / "etcd",
        "--name=localcluster",
        f"--data-dir={layout.etcd}",
        f"--listen-client-urls=http://{ETCD_CLIENT}",
        f"--advertise-client-urls=http://{ETCD_CLIENT}",
        f"--listen-peer-urls=http://{ETCD_PEER}",
        f"--initial-advertise-peer-urls=http://{ETCD_PEER}",
        f"--initial-cluster=localcluster=http://{ETCD_PEER}",
        "--quota-backend-bytes=4294967296",
        "--log-level=warn",
    ]
    start(layout, "etcd", argv, progress)

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://{ETCD_CLIENT}/health", timeout=2) as response:
                return json.load(response).get("health") == "true"
        except OSError:
            return False

    wait_for("etcd to be healthy", healthy, 60, layout, "etcd")


def start_apiserver(layout: Layout, progress: Progress) -> None:
    pki = layout.pki
    argv = [
        layout.bin / "kube-apiserver",
        f"--etcd-servers=http://{ETCD_CLIENT}",
        f"--bind-address={NODE_IP}",
        f"--advertise-address={NODE_IP}",
        f"--secure-port={API_PORT}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--kubelet-client-certificate={pki / 'admin.crt'}",
        f"--kubelet-client-key={pki / 'admin.key'}",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        # The node's name resolves nowhere (no DNS here): reach the kubelet by its address.
        "--kubelet-preferred-address-types=InternalIP",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=false",
        "--anonymous-auth=false",
        "--profiling=false",
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=1000",
        "--max-mutating-requests-inflight=500",
        "--v=1",
    ]
    start(layout, "kube-apiserver", argv, progress)

    def ready() -> bool:
        return kubectl(layout, "get", "--raw", "/readyz", check=False).returncode == 0

    wait_for("the API server to be ready", ready, 180, layout, "kube-apiserver")


def start_controllers(layout: Layout, progress: Progress) -> None:
    pki = layout.pki
    start(
        layout,
        "kube-controller-manager",
        [
            layout.bin / "kube-controller-manager",
            f"--kubeconfig={layout.kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=10257",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            "--use-service-account-credentials=false",
            "--allocate-node-cidrs=false",
            "--concurrent-gc-syncs=20",
            "--kube-api-qps=100",
            "--kube-api-burst=200",
            "--profiling=false",
            "--v=1",
        ],
        progress,
    )
    start(
        layout,
        "kube-scheduler",
        [
            layout.bin / "kube-scheduler",
            f"--kubeconfig={layout.kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=10259",
            "--profiling=false",
            "--v=1",
        ],
        progress,
    )


def containerd_config(layout: Layout) -> str:
    c = layout.containerd
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{c / "root"}"
state = "{c / "state"}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "{layout.containerd_socket}"

[ttrpc]
  address = "{layout.containerd_socket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{c / "opt"}"

[{cri}]
  sandbox_image = "{images.PAUSE_IMAGE}"
  disable_apparmor = true
  # Lowering a process's oom_score_adj needs CAP_SYS_RESOURCE, which this VM's root lacks;
  # without this every sandbox fails ("failed to update /proc/self/oom_score_adj").
  restrict_oom_score_adj = true
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [{cri}.cni]
    bin_dir = "{CNI_DIR}"
    conf_dir = "{layout.cni / "net.d"}"
    max_conf_num = 1
"""


def start_containerd(layout: Layout, progress: Progress) -> None:
    layout.containerd.mkdir(parents=True, exist_ok=True)
    (layout.config / "containerd.toml").write_text(containerd_config(layout))
    start(
        layout,
        "containerd",
        ["containerd", "--config", layout.config / "containerd.toml"],
        progress,
    )

    def serving() -> bool:
        return ctr(layout, "version", check=False).returncode == 0

    wait_for("containerd to serve", serving, 60, layout, "containerd")


def ctr(layout: Layout, *args, check=True):
    return run(
        ["ctr", "--address", layout.containerd_socket, "--namespace", "k8s.io", *args], check=check
    )


def import_images(layout: Layout, progress: Progress, archives: dict[str, Path]) -> None:
    have = ctr(layout, "images", "ls", "-q").stdout.split()
    for name, archive in archives.items():
        if name in have:
            continue
        progress(f"importing {name} into containerd")
        ctr(layout, "images", "import", "--snapshotter", "overlayfs", archive)
    have = ctr(layout, "images", "ls", "-q").stdout.split()
    absent = [name for name in archives if name not in have]
    if absent:
        raise ClusterError(f"containerd lists no image {', '.join(absent)} after importing it")


def kubelet_config(layout: Layout) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(layout.pki / "ca.crt")},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "tlsCertFile": str(layout.pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(layout.pki / "kubelet-serving.key"),
        "cgroupDriver": "cgroupfs",
        # Kubernetes 1.34 still runs on cgroup v1 (this VM's layout); say so explicitly.
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "resolvConf": str(layout.config / "resolv.conf"),
        "clusterDomain": "cluster.local",
        "failSwapOn": False,
        "podLogsDir": str(layout.kubelet / "pod-logs"),
        "maxPods": 250,
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "200Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "registerNode": True,
        "staticPodPath": "",
        "protectKernelDefaults": False,
        "localStorageCapacityIsolation": True,
    }


def start_kubelet(layout: Layout, progress: Progress) -> None:
    layout.kubelet.mkdir(parents=True, exist_ok=True)
    (layout.config / "kubelet.json").write_text(json.dumps(kubelet_config(layout), indent=2))
    start(
        layout,
        "kubelet",
        [
            layout.bin / "kubelet",
            f"--config={layout.config / 'kubelet.json'}",
            f"--kubeconfig={layout.config / 'kubelet.kubeconfig'}",
            f"--root-dir={layout.kubelet}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={NODE_IP}",
            "--v=1",
        ],
        progress,
    )


def start_kube_proxy(layout: Layout, progress: Progress) -> None:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "clusterCIDR": POD_CIDR,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "conntrack": {"maxPerCore": 0, "min": 0},
    }
    (layout.config / "kube-proxy.json").write_text(json.dumps(config, indent=2))
    start(
        layout,
        "kube-proxy",
        [layout.bin / "kube-proxy", f"--config={layout.config / 'kube-proxy.json'}", "--v=1"],
        progress,
    )


def node_ready(layout: Layout) -> bool:
    out = kubectl(layout, "get", "node", NODE_NAME, "-o", "json", check=False)
    if out.returncode != 0:
        return False
    conditions = json.loads(out.stdout)["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


# --- Cluster objects ------------------------------------------------------------------------


def restricted_namespace(name: str) -> dict:
    """A namespace enforcing Pod Security `restricted`, labelled as the Pulumi program does."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": pod_security_labels("restricted")},
    }


def workload_objects(layout: Layout) -> list[dict]:
    """The workload namespace (restricted Pod Security enforced) and its ReadWriteMany claim."""
    return [
        restricted_namespace(WORKLOAD_NAMESPACE),
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": VOLUME_NAME,
                "labels": {"app.kubernetes.io/part-of": "argo-fanout-localcluster"},
            },
            "spec": {
                "capacity": {"storage": VOLUME_SIZE},
                "accessModes": ["ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "",
                "hostPath": {"path": str(layout.volume), "type": "Directory"},
                "claimRef": {"namespace": WORKLOAD_NAMESPACE, "name": CLAIM_NAME},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": CLAIM_NAME, "namespace": WORKLOAD_NAMESPACE},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "",
                "volumeName": VOLUME_NAME,
                "resources": {"requests": {"storage": VOLUME_SIZE}},
            },
        },
    ]


def prepare_volume(layout: Layout) -> None:
    layout.volume.mkdir(parents=True, exist_ok=True)
    os.chown(layout.volume, STEP_UID, STEP_UID)
    os.chmod(layout.volume, 0o775)
    # The kubelet reaches the directory through every parent.
    for parent in layout.volume.parents:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise ClusterError(
                f"{parent} is not searchable by uid {STEP_UID} (mode {oct(mode & 0o777)}); "
                f"set LOCALCLUSTER_DIR to a directory whose parents are (chmod o+x)"
            )


def smoke_pod() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "smoke", "namespace": SMOKE_NAMESPACE},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": STEP_UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "python",
                    "image": images.STEP_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": [
                        "python",
                        "-c",
                        "import sys; print('smoke ok', sys.version.split()[0])",
                    ],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


def run_smoke_pod(layout: Layout, progress: Progress) -> None:
    progress("running a test pod (restricted Pod Security, the step image)")
    apply(layout, [restricted_namespace(SMOKE_NAMESPACE)])
    kubectl(
        layout, "delete", "pod", "-n", SMOKE_NAMESPACE, "smoke", "--ignore-not-found", "--wait=true"
    )
    apply(layout, [smoke_pod()])

    def done() -> bool:
        phase = kubectl(
            layout, "get", "pod", "-n", SMOKE_NAMESPACE, "smoke", "-o", "jsonpath={.status.phase}"
        ).stdout
        if phase == "Failed":
            raise ClusterError(
                "the test pod failed: "
                + kubectl(layout, "describe", "pod", "-n", SMOKE_NAMESPACE, "smoke").stdout[-800:]
            )
        return phase == "Succeeded"

    wait_for("the test pod to succeed", done, 180, layout, "kubelet")
    logs = kubectl(layout, "logs", "-n", SMOKE_NAMESPACE, "smoke").stdout
    if "smoke ok" not in logs:
        raise ClusterError(f"the test pod's log lacks its output: {logs!r}")
    progress(f"test pod ran: {logs.strip()}")
    kubectl(layout, "delete", "namespace", SMOKE_NAMESPACE, "--wait=false")


# --- Argo -----------------------------------------------------------------------------------


def argo_crd_files() -> list[Path]:
    crds = argo_source_dir() / "manifests" / "base" / "crds" / "full"
    files = sorted(crds.glob("*.yaml"))
    files = [f for f in files if f.name != "kustomization.yaml"]
    if not files:
        raise ClusterError(f"no CRD manifests under {crds}")
    return files


def argo_configmap(offload: dict | None = None) -> dict:
    """The controller's ConfigMap; `offload` is Argo's `persistence` (up --persistence)."""
    config: dict = {
        "executor": {
            "imagePullPolicy": "Never",
            "securityContext": EXECUTOR_SECURITY_CONTEXT,
            "resources": {
                "requests": {"cpu": "10m", "memory": "32Mi"},
                "limits": {"memory": "256Mi"},
            },
        },
        # Its metrics listener binds every interface and cannot be moved: off.
        "metricsConfig": {"enabled": False},
    }
    if offload is not None:
        config["persistence"] = offload
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": ARGO_CONFIGMAP, "namespace": ARGO_NAMESPACE},
        "data": {"config": json.dumps(config, indent=2)},
    }


def start_postgres(layout: Layout, progress: Progress) -> None:
    """The host PostgreSQL Argo offloads node status to and archives in (up --persistence)."""
    try:
        persistence.prepare(layout.postgres, layout.postgres_socket, layout.config)
        start(
            layout,
            "postgres",
            persistence.server_argv(layout.postgres, layout.postgres_socket),
            progress,
        )
        wait_for(
            f"PostgreSQL on {persistence.HOST}:{persistence.PORT}",
            lambda: persistence.ready(layout.config),
            60,
            layout,
            "postgres",
        )
        persistence.create_database(layout.config)
    except persistence.PersistenceError as err:
        raise ClusterError(str(err)) from None
    progress(f"PostgreSQL for Argo on {persistence.HOST}:{persistence.PORT}")


def start_argo(layout: Layout, progress: Progress, offload: bool = False) -> None:
    progress(
        f"installing Argo's CRDs ({argo_version()}, from the module the controller is built from)"
    )
    for crd in argo_crd_files():
        kubectl(layout, "apply", "--server-side", "--force-conflicts", "-f", crd)
    objects: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ARGO_NAMESPACE}},
    ]
    if offload:
        start_postgres(layout, progress)
        objects.append(persistence.secret_object(ARGO_NAMESPACE, layout.config))
    objects.append(argo_configmap(persistence.argo_persistence() if offload else None))
    apply(layout, objects)
    start(
        layout,
        "workflow-controller",
        [
            layout.bin / "workflow-controller",
            f"--kubeconfig={layout.kubeconfig}",
            f"--namespace={ARGO_NAMESPACE}",
            "--namespaced",
            f"--managed-namespace={WORKLOAD_NAMESPACE}",
            f"--configmap={ARGO_CONFIGMAP}",
            f"--executor-image={images.EXECUTOR_IMAGE}",
            "--executor-image-pull-policy=Never",
            "--qps=50",
            "--burst=100",
            "--loglevel=info",
        ],
        progress,
        # A single host process: no leader election (there is no flag for it), and no stray
        # ARGO_* variable may override a flag.
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("ARGO_")},
            "LEADER_ELECTION_DISABLE": "true",
            # Argo offloads only a Workflow still over 1 MB once its nodes are compressed; here
            # every run is offloaded, so the path is proven without 10,000-pod runs.
            **({"ALWAYS_OFFLOAD_NODE_STATUS": "true"} if offload else {}),
        },
    )


# --- up / down ------------------------------------------------------------------------------


def up(layout: Layout, progress: Progress, offload: bool = False) -> None:
    preflight()
    layout.root.mkdir(parents=True, exist_ok=True)
    build(layout, progress)
    archives = images.build_all(layout.root, layout.bin, progress)
    for d in (layout.run, layout.logs, layout.config):
        d.mkdir(parents=True, exist_ok=True)
    record_host_state(layout)
    make_pki(layout, progress)
    write_kubeconfigs(layout)
    setup_network(layout, progress)
    start_etcd(layout, progress)
    start_apiserver(layout, progress)
    start_controllers(layout, progress)
    start_containerd(layout, progress)
    import_images(layout, progress, archives)
    start_kubelet(layout, progress)
    start_kube_proxy(layout, progress)
    wait_for("the node to be Ready", lambda: node_ready(layout), 180, layout, "kubelet")
    progress(f"node {NODE_NAME} is Ready")
    prepare_volume(layout)
    apply(layout, workload_objects(layout))
    start_argo(layout, progress, offload)
    run_smoke_pod(layout, progress)
    progress(f"cluster up: kubectl --kubeconfig {layout.kubeconfig} get nodes")


def drain_pods(layout: Layout, progress: Progress) -> None:
    """Deletes every pod through the API so the kubelet tears down containers, netns and mounts."""
    if read_pid(layout, "kube-apiserver") is None or read_pid(layout, "kubelet") is None:
        return
    progress("deleting every pod (the kubelet tears down their containers, network and mounts)")
    kubectl(
        layout,
        "delete",
        "pods",
        "--all",
        "--all-namespaces",
        "--grace-period=5",
        "--wait=false",
        check=False,
    )

    def no_tasks() -> bool:
        if read_pid(layout, "containerd") is None:
            return True
        out = ctr(layout, "tasks", "ls", "-q", check=False)
        return out.returncode == 0 and not out.stdout.strip()

    try:
        wait_for("every container to stop", no_tasks, 90, layout)
    except ClusterError as exc:
        progress(f"{exc}; killing what is left")


def our_processes(layout: Layout) -> list[tuple[int, str]]:
    """Processes of this cluster: our binaries, containerd and its shims (by our socket or
    config), and whatever runs in the kubelet's pod cgroups. Nothing else, however it is named:
    a build writing into bin/ is not the cluster's."""
    in_pods = set()
    for cgroup in our_cgroups():
        with contextlib.suppress(OSError):
            in_pods.update(int(pid) for pid in (cgroup / "cgroup.procs").read_text().split())
    markers = (
        str(layout.containerd_socket),
        str(layout.config / "containerd.toml"),
        str(layout.postgres),
    )
    mine = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (
                (entry / "cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
                .strip()
            )
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        ours = (
            Path(exe).parent == layout.bin
            or any(marker in cmdline for marker in markers)
            or int(entry.name) in in_pods
        )
        if ours:
            mine.append((int(entry.name), cmdline))
    return mine


def our_mounts(layout: Layout) -> list[str]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(layout.root) or point.startswith(
            (str(layout.root) + "/", "/run/netns/cni-", "/var/run/netns/cni-")
        ):
            mounts.append(point)
    return mounts


def our_cgroups() -> list[Path]:
    found = []
    for hierarchy in CGROUP_ROOT.iterdir():
        top = hierarchy / CGROUP_TOP
        if top.is_dir():
            found.extend(
                sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
            )
            found.append(top)
    return found


def remove_cgroups(progress: Progress) -> None:
    for cgroup in our_cgroups():
        with contextlib.suppress(OSError):
            cgroup.rmdir()
    left = our_cgroups()
    if left:
        progress(f"cgroups left: {', '.join(map(str, left[:5]))}")


def restore_host(layout: Layout, progress: Progress) -> None:
    # kube-proxy's own cleanup first, then any chain that appeared after `up` recorded the host.
    if (layout.bin / "kube-proxy").exists():
        run([layout.bin / "kube-proxy", "--cleanup", "--v=0"], check=False)
    state = json.loads(layout.host_state.read_text()) if layout.host_state.exists() else None
    before = state["chains"] if state else {}
    for key, chains in iptables_chains().items():
        command, table = key.split()
        new = [
            c for c in chains if c not in before.get(key, []) and (state or c.startswith("KUBE-"))
        ]
        if not new:
            continue
        rules = run([command, "-t", table, "-S"], capture=True).splitlines()
        for rule in rules:
            words = rule.split()
            if (
                words[:1] == ["-A"]
                and ("-j" in words and words[words.index("-j") + 1] in new)
                and words[1] not in new
            ):
                run([command, "-t", table, "-D", *words[1:]], check=False)
        for chain in new:
            run([command, "-t", table, "-F", chain], check=False)
        for chain in new:
            run([command, "-t", table, "-X", chain], check=False)
        progress(f"removed {command} chains from {table}: {', '.join(new)}")
    if state:
        for name, value in state["sysctls"].items():
            if value is not None and read_sysctl(name) != value:
                (Path("/proc/sys") / name).write_text(value)
    if run(["ip", "route", "show", SERVICE_CIDR], capture=True).strip():
        run(["ip", "route", "del", SERVICE_CIDR], check=False)
    if link_exists(BRIDGE):
        veths = run(["ip", "-o", "link", "show", "master", BRIDGE], capture=True)
        for line in veths.splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            run(["ip", "link", "del", name], check=False)
        run(["ip", "link", "del", BRIDGE], check=False)
        progress(f"removed bridge {BRIDGE}")


def down(layout: Layout, progress: Progress) -> None:
    drain_pods(layout, progress)
    for component in reversed((*COMPONENTS, *OPTIONAL_COMPONENTS)):
        stop(layout, component, progress)
    leftovers = our_processes(layout)
    for pid, cmdline in leftovers:
        progress(f"killing leftover pid {pid}: {cmdline[:100]}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for point in sorted(our_mounts(layout), key=len, reverse=True):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)
        if point.startswith(("/run/netns/", "/var/run/netns/")):
            with contextlib.suppress(OSError):
                Path(point).unlink()
    remove_cgroups(progress)
    restore_host(layout, progress)
    for d in layout.runtime_dirs():
        if d.exists():
            shutil.rmtree(d, ignore_errors=True)
    layout.kubeconfig.unlink(missing_ok=True)
    problems = leftover_report(layout)
    if problems:
        raise ClusterError("left after down: " + "; ".join(problems))
    progress("cluster down: nothing of it is running, mounted or configured")


def leftover_report(layout: Layout) -> list[str]:
    """Everything of this cluster still on the host; empty after a clean `down`."""
    problems = [f"process {pid} ({cmd[:80]})" for pid, cmd in our_processes(layout)]
    problems += [f"mount {m}" for m in our_mounts(layout)]
    if link_exists(BRIDGE):
        problems.append(f"bridge {BRIDGE}")
    if run(["ip", "route", "show", SERVICE_CIDR], capture=True).strip():
        problems.append(f"route {SERVICE_CIDR}")
    for key, chains in iptables_chains().items():
        kube = [c for c in chains if c.startswith("KUBE-")]
        if kube:
            problems.append(f"{key} chains {', '.join(kube)}")
    problems += [f"cgroup {c}" for c in our_cgroups()]
    problems += [f"pid file {p}" for p in layout.run.glob("*.pid")] if layout.run.exists() else []
    return problems


def components(layout: Layout) -> tuple[str, ...]:
    """The components of this cluster: PostgreSQL too when `up --persistence` started it."""
    optional = OPTIONAL_COMPONENTS if persistence.enabled(layout.config) else ()
    return (*COMPONENTS[:-1], *optional, COMPONENTS[-1])


def status_of(layout: Layout) -> str:
    """`running` when every component runs, `stopped` when none does, else which are down."""
    expected = components(layout)
    down_ = [c for c in expected if read_pid(layout, c) is None]
    if not down_:
        return "running"
    if len(down_) == len(expected):
        return "stopped"
    return "partly running; stopped: " + ", ".join(down_)


def status(layout: Layout) -> int:
    for component in components(layout):
        pid = read_pid(layout, component)
        print(f"{component:24} {f'running (pid {pid})' if pid else 'stopped'}")
    return 0 if status_of(layout) == "running" else 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser(
        "up", help="build what is missing, start every component, wait until usable"
    )
    up_parser.add_argument(
        "--persistence",
        action="store_true",
        help="also run a host PostgreSQL (Debian's postgresql) and have Argo offload node "
        "status to it and archive finished workflows in it",
    )
    sub.add_parser("down", help="stop every component and undo every host change")
    sub.add_parser("build", help="only build the binaries and images")
    sub.add_parser("status", help="which components run (exit 3 unless all)")
    sub.add_parser("check-clean", help="exit 1 naming anything of the cluster still on the host")
    args = parser.parse_args(argv)
    layout = Layout.default()
    progress = Progress()
    try:
        if args.command == "up":
            up(layout, progress, offload=args.persistence)
        elif args.command == "down":
            down(layout, progress)
        elif args.command == "build":
            preflight()
            build(layout, progress)
            images.build_all(layout.root, layout.bin, progress)
        elif args.command == "status":
            return status(layout)
        elif args.command == "check-clean":
            problems = leftover_report(layout)
            for problem in problems:
                print(f"left: {problem}", file=sys.stderr)
            return 1 if problems else 0
    except (ClusterError, images.ImageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; `make cluster-down` stops what was started", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
