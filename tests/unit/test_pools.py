"""Worker pools: the runtime a pipeline declares, claims that keep to a pool, an apply that moves a
pipeline's unfinished jobs to its new pool, and the objects a pool needs on Kubernetes
(tests/k8s/test_pools_server.py applies them to a real API server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest
import yaml

from pravah import jobs, registry
from pravah.db.models import Job
from pravah.db.session import make_engine, sessions
from pravah.events import ObjectEvent
from pravah.pipelines import Document, InvalidPipelines, Pipeline, Runtime, validate
from pravah.pools import desired
from pravah.pools.desired import PoolError
from pravah.routing import Route
from pravah.pipelines import Binding

STEPS = "[read_csv, write_parquet]"


def doc(*runtimes: str) -> str:
    pipes = "".join(f"  - name: p{i}\n    steps: {STEPS}\n    output: out/{{stem}}.{i}.parquet\n    runtime: {r}\n" for i, r in enumerate(runtimes))
    return "pipelines:\n" + pipes


@pytest.mark.parametrize("runtimes, fragment", [
    (["{pool: Heavy}"], "pipelines[0].runtime.pool: String should match pattern"),
    (["{pool: heavy, cpu: 4 cores}"], "runtime.cpu: String should match pattern"),
    (["{pool: heavy, memory: 16GB!}"], "runtime.memory: String should match pattern"),
    (["{pool: heavy, max_workers: 0}"], "runtime.max_workers: Input should be greater than or equal to 1"),
    (["{pool: heavy, min_workers: 4, max_workers: 2}"], "min_workers 4 is more than max_workers 2"),
    (["{pool: heavy, gpus: 1}"], "runtime.gpus: Extra inputs are not permitted"),
    (["{cpu: '4'}"], "the default pool is the pravah-worker Deployment of k8s/ and is sized there"),
    (["{pool: heavy, cpu: '4'}", "{pool: heavy, cpu: '2'}"], "pool 'heavy' is also declared by pipelines[0] (p0) with another shape (cpu 2 here, 4 there)"),
])
def test_runtime_mistakes_are_named(runtimes: list[str], fragment: str) -> None:
    with pytest.raises(InvalidPipelines) as e:
        validate(yaml.safe_load(doc(*runtimes)))
    assert fragment in str(e.value)


def test_pools_of_a_document() -> None:
    d = validate(yaml.safe_load(doc("{pool: heavy, cpu: '4', memory: 16Gi}", "{pool: heavy, cpu: '4', memory: 16Gi}", "{}")))
    assert d.pools() == {"heavy": Runtime(pool="heavy", cpu="4", memory="16Gi")}


def test_where_jobs_run_makes_no_new_version() -> None:
    p = Pipeline(name="p", steps=[{"op": "read_csv"}, {"op": "write_parquet"}], output="out/{stem}.parquet")
    moved = p.model_copy(update={"runtime": Runtime(pool="heavy", memory="8Gi")})
    assert moved.version == p.version
    assert p.model_copy(update={"retries": 5}).version != p.version


PIPE = Pipeline(name="p", steps=[{"op": "read_csv"}, {"op": "write_parquet"}], output="out/{stem}.parquet")
HEAVY = PIPE.model_copy(update={"name": "h", "runtime": Runtime(pool="heavy")})


def event(i: int) -> ObjectEvent:
    return ObjectEvent(bucket="in", key=f"k/{i}.csv", size=1, etag=f"e{i}", event_time=datetime.now(UTC))


def test_a_worker_claims_only_its_pools_jobs(db_url: str) -> None:
    async def go() -> None:
        eng = make_engine(db_url)
        s = sessions(eng)
        t = datetime.now(UTC)
        async with s() as session:
            light = await jobs.create_jobs(session, [jobs.job_row(event(i), Route(Binding(bucket="in", pipeline="p"), PIPE), t) for i in range(3)])
            heavy = await jobs.create_jobs(session, [jobs.job_row(event(i), Route(Binding(bucket="in", pipeline="h"), HEAVY), t) for i in range(2)])
            await session.commit()

        async def drain(pool: str | None) -> list[str]:
            got = []
            while True:
                async with s() as session:
                    job = await jobs.claim(session, f"w-{pool}", timedelta(seconds=30), pool)
                if job is None:
                    return got
                got.append(job.id)

        assert sorted(await drain("heavy")) == sorted(heavy)
        assert await drain("heavy") == [] and await drain("nobody") == []
        assert sorted(await drain("default")) == sorted(light)
        async with s() as session:  # embedded mode's workers take every pool's jobs
            rows = [jobs.job_row(event(10), Route(Binding(bucket="in", pipeline="p"), PIPE), t),
                    jobs.job_row(event(10), Route(Binding(bucket="in", pipeline="h"), HEAVY), t)]
            more = await jobs.create_jobs(session, rows)
            await session.commit()
        assert sorted(await drain(None)) == sorted(more)
        await eng.dispose()

    anyio.run(go)


def test_an_apply_moves_unfinished_jobs_to_the_new_pool(db_url: str) -> None:
    async def go() -> None:
        eng = make_engine(db_url)
        s = sessions(eng)
        async with s() as session:
            await registry.apply(session, Document(pipelines=[PIPE]), "one.yaml")
            ids = await jobs.create_jobs(session, [jobs.job_row(event(i), Route(Binding(bucket="in", pipeline="p"), PIPE), datetime.now(UTC))
                                                   for i in range(3)])
            await session.commit()
        async with s() as session:  # one finished before the move: it stays where it ran
            done = await jobs.claim(session, "w", timedelta(seconds=30), "default")
            await jobs.finish(session, done, "w", jobs.Outcome(True, report={}), timedelta(seconds=1))
        async with s() as session:
            await registry.apply(session, Document(pipelines=[PIPE.model_copy(update={"runtime": Runtime(pool="big")})]), "two.yaml")
            pools = dict((await session.execute(Job.__table__.select().with_only_columns(Job.id, Job.pool))).all())
        assert pools[done.id] == "default"
        assert {pools[i] for i in ids if i != done.id} == {"big"}
        await eng.dispose()

    anyio.run(go)


# The default pool's objects as the API server returns them (trimmed to what matters here).
WORKER = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "pravah-worker", "namespace": "pravah", "uid": "x", "resourceVersion": "7",
                 "labels": {"app.kubernetes.io/name": "pravah", "app.kubernetes.io/component": "worker", "pravah.dev/pool": "default"}},
    "spec": {"replicas": 4,
             "selector": {"matchLabels": {"app.kubernetes.io/name": "pravah", "app.kubernetes.io/component": "worker", "pravah.dev/pool": "default"}},
             "template": {"metadata": {"labels": {"app.kubernetes.io/name": "pravah", "app.kubernetes.io/component": "worker", "pravah.dev/pool": "default"}},
                          "spec": {"containers": [{"name": "pravah", "image": "pravah:1", "args": ["serve", "worker"],
                                                   "env": [{"name": "PRAVAH_WORKER__POOL", "value": "default"}, {"name": "X", "value": "1"}],
                                                   "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}}]}}},
    "status": {"replicas": 4},
}
SCALER = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "pravah-worker"},
          "spec": {"scaleTargetRef": {"name": "pravah-worker"}, "minReplicaCount": 0, "maxReplicaCount": 10,
                   "triggers": [{"type": "postgresql", "authenticationRef": {"name": "pravah-db"},
                                 "metadata": {"query": desired.runnable_query("default"), "targetQueryValue": "2"}}]}}


def test_a_pool_is_the_default_pool_with_its_own_shape() -> None:
    dep, pdb, so = desired.objects({"gpu_big": Runtime(pool="gpu_big", cpu="4", memory="16Gi", max_workers=3)}, WORKER, SCALER, "ns")
    assert dep["metadata"]["name"] == pdb["metadata"]["name"] == so["metadata"]["name"] == "pravah-worker-gpu-big"
    assert dep["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pravah-pools" and "uid" not in dep["metadata"]
    assert "replicas" not in dep["spec"] and "status" not in dep  # KEDA owns the count
    pod = dep["spec"]["template"]
    assert pod["metadata"]["labels"]["pravah.dev/pool"] == dep["spec"]["selector"]["matchLabels"]["pravah.dev/pool"] == "gpu_big"
    c = pod["spec"]["containers"][0]
    assert c["env"] == [{"name": "X", "value": "1"}, {"name": "PRAVAH_WORKER__POOL", "value": "gpu_big"}]
    assert c["resources"] == {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"memory": "16Gi"}}
    assert so["spec"]["triggers"][0]["metadata"] == {"query": desired.runnable_query("gpu_big"), "targetQueryValue": "2"}
    assert (so["spec"]["minReplicaCount"], so["spec"]["maxReplicaCount"]) == (0, 3)
    assert WORKER["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"memory": "2Gi"}  # the template untouched


def test_pools_that_cannot_be_made_are_refused() -> None:
    with pytest.raises(PoolError, match="pools 'a-b' and 'a_b' would both be Deployment pravah-worker-a-b"):
        desired.objects({"a-b": Runtime(pool="a-b"), "a_b": Runtime(pool="a_b")}, WORKER, SCALER, "ns")
    no_postgres = {**SCALER, "spec": {**SCALER["spec"], "triggers": [{"type": "cpu", "metadata": {"value": "50"}}]}}
    with pytest.raises(PoolError, match="no postgresql trigger"):
        desired.objects({"big": Runtime(pool="big")}, WORKER, no_postgres, "ns")
