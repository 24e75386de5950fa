"""Accounts on the real PostgreSQL: sign-in, refresh rotation and reuse, expired, tampered and
rotated tokens, API keys, lockout, roles (403), tenant isolation (404) on every route that
takes an id, cookies with CSRF, and a check that every route requires an identity."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import anyio
import jwt
import pytest
from sqlalchemy import select, update

from pravah import jobs
from pravah.accounts.models import AuditEvent
from pravah.accounts.tokens import Signer
from pravah.db.models import Job
from pravah.db.session import make_engine, migrate, sessions
from pravah.events import ObjectEvent
from pravah.pipelines import Binding, Document, Pipeline
from pravah.routing import Route

from .conftest import RUN, s3_client
from .frontdoor import KEY, PASSWORD, World, api, bearer, seed, sign_in

BUCKET = f"acct-{RUN}"
PIPE = Pipeline(name="copy", steps=[{"op": "sha256"}], output=f"{BUCKET}-out/{{key}}.sha256")
DOC = Document(pipelines=[PIPE], bindings=[Binding(bucket=BUCKET, prefix="", pipeline="copy")])
PUBLIC = {"/healthz", "/readyz", "/v1/auth/sign-in", "/v1/auth/refresh", "/v1/auth/sign-out"}


@pytest.fixture(scope="module")
def world(stack: dict[str, str], pg_url: str) -> World:
    url = pg_url.rsplit("/", 1)[0] + f"/acct_{RUN}"
    from .conftest import psql

    psql(f"CREATE DATABASE acct_{RUN}")
    migrate(url)
    s3_client().create_bucket(Bucket=BUCKET)
    w = World(url, BUCKET, stack)
    anyio.run(seed, w, DOC)
    return w


async def audit_actions(w: World) -> list[str]:
    eng = make_engine(w.pg_url)
    async with sessions(eng)() as s:
        rows = (await s.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars().all()
    await eng.dispose()
    return list(rows)


async def make_jobs(w: World) -> dict[str, str]:
    """One job under each tenant's prefix; their ids by tenant."""
    eng = make_engine(w.pg_url)
    ids = {}
    async with sessions(eng)() as s:
        for tenant in ("acme", "globex"):
            ev = ObjectEvent(bucket=w.bucket, key=f"{tenant}/{uuid.uuid4().hex}.csv", size=1, etag=uuid.uuid4().hex, event_time=datetime.now(UTC))
            ids[tenant] = (await jobs.create_jobs(s, [jobs.job_row(ev, Route(DOC.bindings[0], PIPE), jobs.now())]))[0]
        await s.commit()
    await eng.dispose()
    return ids


def test_sign_in_refresh_rotates_and_a_reused_token_revokes_its_family(world: World) -> None:
    async def go() -> None:
        async with api(world) as (c, _):
            t1 = await sign_in(c, "ALICE@acme.test ")  # email is case- and space-insensitive
            assert (await c.get("/v1/me", headers=bearer(t1["access_token"]))).json()["name"] == "alice@acme.test"
            r = await c.post("/v1/auth/refresh", json={"refresh_token": t1["refresh_token"]})
            assert r.status_code == 200
            t2 = r.json()
            assert t2["refresh_token"] != t1["refresh_token"]
            assert (await c.get("/v1/me", headers=bearer(t2["access_token"]))).status_code == 200
            reused = await c.post("/v1/auth/refresh", json={"refresh_token": t1["refresh_token"]})
            assert reused.status_code == 401 and "already used" in reused.json()["detail"]
            # the thief's reuse signs out the rightful holder too:
            assert (await c.post("/v1/auth/refresh", json={"refresh_token": t2["refresh_token"]})).status_code == 401
            t3 = await sign_in(c, "alice@acme.test")
            assert (await c.post("/v1/auth/sign-out", json={"refresh_token": t3["refresh_token"]})).status_code == 204
            assert (await c.post("/v1/auth/refresh", json={"refresh_token": t3["refresh_token"]})).status_code == 401
        actions = await audit_actions(world)
        assert {"auth.sign_in", "auth.refresh_reused", "auth.sign_out"} <= set(actions)

    anyio.run(go)


