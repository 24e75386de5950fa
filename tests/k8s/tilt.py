"""The Tiltfile, evaluated without Tilt (it cannot be installed from a package registry) by a
Starlark interpreter (PyPI starlark-pyo3) with stub builtins that take the arguments Tilt's API
documents (https://docs.tilt.dev/api.html) and record the calls; then cross-checked with the
rendered dev overlay and the Dockerfile."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import starlark
import yaml

from k8s import dockerfile_checks
from k8s.manifests import ROOT, WORKLOADS, containers, load_all, ref
from k8s.manifests import kustomize as kustomize_text


@dataclass
class Tilt:
    builds: list[dict] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    resources: list[dict] = field(default_factory=list)
    kustomized: list[str] = field(default_factory=list)

    def globals(self) -> dict:
        """Stubs with the signatures of Tilt's documented builtins; an unknown keyword is a TypeError."""

        def docker_build(ref, context, build_args=None, dockerfile="Dockerfile", dockerfile_contents="", live_update=None,
                         match_in_env_vars=False, ignore=None, only=None, entrypoint=None, target="", ssh="", network="",
                         secret="", extra_tag="", container_args=None, cache_from=None, pull=False, platform="", extra_hosts=None):
            self.builds.append(dict(ref=ref, context=context, dockerfile=dockerfile, live_update=live_update or [],
                                    only=only or [], target=target, entrypoint=entrypoint))

        def sync(local_path, remote_path):
            return {"step": "sync", "local": local_path, "remote": remote_path}

        def run(cmd, trigger=None, echo_off=False):
            return {"step": "run", "cmd": cmd, "trigger": trigger or []}

        def kustomize(pathToDir, kustomize_bin=None, flags=None):
            self.kustomized.append(pathToDir)
            return kustomize_text((ROOT / pathToDir).resolve())

        def decode_yaml_stream(yaml_text):
            return load_all(yaml_text)

        def encode_yaml_stream(objs):
            return yaml.dump_all(objs, Dumper=yaml.CSafeDumper)

        def k8s_yaml(yaml_text, allow_duplicates=False):
            self.objects.extend(load_all(yaml_text))

        def k8s_resource(workload="", new_name="", port_forwards=None, extra_pod_selectors=None, trigger_mode=None,
                         resource_deps=None, objects=None, auto_init=True, labels=None, links=None, pod_readiness="",
                         discovery_strategy=""):
            self.resources.append(dict(workload=workload, new_name=new_name, port_forwards=port_forwards or [],
                                       resource_deps=resource_deps or [], objects=objects or []))

        def link(url, name=""):
            return {"url": url, "name": name}

        return {f.__name__: f for f in (docker_build, sync, run, kustomize, decode_yaml_stream, encode_yaml_stream,
                                        k8s_yaml, k8s_resource, link)}


def evaluate(source: str) -> Tilt:
    """Runs the Tiltfile. Tilt's dialect allows top-level `for`/`if`; `load` is refused, which
    keeps extensions (fetched from the network) out."""
    dialect = starlark.Dialect.standard()
    dialect.enable_top_level_stmt = True
    dialect.enable_load = False
    tilt = Tilt()
    module = starlark.Module()
    for name, fn in tilt.globals().items():
        module.add_callable(name, fn)
    ast = starlark.parse("Tiltfile", source, dialect)
    starlark.eval(module, ast, starlark.Globals.extended_by([starlark.LibraryExtension.Print]))
    return tilt


def image_name(image: str) -> str:
    return re.sub(r"(:[^/:]+)?(@.*)?$", "", image)


def selector_matches(selector: str, doc: dict) -> bool:
    """Tilt's object selector `name[:kind[:namespace]]`, each part a case-insensitive regex."""
    parts = selector.split(":")
    values = [doc["metadata"]["name"], doc["kind"], doc["metadata"].get("namespace", "")]
    return all(re.fullmatch(p, v, re.IGNORECASE) for p, v in zip(parts, values))


