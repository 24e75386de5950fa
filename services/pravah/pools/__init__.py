"""Per-pipeline worker pools on Kubernetes: each pool a pipeline declares (runtime.pool) becomes a
worker Deployment, a PodDisruptionBudget and, with KEDA, a ScaledObject counting that pool's jobs.
desired.py derives them from the default pool's objects; reconcile.py applies them server-side
and prunes the pools no longer declared; the `controller` role runs it in a loop."""
