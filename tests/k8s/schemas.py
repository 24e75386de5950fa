"""Schema validation of every rendered document: built-in kinds with kubernetes-validate's strict
schemas, custom resources with their operator's CRD openAPIV3Schema made strict (an unknown field
is an error, as the API server's pruning would silently drop it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

VERSIONS = yaml.safe_load((Path(__file__).resolve().parents[2] / "k8s" / "versions.yaml").read_text())


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A Kubernetes structural schema as a JSON Schema that rejects what the API server would
    reject or prune. CEL rules (x-kubernetes-validations) are dropped: only an API server runs them."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):
            out[key] = {k: strict(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = strict(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [strict(v) for v in value]
        elif key in ("description", "x-kubernetes-validations", "nullable") or key.startswith("x-kubernetes-"):
            continue
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}, *out.get("anyOf", [])]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if schema.get("x-kubernetes-embedded-resource"):
        # apiVersion, kind and metadata of an embedded object need not be listed
        out.setdefault("properties", {}).update({k: {} for k in ("apiVersion", "kind", "metadata")})
    if out.get("type") == "object" and "additionalProperties" not in out and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


class CrdIndex:
    """The CRDs of the pinned operators, by (apiVersion, kind)."""

    def __init__(self, folders: list[Path]):
        self.validators: dict[tuple[str, str], jsonschema.Draft7Validator] = {}
        self.crds: dict[tuple[str, str], dict] = {}
        for folder in folders:
            for path in sorted(folder.glob("*.json")):
                crd = json.loads(path.read_text())
                for version in crd["spec"]["versions"]:
                    key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                    self.crds[key] = crd
                    self.validators[key] = self._validator(version["schema"]["openAPIV3Schema"])

    @staticmethod
    def _validator(schema: dict) -> jsonschema.Draft7Validator:
        s = strict(schema)
        # The API server validates metadata as ObjectMeta for every kind; the CRD leaves it open.
        s["properties"]["metadata"] = {"type": "object"}
        return jsonschema.Draft7Validator(s)

    def knows(self, doc: dict) -> bool:
        return (doc.get("apiVersion"), doc.get("kind")) in self.validators

    def problems(self, doc: dict) -> list[str]:
        key = (doc["apiVersion"], doc["kind"])
        if key not in self.validators:
            return [f"{doc['kind']} {doc['metadata']['name']}: no CRD for {doc['apiVersion']} {doc['kind']} in the pinned operators"]
        errors = sorted(self.validators[key].iter_errors(doc), key=lambda e: list(e.absolute_path))
        return [f"{doc['kind']} {doc['metadata']['name']}: {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def builtin_problems(doc: dict) -> list[str]:
    """kubernetes-validate in strict mode (unknown fields are errors) at the pinned Kubernetes version."""
    try:
        kubernetes_validate.validate(doc, VERSIONS["kubernetes"], strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{doc['kind']} {doc['metadata']['name']}: {'.'.join(map(str, e.path)) or '(root)'}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{doc['kind']} {doc['metadata']['name']}: {doc['apiVersion']} {doc['kind']} is neither a built-in kind of "
                f"Kubernetes {VERSIONS['kubernetes']} nor a custom resource of the pinned operators"]
    return []


def problems(doc: dict, crds: CrdIndex) -> list[str]:
    return crds.problems(doc) if crds.knows(doc) else builtin_problems(doc)