@pytest.mark.parametrize(("email", "password"), [("alice@acme.test", "wrong password!"), ("nobody@acme.test", PASSWORD)])
def test_wrong_password_and_unknown_email_look_the_same(world: World, email: str, password: str) -> None:
    async def go() -> None:
        async with api(world) as (c, _):
            r = await c.post("/v1/auth/sign-in", json={"email": email, "password": password})
            assert r.status_code == 401 and r.json()["detail"] == "wrong email or password"
            assert r.headers["www-authenticate"] == "Bearer"

    anyio.run(go)


def test_expired_tampered_foreign_and_rotated_tokens(world: World) -> None:
    async def go() -> None:
        async with api(world) as (c, _):
            me = (await c.get("/v1/me", headers=bearer((await sign_in(c, "bob@globex.test"))["access_token"]))).json()
            signer = Signer(KEY)
            expired, _ = signer.issue(me["id"], "t", "user", me["name"], now=datetime.now(UTC) - timedelta(hours=1))
            r = await c.get("/v1/me", headers=bearer(expired))
            assert r.status_code == 401 and "expired" in r.json()["detail"]
            good, _ = signer.issue(me["id"], "t", "user", me["name"])
            head, body, sig = good.split(".")
            claims = jwt.decode(good, options={"verify_signature": False})
            forged = jwt.encode({**claims, "role": "admin"}, b"x" * 40, algorithm="HS256", headers={"kid": jwt.get_unverified_header(good)["kid"]})
            for bad in (f"{head}.{forged.split('.')[1]}.{sig}", forged, f"{head}.{body}.{sig[:-2]}AA"):
                assert (await c.get("/v1/me", headers=bearer(bad))).status_code == 401
            foreign, _ = Signer(b"f" * 40).issue(me["id"], "t", "user", me["name"])
            r = await c.get("/v1/me", headers=bearer(foreign))
            assert r.status_code == 401 and "unknown key" in r.json()["detail"]
            # the role comes from the database, not the token:
            claims_admin, _ = signer.issue(me["id"], "t", "admin", me["name"])
            assert (await c.get("/v1/users", headers=bearer(claims_admin))).status_code == 403
        # Rotation: a new key signs, the old one still verifies during the grace period.
        rotated = Signer(b"n" * 40, previous=[KEY])
        async with api(world, signer=rotated) as (c, _):
            old, _ = Signer(KEY).issue(me["id"], "t", "user", me["name"])
            assert (await c.get("/v1/me", headers=bearer(old))).status_code == 200
            fresh = await sign_in(c, "bob@globex.test")
            assert jwt.get_unverified_header(fresh["access_token"])["kid"] != jwt.get_unverified_header(old)["kid"]
        async with api(world, signer=Signer(b"n" * 40)) as (c, _):  # grace over: the old key is gone
            assert (await c.get("/v1/me", headers=bearer(old))).status_code == 401

    anyio.run(go)


