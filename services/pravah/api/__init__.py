"""HTTP API (FastAPI); and the ops port of a process without it (probes.py: plain ASGI)."""
