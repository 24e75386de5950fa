# syntax=docker/dockerfile:1
# Pravah's image: one image for every role (`pravah serve api|ingest|worker|relay`, k8s/base).
#   docker build -t pravah:0.1.0 .        the release image (the last stage)
#   docker build --target dev .           what the Tiltfile builds for live updates
# The wheel (Rust engine + Python package) is built with maturin in a Rust stage; the runtime
# installs it into a slim Python with no compilers. tests/k8s lints this file and checks its shape.

ARG PYTHON=3.13

FROM rust:1.95-slim-trixie AS build
# maturin needs a Python to build against: Debian's is enough, the wheel is abi3 (cp311 and up).
# Debian's package versions move with the pinned base image, so they are not pinned again here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/maturin && /opt/maturin/bin/pip install --no-cache-dir maturin==1.16.0
WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md ./
COPY .cargo .cargo
COPY engine/core engine/core
COPY engine/python engine/python
COPY services services
# The crate registry and the target folder outlive the build: a Python-only change rebuilds no crate.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    /opt/maturin/bin/maturin build --release --locked --out /wheels

FROM python:${PYTHON}-slim-trixie AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/pravah/bin:$PATH \
    HOME=/tmp
# Dependencies come as wheels from PyPI; with no compiler here, one that would need building fails
# the build instead of shipping a compiler.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=cache,target=/root/.cache/pip \
    python -m venv /opt/pravah && /opt/pravah/bin/pip install /wheels/*.whl
WORKDIR /tmp
# A numeric user, so Kubernetes can verify runAsNonRoot without an /etc/passwd entry.
USER 10001:10001
# The API (PRAVAH_API__PORT) and its unauthenticated /metrics (PRAVAH_API__METRICS_PORT); the other
# roles serve their probes and /metrics on the same 9100 (PRAVAH_OPS__PORT).
EXPOSE 8787 9100
ENTRYPOINT ["pravah"]
CMD ["--help"]

# Tilt's live_update copies changed Python files into the running container, so the package must
# be writable by the app user here (and only here); the loop starts `pravah ARGS` again when
# live_update stops it, without a container restart (which would drop the copied files).
FROM runtime AS dev
ARG PYTHON
USER 0:0
RUN chown -R 10001:10001 /opt/pravah/lib/python${PYTHON}/site-packages/pravah
USER 10001:10001
ENTRYPOINT ["/bin/sh", "-c", "trap 'kill $pid; exit 0' TERM; while :; do pravah \"$@\" & pid=$!; echo $pid > /tmp/pravah.pid; wait $pid; sleep 1; done", "pravah"]

# The release image: the runtime as it is, last so that a plain `docker build` makes it.
FROM runtime AS release
