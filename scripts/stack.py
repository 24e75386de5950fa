"""The real services Pravah runs against, on 127.0.0.1, started and stopped by the project.

    python scripts/stack.py up|down|status|env

- PostgreSQL from Debian's package (apt-get installs it when missing), its own data directory.
- Apache Kafka 4.x in KRaft mode: jars resolved from Maven Central (scripts/stack/kafka-pom.xml)
  into ~/.cache/pravah/kafka, storage formatted once, run with the JDK.
- MinIO built by `go install github.com/minio/minio@latest` into ~/.cache/pravah/bin, with its
  Kafka notification target on and a queue_dir, so events made while Kafka is down still arrive.

State lives in `.stack/` (data, logs, pids, chosen ports). Ports are picked free on first start
and kept, so nothing collides with what already runs. `up` while the stack runs does nothing.
`env` prints the PRAVAH_* settings for the running stack (also written to .stack/stack.env).
Standard library only: it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("PRAVAH_STACK_DIR", ROOT / ".stack"))
CACHE = Path(os.environ.get("PRAVAH_CACHE", Path.home() / ".cache" / "pravah"))
KAFKA_VERSION = "4.3.1"
MINIO_USER, MINIO_PASSWORD = "pravah", "pravah-secret"
MINIO_TARGET = "PRAVAH"  # ARN arn:minio:sqs::PRAVAH:kafka
OBJECT_TOPIC = "pravah.objects"
PORT_NAMES = ("postgres", "kafka", "kafka_controller", "minio", "minio_console")


class StackError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"stack: {msg}", file=sys.stderr, flush=True)


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise StackError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r


# ---------------------------------------------------------------- ports and pids

def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nobody listens on now, for a short-lived server of a test, a bench or the demo."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def ports() -> dict[str, int]:
    """Ports chosen on the first start, kept in .stack/ports.json. They start below the kernel's
    ephemeral range (32768–60999 by default): a port free when chosen there could be taken by
    any outgoing connection before its server binds it (PostgreSQL once failed to start on
    47300 with "Address already in use")."""
    path = STATE / "ports.json"
    if path.exists():
        return json.loads(path.read_text())
    chosen: dict[str, int] = {}
    port = int(os.environ.get("PRAVAH_STACK_PORT_BASE", "27300"))
    for name in PORT_NAMES:
        while not port_free(port):
            port += 1
        chosen[name] = port
        port += 1
    STATE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chosen, indent=1))
    return chosen


def pid_alive(name: str) -> int | None:
    f = STATE / f"{name}.pid"
    if not f.exists():
        return None
    try:
        pid = int(f.read_text().split()[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return None
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return None  # our own child that exited: reaped now (a zombie until then)
    except ChildProcessError:
        pass  # not our child (started by another run of this script)
    return pid


def wait_until(what: str, ready, timeout: float, logfile: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    tail = logfile.read_text(errors="replace")[-3000:] if logfile and logfile.exists() else ""
    raise StackError(f"{what} not ready after {timeout:.0f} s\n{tail}")


def spawn(name: str, cmd: list[str], env: dict | None = None) -> int:
    """Start a server in its own session (it outlives this script); pid in .stack/NAME.pid.
    posix_spawn, not Popen: a Popen still running when Python exits is reported as a leak
    (ResourceWarning), and these servers are meant to outlive the process that started them
    (`pid_alive` reaps one that exits while it lives). Its other descriptors are not inherited
    (Python opens them close-on-exec)."""
    log = STATE / f"{name}.log"
    pid = os.posix_spawnp(cmd[0], cmd, {**os.environ, **(env or {})}, setsid=True, file_actions=[
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ])
    (STATE / f"{name}.pid").write_text(str(pid))
    return pid


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """End a child process: SIGTERM, then SIGKILL past `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_pid(name: str, timeout: float = 20) -> None:
    pid = pid_alive(name)
    if pid is None:
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(name) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(name):
        os.killpg(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)  # reap it if it is our child
        except ChildProcessError:
            pass
    (STATE / f"{name}.pid").unlink(missing_ok=True)


# ---------------------------------------------------------------- PostgreSQL

def pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        log("PostgreSQL not found: installing Debian's postgresql package")
        apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get"]
        sh(apt + ["update", "-q"])
        sh(apt + ["install", "-y", "-q", "--no-install-recommends", "postgresql"],
           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise StackError("PostgreSQL is not installed and apt-get could not install it")
    return Path(found[-1]).parent


def as_pg_user(cmd: list[str]) -> list[str]:
    # The server refuses to run as root; Debian's package made a `postgres` user.
    return ["runuser", "-u", "postgres", "--"] + cmd if os.geteuid() == 0 else cmd


def pg_run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """A PostgreSQL program as the `postgres` user, from `/`: it may not enter this checkout."""
    return subprocess.run(as_pg_user(cmd), cwd="/", **kw)


def pg_home() -> Path:
    """The folder of the cluster's data and log: .stack/ when the `postgres` user can enter it
    (root makes and hands over the data folder and log inside); otherwise (root running a
    checkout under /root, or in a 0700 temporary folder) a folder of its own under /var/tmp,
    named after this checkout."""
    if os.geteuid() != 0 or pg_run(["test", "-x", str(STATE)]).returncode == 0:
        return STATE
    home = Path("/var/tmp") / f"pravah-stack-{hashlib.sha256(str(STATE.resolve()).encode()).hexdigest()[:12]}"
    home.mkdir(mode=0o700, exist_ok=True)
    shutil.chown(home, "postgres", "postgres")
    return home


def pg_up(port: int) -> None:
    bindir, data = pg_bindir(), pg_home() / "postgres"
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        sh(as_pg_user([str(bindir / "initdb"), "-D", str(data), "-U", "pravah", "--auth=trust", "-E", "UTF8"]), cwd="/")
    if pg_run([str(bindir / "pg_ctl"), "-D", str(data), "status"], capture_output=True).returncode == 0:
        return
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=on -c max_connections=200"
    logfile = data.parent / "postgres.log"
    logfile.touch()
    if os.geteuid() == 0:
        shutil.chown(logfile, "postgres", "postgres")
    sh(as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(logfile), "-w", "-t", "60", "start"]), cwd="/")
    psql = [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "pravah", "-d", "postgres", "-tAc"]
    if sh(psql + ["SELECT 1 FROM pg_database WHERE datname = 'pravah'"]).stdout.strip() != "1":
        sh(psql + ["CREATE DATABASE pravah"])


def pg_down() -> None:
    data = pg_home() / "postgres"
    if (data / "PG_VERSION").exists():
        pg_run([str(pg_bindir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)


# ---------------------------------------------------------------- Kafka

def kafka_libs() -> Path:
    libs = CACHE / "kafka" / KAFKA_VERSION / "libs"
    if (libs / ".complete").exists():
        return libs
    log(f"resolving Kafka {KAFKA_VERSION} from Maven Central into {libs}")
    libs.mkdir(parents=True, exist_ok=True)
    sh(["mvn", "-q", "-B", "-f", str(ROOT / "scripts" / "stack" / "kafka-pom.xml"),
        f"-Dmaven.repo.local={CACHE / 'm2'}", f"-Dkafka.version={KAFKA_VERSION}",
        "dependency:copy-dependencies", f"-DoutputDirectory={libs}", "-DincludeScope=runtime"])
    (libs / ".complete").touch()
    return libs


def kafka_up(p: dict[str, int]) -> None:
    if pid_alive("kafka"):
        return
    libs, data = kafka_libs(), STATE / "kafka"
    props = STATE / "kafka.properties"
    props.write_text("\n".join([
        "process.roles=broker,controller", "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{p['kafka_controller']}",
        f"listeners=PLAINTEXT://127.0.0.1:{p['kafka']},CONTROLLER://127.0.0.1:{p['kafka_controller']}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{p['kafka']}",
        "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data}", "num.partitions=4", "auto.create.topics.enable=true",
        "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1", "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0", ""]))
    log4j = ROOT / "scripts" / "stack" / "kafka-log4j2.yaml"
    java = ["java", "-Xms256m", "-Xmx512m", f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{libs}/*"]
    if not (data / "meta.properties").exists():
        cluster = sh(java + ["kafka.tools.StorageTool", "random-uuid"]).stdout.strip().splitlines()[-1]
        sh(java + ["kafka.tools.StorageTool", "format", "--standalone", "-t", cluster, "-c", str(props)])
    logfile = STATE / "kafka.log"
    start = logfile.stat().st_size if logfile.exists() else 0
    spawn("kafka", java + ["kafka.Kafka", str(props)])

    def started() -> bool:
        if not pid_alive("kafka"):
            raise StackError(f"Kafka exited at start:\n{logfile.read_text(errors='replace')[start:][-3000:]}")
        with logfile.open("rb") as f:
            f.seek(start)
            return b"Kafka Server started" in f.read() and listening(p["kafka"])

    wait_until("Kafka", started, 90, logfile)


# ---------------------------------------------------------------- MinIO

def minio_bin() -> Path:
    exe = CACHE / "bin" / "minio"
    if exe.exists():
        return exe
    log("building MinIO with `go install github.com/minio/minio@latest` (several minutes, once)")
    exe.parent.mkdir(parents=True, exist_ok=True)
    sh(["go", "install", "github.com/minio/minio@latest"], env={**os.environ, "GOBIN": str(exe.parent)})
    return exe


def minio_up(p: dict[str, int]) -> None:
    if pid_alive("minio"):
        return
    exe = minio_bin()
    (STATE / "minio").mkdir(parents=True, exist_ok=True)
    t = MINIO_TARGET
    env = {
        "MINIO_ROOT_USER": MINIO_USER, "MINIO_ROOT_PASSWORD": MINIO_PASSWORD,
        "MINIO_BROWSER": "off", "MINIO_UPDATE": "off",
        f"MINIO_NOTIFY_KAFKA_ENABLE_{t}": "on",
        f"MINIO_NOTIFY_KAFKA_BROKERS_{t}": f"127.0.0.1:{p['kafka']}",
        f"MINIO_NOTIFY_KAFKA_TOPIC_{t}": OBJECT_TOPIC,
        f"MINIO_NOTIFY_KAFKA_QUEUE_DIR_{t}": str(STATE / "minio-queue"),
        f"MINIO_NOTIFY_KAFKA_QUEUE_LIMIT_{t}": "1000000",
    }
    (STATE / "minio-queue").mkdir(exist_ok=True)
    spawn("minio", [str(exe), "server", str(STATE / "minio"), "--quiet",
                    "--address", f"127.0.0.1:{p['minio']}", "--console-address", f"127.0.0.1:{p['minio_console']}"], env)

    def ready() -> bool:
        if not pid_alive("minio"):
            raise StackError(f"MinIO exited at start:\n{(STATE / 'minio.log').read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{p['minio']}/minio/health/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    wait_until("MinIO", ready, 60, STATE / "minio.log")


# ---------------------------------------------------------------- commands

def secret_key() -> str:
    """The API's token-signing key for this stack (made once, private to its owner)."""
    path = STATE / "auth-secret"
    if not path.exists():
        import secrets

        STATE.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def settings(p: dict[str, int]) -> dict[str, str]:
    return {
        "PRAVAH_DATABASE_URL": f"postgresql+asyncpg://pravah@127.0.0.1:{p['postgres']}/pravah",
        "PRAVAH_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{p['kafka']}",
        "PRAVAH_S3__ENDPOINT": f"http://127.0.0.1:{p['minio']}",
        "PRAVAH_S3__ACCESS_KEY": MINIO_USER,
        "PRAVAH_S3__SECRET_KEY": MINIO_PASSWORD,
        "PRAVAH_S3__NOTIFY_ARN": f"arn:minio:sqs::{MINIO_TARGET}:kafka",
        "PRAVAH_KAFKA__OBJECT_TOPIC": OBJECT_TOPIC,
        "PRAVAH_AUTH__SECRET_KEY": secret_key(),
    }


def psql(sql: str, db: str = "postgres") -> str:
    """Run one statement on the stack's PostgreSQL; its output, unaligned."""
    exe = str(pg_bindir() / "psql")
    return sh([exe, "-h", "127.0.0.1", "-p", str(ports()["postgres"]), "-U", "pravah", "-d", db, "-tAc", sql]).stdout.strip()


def s3_client():
    """A boto3 client for the stack's MinIO (boto3 comes with the project's virtualenv)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{ports()['minio']}", aws_access_key_id=MINIO_USER,
                        aws_secret_access_key=MINIO_PASSWORD, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}))


def drop_bucket(name: str) -> None:
    """Delete a bucket of the stack's MinIO with everything in it (tests and benchmarks clean up)."""
    s3 = s3_client()
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objs:
                s3.delete_objects(Bucket=name, Delete={"Objects": objs})
        for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
        s3.delete_bucket(Bucket=name)
    except s3.exceptions.NoSuchBucket:
        pass


def up() -> dict[str, str]:
    STATE.mkdir(parents=True, exist_ok=True)
    p = ports()
    t = time.monotonic()
    pg_up(p["postgres"])
    kafka_up(p)  # before MinIO: its notification target connects at start
    minio_up(p)
    env = settings(p)
    (STATE / "stack.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    log(f"up in {time.monotonic() - t:.1f} s")
    return env


def restart(name: str) -> float:
    """Stop one service and start it again (chaos tests); returns the seconds it was away."""
    p = ports()
    t = time.monotonic()
    if name == "postgres":
        bindir = pg_bindir()
        sh(as_pg_user([str(bindir / "pg_ctl"), "-D", str(pg_home() / "postgres"), "-m", "immediate", "-w", "stop"]), cwd="/")
        pg_up(p["postgres"])
    elif name == "kafka":
        stop_pid("kafka", timeout=30)
        kafka_up(p)
    elif name == "minio":
        stop_pid("minio")
        minio_up(p)
    else:
        raise StackError(f"unknown service {name!r}")
    return time.monotonic() - t


def down() -> None:
    stop_pid("minio")
    stop_pid("kafka", timeout=30)
    pg_down()


def running() -> bool:
    p = ports() if (STATE / "ports.json").exists() else None
    return bool(p) and pid_alive("kafka") is not None and pid_alive("minio") is not None and listening(p["postgres"])


def status() -> None:
    if not (STATE / "ports.json").exists():
        print("stack: not started")
        return
    p = ports()
    for name, port in [("postgres", p["postgres"]), ("kafka", p["kafka"]), ("minio", p["minio"])]:
        print(f"{name:9} 127.0.0.1:{port:<6} {'up' if listening(port) else 'down'}")


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "status"
    try:
        if cmd == "up":
            up()
            status()
            print(f"settings: {STATE / 'stack.env'}")
        elif cmd == "down":
            down()
        elif cmd == "status":
            status()
        elif cmd == "env":
            print("".join(f"export {k}={v}\n" for k, v in settings(ports()).items()), end="")
        else:
            sys.exit(f"usage: {sys.argv[0]} up|down|status|env")
    except StackError as e:
        sys.exit(f"stack: {e}")


if __name__ == "__main__":
    main()