def without_read_only_root(doc: dict) -> dict:
    out = copy.deepcopy(doc)
    if out["kind"] in WORKLOADS:
        for c in containers(out["spec"]["template"]["spec"]):
            c.get("securityContext", {}).pop("readOnlyRootFilesystem", None)
    return out


def problems(tilt: Tilt, dev_docs: list[dict], dockerfile_text: str) -> list[str]:
    out = []
    if tilt.kustomized != ["k8s/overlays/dev"]:
        out.append(f"the Tiltfile must deploy the dev overlay (kustomize('k8s/overlays/dev')), not {tilt.kustomized}")
    # What Tilt applies is the dev overlay, but for the root filesystems live_update writes into.
    applied = {ref(d): d for d in tilt.objects}
    if set(applied) != {ref(d) for d in dev_docs}:
        out.append(f"the Tiltfile applies {sorted(set(applied) ^ {ref(d) for d in dev_docs})} differently from the dev overlay")
    for d in dev_docs:
        if ref(d) in applied and without_read_only_root(applied[ref(d)]) != without_read_only_root(d):
            out.append(f"the Tiltfile changes {ref(d)} beyond readOnlyRootFilesystem")
    pods = [c for d in tilt.objects if d["kind"] in WORKLOADS for c in containers(d["spec"]["template"]["spec"])]
    python = re.search(r"^ARG PYTHON=(\S+)", dockerfile_text, re.MULTILINE)
    site = f"/opt/pravah/lib/python{python.group(1) if python else '?'}/site-packages/"
    stage_names = {st.name for st in dockerfile_checks.stages(dockerfile_text)}
    for b in tilt.builds:
        built = [c for c in pods if image_name(c["image"]) == b["ref"]]
        if not built:
            out.append(f"docker_build {b['ref']!r} builds an image no workload uses")
        if b["target"] and b["target"] not in stage_names:
            out.append(f"docker_build {b['ref']!r}: target {b['target']!r} is not a stage of the Dockerfile")
        if not (ROOT / b["context"] / b["dockerfile"]).exists():
            out.append(f"docker_build {b['ref']!r}: no {b['dockerfile']} in {b['context']}")
        syncs = [step for step in b["live_update"] if step["step"] == "sync"]
        if syncs and any(c.get("securityContext", {}).get("readOnlyRootFilesystem") for c in built):
            out.append(f"docker_build {b['ref']!r}: live_update cannot write into containers with a read-only root filesystem")
        for step in syncs:
            if not (ROOT / step["local"]).exists():
                out.append(f"live_update syncs {step['local']}, which does not exist")
            if b["only"] and not any(Path(step["local"]).is_relative_to(o) for o in b["only"]):
                out.append(f"live_update syncs {step['local']}, outside the build's `only`")
            if not step["remote"].startswith(site):
                out.append(f"live_update syncs to {step['remote']}, not into the image's site-packages {site}")
    workloads = {d["metadata"]["name"]: d for d in tilt.objects if d["kind"] in WORKLOADS}
    for r in tilt.resources:
        if r["workload"]:
            wl = workloads.get(r["workload"])
            if wl is None:
                out.append(f"k8s_resource {r['workload']!r} names no workload of the dev overlay")
                continue
            ports = {p["containerPort"] for c in containers(wl["spec"]["template"]["spec"]) for p in c.get("ports", [])}
            for pf in r["port_forwards"]:
                if int(str(pf).split(":")[-1]) not in ports:
                    out.append(f"k8s_resource {r['workload']!r}: port forward {pf} to a port its pods do not serve")
        for selector in r["objects"]:
            matched = [ref(d) for d in tilt.objects if selector_matches(selector, d)]
            if len(matched) != 1:
                out.append(f"k8s_resource {r['workload'] or r['new_name']!r}: object selector {selector!r} matches {matched}")
    return out