def test_api_keys_scopes_expiry_and_revocation(world: World) -> None:
    async def go() -> None:
        async with api(world) as (c, _):
            alice = bearer((await sign_in(c, "alice@acme.test"))["access_token"])
            r = await c.post("/v1/keys", json={"name": "ci reader", "scopes": ["read"]}, headers=alice)
            assert r.status_code == 201, r.text
            k = r.json()
            assert k["key"].startswith(k["prefix"] + "_") and k["prefix"].startswith("pvh_")
            key = bearer(k["key"])
            assert (await c.get("/v1/jobs", headers=key)).status_code == 200
            w = await c.post("/v1/jobs", json={"bucket": BUCKET, "key": "acme/x.csv"}, headers=key)
            assert w.status_code == 403 and "'write'" in w.json()["detail"]
            assert (await c.post("/v1/keys", json={"name": "child"}, headers=key)).status_code == 403  # keys do not mint keys
            assert (await c.post("/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=alice)).status_code == 403
            assert (await c.post("/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=alice)).status_code == 422
            listed = (await c.get("/v1/keys", headers=alice)).json()
            (mine,) = [x for x in listed if x["id"] == k["id"]]
            assert "key" not in mine and mine["last_used_at"] is not None
            assert (await c.delete(f"/v1/keys/{k['id']}", headers=alice)).status_code == 204
            r = await c.get("/v1/jobs", headers=key)
            assert r.status_code == 401 and "revoked" in r.json()["detail"]
            soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
            short = (await c.post("/v1/keys", json={"name": "short", "expires_at": soon}, headers=alice)).json()
            assert (await c.get("/v1/me", headers=bearer(short["key"]))).status_code == 200
            await asyncio.sleep(1.2)
            assert (await c.get("/v1/me", headers=bearer(short["key"]))).status_code == 401
            assert (await c.get("/v1/me", headers=bearer("pvh_00000000_" + "x" * 43))).status_code == 401
        assert {"key.created", "key.revoked"} <= set(await audit_actions(world))

    anyio.run(go)


def test_failed_sign_ins_slow_down_then_lock(world: World) -> None:
    async def go() -> None:
        async with api(world) as (c, _):
            async def attempt(password: str) -> int:
                return (await c.post("/v1/auth/sign-in", json={"email": "lock@acme.test", "password": password})).status_code

            assert [await attempt("nope nope nope") for _ in range(2)] == [401, 401]
            r = await c.post("/v1/auth/sign-in", json={"email": "lock@acme.test", "password": PASSWORD})
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1  # slowed down, even with the right password
            await asyncio.sleep(1.1)
            assert await attempt("nope nope nope") == 401
            await asyncio.sleep(2.1)
            assert await attempt("nope nope nope") == 401  # the 4th: locked now
            r = await c.post("/v1/auth/sign-in", json={"email": "lock@acme.test", "password": PASSWORD})
            assert r.status_code == 429 and "locked" in r.json()["detail"]
            root = bearer((await sign_in(c, "root@ops.test"))["access_token"])
            (u,) = [u for u in (await c.get("/v1/users", headers=root)).json() if u["email"] == "lock@acme.test"]
            assert u["locked_until"] is not None
            assert (await c.patch(f"/v1/users/{u['id']}", json={"unlock": True}, headers=root)).status_code == 200
            assert await attempt(PASSWORD) == 200
        actions = await audit_actions(world)
        assert "auth.locked" in actions and actions.count("auth.sign_in_failed") >= 4 and "user.updated" in actions

    anyio.run(go)


def test_users_get_403_on_admin_routes(world: World) -> None:
    async def go() -> None:
        async with api(world) as (c, _):
            alice = bearer((await sign_in(c, "alice@acme.test"))["access_token"])
            root = bearer((await sign_in(c, "root@ops.test"))["access_token"])
            admin_calls = [("GET", "/v1/users", None), ("GET", "/v1/tenants", None), ("GET", "/v1/audit", None),
                           ("POST", "/v1/tenants", {"name": "evil", "scopes": [BUCKET]}),
                           ("POST", "/v1/users", {"email": "m@acme.test", "password": PASSWORD, "tenant": "acme"}),
                           ("PATCH", f"/v1/users/{uuid.uuid4().hex}", {"role": "admin"})]
            for method, path, body in admin_calls:
                r = await c.request(method, path, json=body, headers=alice)
                assert r.status_code == 403, (method, path, r.text)
            assert (await c.get("/metrics", headers=alice)).status_code == 403
            assert (await c.get("/metrics", headers=root)).status_code == 200
            r = await c.post("/v1/users", json={"email": "new@globex.test", "password": PASSWORD, "tenant": "globex"}, headers=root)
            assert r.status_code == 201 and r.json()["role"] == "user"
            weak = await c.post("/v1/users", json={"email": "weak@globex.test", "password": "short", "tenant": "globex"}, headers=root)
            assert weak.status_code == 422 and "at least" in weak.json()["detail"]
            me = (await c.get("/v1/me", headers=root)).json()
            r = await c.patch(f"/v1/users/{me['id']}", json={"role": "user"}, headers=root)
            assert r.status_code == 409 and "last active admin" in r.json()["detail"]

    anyio.run(go)


def test_tenants_get_404_for_each_others_ids_on_every_route(world: World) -> None:
    async def go() -> None:
        ids = await make_jobs(world)
        async with api(world) as (c, _):
            alice = bearer((await sign_in(c, "alice@acme.test"))["access_token"])
            bob = bearer((await sign_in(c, "bob@globex.test"))["access_token"])
            root = bearer((await sign_in(c, "root@ops.test"))["access_token"])
            up = await c.post("/v1/uploads", json={"filename": "g.csv", "size": 10}, headers=bob)
            assert up.status_code == 201, up.text
            upload_id = up.json()["id"]
            bobs_key = (await c.post("/v1/keys", json={"name": "bob"}, headers=bob)).json()["id"]
            other = ids["globex"]
            calls = [("GET", f"/v1/jobs/{other}", None), ("GET", f"/v1/jobs/{other}/outputs/0", None),
                     ("GET", f"/v1/jobs/{other}/outputs/0/download", None), ("GET", f"/v1/jobs/{other}/events", None),
                     ("GET", f"/v1/jobs/{other}/rejects", None), ("GET", f"/v1/jobs/{other}/rejects/download", None),
                     ("POST", f"/v1/jobs/{other}/retry", None), ("POST", f"/v1/jobs/{other}/cancel", None),
                     ("GET", f"/v1/uploads/{upload_id}", None), ("POST", f"/v1/uploads/{upload_id}/parts", {"parts": [1]}),
                     ("POST", f"/v1/uploads/{upload_id}/complete", None), ("DELETE", f"/v1/uploads/{upload_id}", None),
                     ("DELETE", f"/v1/keys/{bobs_key}", None),
                     ("POST", "/v1/jobs", {"bucket": BUCKET, "key": "globex/x.csv"}),
                     ("POST", "/v1/uploads", {"filename": "x.csv", "size": 1, "prefix": f"{BUCKET}/globex/"})]
            for method, path, body in calls:
                r = await c.request(method, path, json=body, headers=alice)
                assert r.status_code == 404, (method, path, r.status_code, r.text)
            # a key without the read right may not read a job's outputs or rejects, even its own tenant's
            writer = bearer((await c.post("/v1/keys", json={"name": "w", "scopes": ["write"]}, headers=alice)).json()["key"])
            for path in (f"/v1/jobs/{ids['acme']}/rejects", f"/v1/jobs/{ids['acme']}/rejects/download", f"/v1/jobs/{ids['acme']}/outputs/0"):
                assert (await c.get(path, headers=writer)).status_code == 403, path
            seen = {j["id"] for j in (await c.get("/v1/jobs?limit=500", headers=alice)).json()["items"]}
            assert ids["acme"] in seen and other not in seen
            assert all(u["id"] != upload_id for u in (await c.get("/v1/uploads", headers=alice)).json())
            # the owner and an administrator can:
            assert (await c.get(f"/v1/jobs/{other}", headers=bob)).status_code == 200
            assert (await c.get(f"/v1/jobs/{other}", headers=root)).status_code == 200
            assert (await c.get(f"/v1/uploads/{upload_id}", headers=root)).status_code == 200
            assert (await c.delete(f"/v1/uploads/{upload_id}", headers=bob)).status_code == 204

    anyio.run(go)


def test_every_route_states_who_may_call_it_and_refuses_strangers(world: World) -> None:
    async def go() -> None:
        async with api(world) as (c, _):
            spec = (await c.get("/openapi.json")).json()
            assert {"bearer", "session"} <= set(spec["components"]["securitySchemes"])
            checked = 0
            for path, ops in spec["paths"].items():
                for method, op in ops.items():
                    if path in PUBLIC:
                        assert not op.get("security"), path
                        continue
                    assert op.get("security"), f"{method.upper()} {path} does not say who may call it"
                    concrete = path
                    for name in ("job_id", "upload_id", "key_id", "user_id", "bucket", "n", "key", "number"):
                        concrete = concrete.replace("{" + name + "}", "1" if name in ("n", "number") else uuid.uuid4().hex)
                    r = await c.request(method, concrete, json={})
                    assert r.status_code == 401, (method, concrete, r.status_code, r.text)
                    checked += 1
            assert checked >= 25 and "/store/parts/{upload_id}/{number}" not in spec["paths"]  # S3 here: no local store

    anyio.run(go)


def test_cookie_sessions_need_the_csrf_header_on_writes(world: World) -> None:
    async def go() -> None:
        async with api(world) as (c, _):
            r = await c.post("/v1/auth/sign-in", json={"email": "alice@acme.test", "password": PASSWORD, "cookie": True})
            assert r.status_code == 200 and r.json()["access_token"] is None
            csrf = r.json()["csrf_token"]
            set_cookie = r.headers.get_list("set-cookie")
            assert any(h.startswith("pravah_access=") and "HttpOnly" in h and "SameSite=lax" in h for h in set_cookie)
            assert (await c.get("/v1/me")).json()["name"] == "alice@acme.test"
            job = uuid.uuid4().hex
            r = await c.post(f"/v1/jobs/{job}/cancel")
            assert r.status_code == 403 and "x-csrf-token" in r.json()["detail"]
            assert (await c.post(f"/v1/jobs/{job}/cancel", headers={"X-CSRF-Token": "forged"})).status_code == 403
            assert (await c.post(f"/v1/jobs/{job}/cancel", headers={"X-CSRF-Token": csrf})).status_code == 404  # past CSRF
            r = await c.post("/v1/auth/refresh")  # the refresh cookie
            assert r.status_code == 200 and r.json()["csrf_token"]
            assert (await c.post("/v1/auth/sign-out")).status_code == 204
            c.cookies.clear()
            assert (await c.get("/v1/me")).status_code == 401

    anyio.run(go)


def test_submit_is_idempotent_and_retry_cancel_follow_the_status(world: World) -> None:
    async def go() -> None:
        s3_client().put_object(Bucket=BUCKET, Key="acme/data.csv", Body=b"a,b\n1,2\n")
        async with api(world) as (c, _):
            alice = bearer((await sign_in(c, "alice@acme.test"))["access_token"])
            r1 = await c.post("/v1/jobs", json={"bucket": BUCKET, "key": "acme/data.csv"}, headers=alice)
            assert r1.status_code == 201, r1.text
            r2 = await c.post("/v1/jobs", json={"bucket": BUCKET, "key": "acme/data.csv"}, headers=alice)
            assert r2.status_code == 200 and r2.json()["id"] == r1.json()["id"]
            missing = await c.post("/v1/jobs", json={"bucket": BUCKET, "key": "acme/none.csv"}, headers=alice)
            assert missing.status_code == 404
            unknown = await c.post("/v1/jobs", json={"bucket": BUCKET, "key": "acme/data.csv", "pipeline": "nope"}, headers=alice)
            assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
            job = r1.json()["id"]
            assert (await c.post(f"/v1/jobs/{job}/retry", headers=alice)).status_code == 409  # PENDING
            r = await c.post(f"/v1/jobs/{job}/cancel", headers=alice)
            assert r.status_code == 202 and r.json()["status"] == "CANCELLED"
            assert (await c.post(f"/v1/jobs/{job}/cancel", headers=alice)).status_code == 409
            r = await c.post(f"/v1/jobs/{job}/retry", headers=alice)
            assert r.status_code == 200 and r.json()["status"] == "PENDING" and r.json()["run"] == 2
            detail = (await c.get(f"/v1/jobs/{job}", headers=alice)).json()
            assert any("cancelled by alice@acme.test" in line for line in detail["log"])
            assert any("retried by alice@acme.test (run 2)" in line for line in detail["log"])
        assert {"job.submitted", "job.cancel_requested", "job.retried"} <= set(await audit_actions(world))

    anyio.run(go)


def test_dashboard_pages_and_the_routes_behind_them_refuse_everyone_else(world: World) -> None:
    """Who may call each route the dashboard added: strangers are sent to sign in (pages) or
    get 401 (calls); users get 403 on administrators' pages and routes and with a read-only
    key on writes; another tenant's job, log, outputs and failures are not found."""
    async def go() -> None:
        ids = await make_jobs(world)
        other = ids["globex"]
        eng = make_engine(world.pg_url)
        async with sessions(eng)() as s:  # globex's job failed an hour ago: the failures strip's material
            await s.execute(update(Job).where(Job.id == other).values(
                status="FAILED", error="InputFormatError: bad row", finished_at=datetime.now(UTC) - timedelta(hours=1)))
            await s.commit()
        await eng.dispose()
        async with api(world) as (c, _):
            alice = bearer((await sign_in(c, "alice@acme.test"))["access_token"])
            bob = bearer((await sign_in(c, "bob@globex.test"))["access_token"])
            root = bearer((await sign_in(c, "root@ops.test"))["access_token"])
            reader = bearer((await c.post("/v1/keys", json={"name": "ro", "scopes": ["read"]}, headers=alice)).json()["key"])
            pages = ["/ui/jobs", f"/ui/jobs/{ids['acme']}", f"/ui/jobs/{ids['acme']}/outputs", "/ui/upload", "/ui/pipelines",
                     "/ui/pipelines/copy", "/ui/bindings", "/ui/operations"]
            for page in pages:  # strangers: to the sign-in page, and back afterwards
                r = await c.get(page)
                assert r.status_code == 303 and r.headers["location"].startswith("/ui/sign-in?next="), (page, r.status_code)
            assert (await c.get("/ui/sign-in")).status_code == 200 and (await c.get("/ui/static/ui.js")).status_code == 200
            r = await c.post("/ui/pipelines/dry-run", json={"bucket": BUCKET, "key": "acme/a.csv", "pipeline": "copy", "spec_yaml": "{}"})
            assert r.status_code == 401
            for page in pages[:-1]:
                assert (await c.get(page, headers=alice)).status_code == 200, page
            # administrators only
            assert (await c.get("/ui/operations", headers=alice)).status_code == 403
            assert (await c.get("/v1/ops/summary", headers=alice)).status_code == 403
            assert (await c.get("/ui/operations", headers=root)).status_code == 200
            summary = (await c.get("/v1/ops/summary", headers=root)).json()
            assert summary["jobs"]["FAILED"] >= 1 and "windows" in summary
            # another tenant's job: not found, as a page and as calls
            for path in (f"/ui/jobs/{other}", f"/ui/jobs/{other}/outputs", f"/v1/jobs/{other}/log"):
                assert (await c.get(path, headers=alice)).status_code == 404, path
            assert (await c.get(f"/v1/jobs/{other}/log", headers=bob)).status_code == 200
            assert (await c.get("/ui/pipelines/nope", headers=alice)).status_code == 404
            # failures: each tenant sees and retries only its own
            assert (await c.get("/v1/jobs/failures", headers=alice)).json() == []
            groups = (await c.get("/v1/jobs/failures", headers=bob)).json()
            assert [(g["pipeline"], g["error"], g["count"]) for g in groups] == [("copy", "InputFormatError: bad row", 1)]
            body = {"pipeline": "copy", "error": "InputFormatError: bad row", "since": (datetime.now(UTC) - timedelta(days=1)).isoformat()}
            assert (await c.post("/v1/jobs/retry-failed", json=body, headers=alice)).json() == {"retried": []}
            assert (await c.post("/v1/jobs/retry-failed", json=body, headers=reader)).status_code == 403  # a read-only key
            assert (await c.post("/v1/jobs/retry-failed", json=body, headers=bob)).json() == {"retried": [other]}
            # writes from a page with a read-only key, and with a cookie but no CSRF header
            assert (await c.post("/ui/pipelines/dry-run", json={"bucket": BUCKET, "key": "acme/a.csv", "pipeline": "copy",
                                                                "spec_yaml": "{}"}, headers=reader)).status_code == 403
            await c.post("/v1/auth/sign-in", json={"email": "alice@acme.test", "password": PASSWORD, "cookie": True})
            r = await c.post("/ui/pipelines/dry-run", json={"bucket": BUCKET, "key": "acme/a.csv", "pipeline": "copy", "spec_yaml": "{}"})
            assert r.status_code == 403 and "x-csrf-token" in r.json()["detail"]
            c.cookies.clear()
            # the binding tester answers with the caller's bindings
            t = (await c.get("/v1/bindings/test", params={"bucket": BUCKET, "key": "globex/x.csv"}, headers=alice)).json()
            assert t["fires"] == "copy" and all(v["binding"]["bucket"] == BUCKET for v in t["bindings"])

    anyio.run(go)
