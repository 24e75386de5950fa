"""Offline checks of k8s/, the Dockerfile and the Tiltfile (no cluster, no Docker engine)."""
