"""KEDA trigger parameters. A trigger's `metadata` is map[string]string in KEDA's CRD, so a
misspelt key (`lagTreshold`) passes the schema and KEDA silently uses the default. The table
they are checked against is KEDA's scalers metadata schema, generated from the pinned KEDA's
scaler code by KEDA's own generator (scripts/crds.py): names, where each may be given (metadata,
an env var of the target, a TriggerAuthentication), which are required, and allowed values."""

from __future__ import annotations

import json
from pathlib import Path

from k8s.manifests import find


def load_scalers(path: Path) -> dict[str, dict[str, dict]]:
    """scaler type -> parameter name -> its schema entry."""
    return {s["type"]: {p["name"]: p for p in s["parameters"]} for s in json.loads(path.read_text())["scalers"]}


def trigger_problems(docs: list[dict], scalers: dict[str, dict[str, dict]]) -> list[str]:
    auths = {d["metadata"]["name"]: d for d in find(docs, "TriggerAuthentication")}
    problems = []
    for so in find(docs, "ScaledObject"):
        for i, trig in enumerate(so["spec"]["triggers"]):
            where = f"ScaledObject {so['metadata']['name']} trigger {i} ({trig['type']})"
            params = scalers.get(trig["type"])
            if params is None:
                problems.append(f"{where}: KEDA has no scaler of type {trig['type']!r}")
                continue
            given = set()
            for key, value in trig.get("metadata", {}).items():
                p = params.get(key)
                from_env = params.get(key.removesuffix("FromEnv")) if key.endswith("FromEnv") else None
                if p is not None and p.get("metadataVariableReadable"):
                    if p.get("allowedValue") and value not in p["allowedValue"]:
                        problems.append(f"{where}: {key}={value!r} is not one of {p['allowedValue']}")
                    given.add(key)
                elif from_env is not None and from_env.get("envVariableReadable"):
                    given.add(from_env["name"])
                else:
                    problems.append(f"{where}: {key!r} is not a metadata parameter of the {trig['type']} scaler")
            ref = trig.get("authenticationRef", {}).get("name")
            if ref is not None:
                if ref not in auths:
                    problems.append(f"{where}: no TriggerAuthentication {ref!r}")
                for entry in auths.get(ref, {}).get("spec", {}).get("secretTargetRef", []):
                    p = params.get(entry["parameter"])
                    if p is None or not p.get("triggerAuthenticationVariableReadable"):
                        problems.append(f"{where}: TriggerAuthentication {ref} sets {entry['parameter']!r}, "
                                        f"which the {trig['type']} scaler does not read from one")
                    else:
                        given.add(entry["parameter"])
            for name, p in params.items():
                if not p.get("optional") and "default" not in p and name not in given:
                    problems.append(f"{where}: required parameter {name!r} is missing")
    return problems
