"""KEDA trigger parameters against KEDA's scalers schema (see keda.py for where it comes from)."""

from __future__ import annotations

import pytest

import crds
from k8s import keda
from k8s.manifests import one


@pytest.fixture(scope="module")
def scalers(crd_index) -> dict:
    return keda.load_scalers(crds.keda_scalers())


def test_triggers_use_known_parameters(rendered, scalers) -> None:
    assert keda.trigger_problems(rendered["prod"], scalers) == []


def kafka_trigger(docs: list[dict]) -> dict:
    return one(docs, "ScaledObject", "pravah-ingest")["spec"]["triggers"][0]


@pytest.mark.parametrize("break_it, expected", [
    (lambda docs: kafka_trigger(docs)["metadata"].update(lagTreshold="500"), "'lagTreshold' is not a metadata parameter"),
    (lambda docs: kafka_trigger(docs)["metadata"].update(offsetResetPolicy="oldest"), "is not one of"),
    (lambda docs: kafka_trigger(docs)["metadata"].pop("consumerGroup"), "required parameter 'consumerGroup'"),
    (lambda docs: kafka_trigger(docs).update(type="kafka-lag"), "no scaler of type"),
    (lambda docs: one(docs, "TriggerAuthentication", "pravah-db")["spec"]["secretTargetRef"][0].update(parameter="query"), "does not read from one"),
    (lambda docs: one(docs, "ScaledObject", "pravah-worker")["spec"]["triggers"][0]["authenticationRef"].update(name="nope"), "no TriggerAuthentication"),
])
def test_broken_trigger_fails(rendered, scalers, break_it, expected: str) -> None:
    break_it(rendered["prod"])
    assert any(expected in p for p in keda.trigger_problems(rendered["prod"], scalers))
