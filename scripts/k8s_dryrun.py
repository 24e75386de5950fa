"""A server-side dry run of every rendered overlay against a real kube-apiserver with the pinned
operators' CRDs installed: the API server's own validation, the CRDs' schemas and CEL rules
(x-kubernetes-validations) and its admission (pod security of the namespace's level) all run;
nothing is stored but the CRDs and the namespaces.

    python scripts/k8s_dryrun.py                 # every overlay in k8s/overlays
    python scripts/k8s_dryrun.py prod            # some of them
    python scripts/k8s_dryrun.py -f broken.yaml  # any manifest file ('-' reads stdin)

Starts a server of its own (scripts/kube.py: built once and cached, ~3 s to start) in a temporary
folder, installs the CRDs from ~/.cache/pravah/crds (scripts/crds.py) with `kubectl apply
--server-side`, creates the manifests' namespaces for real, then runs `kubectl apply --server-side
--dry-run=server -f -` over each manifest set. Prints every object's result (and the server's
warnings); an object the server refuses is run again alone, so its own error is the one reported.
Exits 1 when any object is refused, 2 when the server or the tools could not be had.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import crds
import kube

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ROOT / "k8s" / "overlays"
FIELD_MANAGER = "pravah-dryrun"


@dataclass
class Result:
    ref: str       # Kind/name (namespace)
    accepted: bool
    message: str   # the server's error when refused
    warnings: list[str] = field(default_factory=list)  # the server's warnings about it (pod security, deprecations)


def ref(doc: dict) -> str:
    ns = doc["metadata"].get("namespace")
    return f"{doc['kind']}/{doc['metadata']['name']}" + (f" ({ns})" if ns else "")


def render(overlay: Path) -> list[dict]:
    r = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True)
    if r.returncode != 0:
        raise kube.KubeError(f"kubectl kustomize {overlay}: {r.stderr.strip()}")
    return load(r.stdout)


def load(text: str) -> list[dict]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]


def dump(docs: list[dict]) -> str:
    return yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False)


def install_crds(server: kube.Server) -> int:
    """Every CRD of the pinned releases, applied server-side (client-side apply fails on the big
    ones: its last-applied annotation is too long) and waited for until established."""
    try:
        folders = crds.ensure()
    except crds.CrdError as e:
        raise kube.KubeError(str(e)) from None
    for folder in folders:  # NAME.json files; the folder's subfolders (KEDA's scalers schema) are not read
        server.kubectl("apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", str(folder))
    server.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    return sum(len(list(f.glob("*.json"))) for f in folders)


def create_namespaces(server: kube.Server, docs: list[dict]) -> None:
    """The namespaces the documents are in, for real (a dry run of what a namespace holds needs it
    to exist); a Namespace document is applied as it is, so its pod security labels take effect."""
    given = [d for d in docs if d["kind"] == "Namespace" and d["apiVersion"] == "v1"]
    named = {d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace")} - {d["metadata"]["name"] for d in given}
    bare = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in sorted(named)]
    if given:
        server.kubectl("apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-", input=dump(given))
    if bare:  # a manager of their own: applying a bare namespace must not take labels back from a given one
        server.kubectl("apply", "--server-side", f"--field-manager={FIELD_MANAGER}-namespaces", "-f", "-", input=dump(bare))


def apply_dry_run(server: kube.Server, docs: list[dict]) -> subprocess.CompletedProcess:
    return server.kubectl("apply", "--server-side", "--dry-run=server", f"--field-manager={FIELD_MANAGER}",
                          "-f", "-", input=dump(docs), check=False)


def printed(doc: dict) -> str:
    """How kubectl names an object it applied: `kind.group/name` (core kinds without the group)."""
    group = doc["apiVersion"].rpartition("/")[0]
    return f"{doc['kind'].lower()}{'.' + group if group else ''}/{doc['metadata']['name']}"


def applied(stdout: str) -> set[str]:
    """The objects kubectl reported as applied: one line `kind.group/name serverside-applied (server dry run)` each."""
    return {line.split()[0] for line in stdout.splitlines() if line.endswith("serverside-applied (server dry run)")}


def errors(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if line.strip() and not line.startswith("Warning:")).strip()


def warnings(stderr: str) -> list[str]:
    return [line.removeprefix("Warning:").strip() for line in stderr.splitlines() if line.startswith("Warning:")]


def dry_run(server: kube.Server, docs: list[dict]) -> list[Result]:
    """Each document's result, from one `apply --dry-run=server` of all of them. kubectl prints
    errors and warnings without saying whose: a refused document, or all of them when there were
    warnings, are applied again alone to name their own."""
    r = apply_dry_run(server, docs)
    ok, warned = applied(r.stdout), bool(warnings(r.stderr))
    results = []
    for doc in docs:
        if printed(doc) in ok and not warned:
            results.append(Result(ref(doc), True, ""))
            continue
        alone = apply_dry_run(server, [doc])
        results.append(Result(ref(doc), alone.returncode == 0, "" if alone.returncode == 0 else errors(alone.stderr) or "refused",
                              warnings(alone.stderr)))
    if r.returncode != 0 and all(res.accepted for res in results):
        results.append(Result("(the manifest set)", False, errors(r.stderr) or f"kubectl exited {r.returncode}"))
    return results


def report(name: str, results: list[Result]) -> bool:
    refused = [res for res in results if not res.accepted]
    warned = [res for res in results if res.warnings]
    indent = "\n" + " " * 10
    for res in results:
        print(f"  {'ok     ' if res.accepted else 'REFUSED'} {res.ref}"
              + "".join(indent + line for line in res.message.splitlines())
              + "".join(f"{indent}warning: {w}" for w in res.warnings))
    verdict = f"{len(refused)} of {len(results)} refused" if refused else f"all {len(results)} accepted"
    print(f"{name}: {verdict}" + (f", {len(warned)} with warnings" if warned else ""), flush=True)
    return not refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overlays", nargs="*", help="overlay names under k8s/overlays (default: all)")
    parser.add_argument("-f", "--file", action="append", default=[], help="a manifest file to dry-run instead ('-' for stdin)")
    args = parser.parse_args()
    sets: dict[str, list[dict]] = {}
    try:
        for f in args.file:
            sets[f] = load(sys.stdin.read() if f == "-" else Path(f).read_text())
        names = args.overlays or ([] if args.file else sorted(p.name for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").exists()))
        for name in names:
            sets[name] = render(OVERLAYS / name)
        t = time.monotonic()
        with kube.ephemeral() as server:
            n = install_crds(server)
            print(f"kube-apiserver {kube.KUBERNETES} with {n} CRDs of the pinned operators ({time.monotonic() - t:.1f} s)", flush=True)
            passed = True
            for name, docs in sets.items():
                create_namespaces(server, docs)
                print(f"{name}: {len(docs)} objects, kubectl apply --server-side --dry-run=server", flush=True)
                passed &= report(name, dry_run(server, docs))
    except (kube.KubeError, OSError, yaml.YAMLError) as e:
        print(f"k8s-dryrun: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
