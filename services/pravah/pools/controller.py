"""The `controller` role: reconcile the live document's pools at start, after every `pravah apply`
(woken by NOTIFY) and every interval (drift, a missed wake-up); an error is logged and retried at
the next turn, never fatal."""

from __future__ import annotations

import logging

import anyio
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import metrics, registry
from pravah.db.wakeup import APPLIED, Wakeup
from pravah.pipelines import Document
from pravah.pools.desired import PoolError
from pravah.pools.reconcile import KubeError, Outcome, Pools, connect
from pravah.settings import KubeSettings

log = logging.getLogger("pravah.pools")


async def reconcile_once(sessions: async_sessionmaker, pools: Pools) -> Outcome:
    async with sessions() as s:
        live = await registry.live(s)
    return await pools.reconcile((live[1] if live else Document()).pools())


async def run(sessions: async_sessionmaker, db_url: str, settings: KubeSettings) -> None:
    """Until cancelled."""
    api = await connect(settings.kubeconfig)
    wake = Wakeup(db_url, APPLIED)
    pools = Pools(api, settings.current_namespace())
    log.info("reconciling worker pools in namespace %s every %g s and after each apply", pools.namespace, settings.interval_seconds)
    try:
        while True:
            try:
                done = await reconcile_once(sessions, pools)
                metrics.POOL_RECONCILES.labels("ok").inc()
                if done.changed or done.pruned:
                    log.info("pools reconciled: %d changed, %d pruned", len(done.changed), len(done.pruned))
            except (KubeError, PoolError) as e:
                metrics.POOL_RECONCILES.labels("error").inc()
                log.error("pools not reconciled: %s", e)
            except Exception:  # the database away (a restart): the next turn tries again
                metrics.POOL_RECONCILES.labels("error").inc()
                log.exception("pools not reconciled")
            await wake.wait(settings.interval_seconds)
    finally:
        with anyio.CancelScope(shield=True):
            await wake.close()
            await api.close()
