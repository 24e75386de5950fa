"""The pipeline language: YAML documents of pipelines and bindings, validated with every
error reported at once, each with file, line and field path."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pravah import engine
from pravah.sizes import Bytes

NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
PLACEHOLDERS = {"bucket", "key", "dir", "name", "stem", "ext", "pipeline", "date", "job"}


class Limits(BaseModel):
    """Per-pipeline limits; each one passed fails the job with a LimitError naming it (not
    retried) and counts in pravah_limit_exceeded_total."""

    model_config = ConfigDict(extra="forbid")

    max_input_bytes: Bytes | None = Field(None, description='Largest input accepted, e.g. "10GB".')
    timeout_seconds: float | None = Field(None, gt=0, description="Longest engine run; the run is cancelled past it.")
    memory_bytes: Bytes | None = Field(None, description='Engine budget for what grows with the data (aggregate groups), e.g. "512MiB".')
    max_outputs: int = Field(1, ge=1, description="Most outputs one job may write.")


# Kubernetes quantities as a pool's pod asks for them ("500m", "4", "16Gi", "1.5G").
CPU = r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$"
MEMORY = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"
DEFAULT_POOL = "default"
UNPACK = ("unzip", "untar")
UNPACK_MEMBERS = 100_000  # the engine's default max_members


class Runtime(BaseModel):
    """Where a pipeline's jobs run: the workers of one pool claim only that pool's jobs. On
    Kubernetes each pool but the default is a worker Deployment of its own (pravah/pools/); the
    default pool is the `pravah-worker` Deployment of k8s/, sized there."""

    model_config = ConfigDict(extra="forbid")

    pool: str = Field(DEFAULT_POOL, pattern=NAME, description="Pool whose workers run this pipeline's jobs.")
    cpu: str | None = Field(None, pattern=CPU, description='CPU a worker of the pool asks for (and is limited to), e.g. "4" or "500m".')
    memory: str | None = Field(None, pattern=MEMORY, description='Memory a worker of the pool asks for (and is limited to), e.g. "16Gi".')
    min_workers: int = Field(0, ge=0, le=1000, description="Fewest workers of the pool (0: none while it has nothing to do).")
    max_workers: int = Field(10, ge=1, le=1000, description="Most workers of the pool.")
    concurrency: int | None = Field(None, ge=1, le=64, description="Jobs one worker of the pool runs at once (default PRAVAH_WORKER__CONCURRENCY).")

    @property
    def shape(self) -> dict[str, Any]:
        """What every pipeline naming the pool must agree on."""
        return self.model_dump(exclude={"pool"})


class Pipeline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    description: str = ""
    steps: list[dict[str, Any]] = Field(min_length=1)
    output: str = Field(min_length=1, description="bucket/key template, e.g. outbox/{pipeline}/{stem}.parquet")
    retries: int = Field(2, ge=0, le=20)
    delete_input: bool = Field(False, description="Delete the input once its job SUCCEEDED (outputs committed, outcome recorded), "
                                                  "and only if it is still the version that was processed.")
    limits: Limits = Limits()
    runtime: Runtime = Runtime()

    @model_validator(mode="after")
    def _unpack_writes_under_a_prefix(self) -> Pipeline:
        """unzip/untar write one object per member under the output, so the output is a prefix
        (ending in /), and unless the pipeline says otherwise it may write as many objects as
        the step lets an archive hold."""
        op = self.steps[0].get("op")
        if op in UNPACK:
            if not self.output.endswith("/"):
                raise ValueError(f"output {self.output!r}: {op} writes one object per member under a prefix: end the output with /, "
                                 f"e.g. {self.output.rstrip('/').rsplit('.', 1)[0]}/")
            if "max_outputs" not in self.limits.model_fields_set:
                members = self.steps[0].get("max_members")
                self.limits = self.limits.model_copy(update={"max_outputs": members if isinstance(members, int) and members > 0 else UNPACK_MEMBERS})
        return self

    @cached_property
    def version(self) -> str:
        """Content hash: the same definition always has the same version. Where the jobs run
        (runtime) changes no output, so moving a pipeline to another pool makes no new version.
        Computed once per object (every job row names it); a pipeline is not changed in place."""
        canon = json.dumps(self.model_dump(exclude={"description", "runtime"}), sort_keys=True)
        return hashlib.sha256(canon.encode()).hexdigest()[:12]

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Pipeline:
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("version", None)  # the copy's own content decides its version
        return copied

    @property
    def output_bucket(self) -> str:
        return self.output.split("/", 1)[0]


class Binding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(min_length=1)
    prefix: str = ""
    suffix: str | None = None
    glob: str | None = None
    pipeline: str = Field(pattern=NAME)

    def matches(self, bucket: str, key: str) -> bool:
        return self.why_not(bucket, key) is None

    def why_not(self, bucket: str, key: str) -> str | None:
        """None when the object matches; otherwise the first reason it does not, for people."""
        if bucket != self.bucket:
            return f"bucket is {bucket!r}, the binding watches {self.bucket!r}"
        if not key.startswith(self.prefix):
            return f"key does not start with the prefix {self.prefix!r}"
        if self.suffix is not None and not key.endswith(self.suffix):
            return f"key does not end with {self.suffix!r}"
        if self.glob is not None:
            from fnmatch import fnmatchcase

            if not fnmatchcase(key[len(self.prefix) :], self.glob):
                return f"the rest of the key after the prefix, {key[len(self.prefix):]!r}, does not match the glob {self.glob!r}"
        return None

    @property
    def specificity(self) -> tuple[int, int]:
        return (len(self.prefix), int(self.suffix is not None) + int(self.glob is not None))


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipelines: list[Pipeline] = []
    bindings: list[Binding] = []

    def pipeline(self, name: str) -> Pipeline:
        return next(p for p in self.pipelines if p.name == name)

    def pools(self) -> dict[str, Runtime]:
        """Each declared pool but the default, as its pipelines describe it (validated alike)."""
        return {p.runtime.pool: p.runtime for p in self.pipelines if p.runtime.pool != DEFAULT_POOL}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InvalidPipelines(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out[path + (k.value,)] = k.start_mark.line + 1
            _lines(v, path + (k.value,), out)
            out[path + (k.value,)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _lines(v, path + (i,), out)


def _normalize_step(raw: Any) -> tuple[dict[str, Any] | None, str | None]:
    """`- read_csv`, `- filter: {where: …}` → {"op": …, **options}."""
    if isinstance(raw, str):
        return {"op": raw}, None
    if isinstance(raw, dict) and len(raw) == 1:
        (op, opts), = raw.items()
        if opts is None:
            opts = {}
        if not isinstance(opts, dict):
            return None, f"options of {op} must be a mapping, got {type(opts).__name__}"
        return {"op": op, **opts}, None
    return None, "a step is a name (`- read_csv`) or a one-key mapping (`- filter: {where: …}`)"


class _Collector:
    def __init__(self, file: str, lines: dict[tuple[Any, ...], int]):
        self.file, self.lines, self.problems = file, lines, []

    def add(self, path: tuple[Any, ...], message: str) -> None:
        line = 0
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                line = self.lines[path[:n]]
                break
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        self.problems.append(Problem(self.file, line, text, message))


def _step_error(err: engine.EngineError, step_path: tuple[Any, ...], op: str) -> tuple[tuple[Any, ...], str]:
    msg = str(err)
    msg = re.sub(r"^plan: step \d+: ", "", msg)
    msg = re.sub(r" at line \d+ column \d+$", "", msg)
    m = re.search(r"unknown field `(\w+)`", msg)
    if m:
        return step_path + (op, m.group(1)), f"unknown option {m.group(1)!r} for {op}" + _expected(msg)
    m = re.search(r"unknown variant `(\w+)`", msg)
    if m:  # the step's own name, or the value of one of its options (on_bad_rows: ignore)
        what = "step" if m.group(1) == op else f"value for {op}:"
        return step_path + (op,), f"unknown {what} {m.group(1)!r}" + _expected(msg)
    if isinstance(err, engine.ExpressionError):
        field = "where" if op == "filter" else "expr"
        return step_path + (op, field), msg
    return step_path + (op,), msg


def _expected(msg: str) -> str:
    m = re.search(r"expected one of (.*)$", msg)
    return f"; expected one of {m.group(1).replace('`', '')}" if m else ""


def _template_problems(p: Pipeline) -> list[str]:
    out = []
    if p.output.startswith("/") or "/" not in p.output:
        out.append("must be bucket/key-template, e.g. outbox/{pipeline}/{stem}.parquet")
    if any(seg == ".." for seg in re.split(r"[/\\]", p.output)):
        out.append("must not contain '..': outputs stay inside their bucket")
    for name in re.findall(r"{([^{}]*)}", p.output):
        if name not in PLACEHOLDERS:
            out.append(f"unknown placeholder {{{name}}}; known: {', '.join('{' + n + '}' for n in sorted(PLACEHOLDERS))}")
    return out


def _static_prefix(template: str) -> str:
    return template.split("{", 1)[0]


def _lands_under(p: Pipeline, b: Binding, input_buckets: set[str]) -> bool:
    """Could an output of `p` land where `b` watches (and start b's pipeline)? An unpacking
    pipeline's outputs are any names under its output prefix."""
    bucket, _, key_tmpl = p.output.partition("/")
    if bucket == "{bucket}":
        if b.bucket not in input_buckets:
            return False
    elif "{" in bucket or bucket != b.bucket:
        return False
    static = _static_prefix(key_tmpl)
    if not (static.startswith(b.prefix) or b.prefix.startswith(static)):
        return False
    tail = key_tmpl.rsplit("}", 1)[-1] if "}" in key_tmpl else key_tmpl
    if p.steps[0].get("op") in UNPACK:
        tail = ""  # a member may have any name
    if b.suffix is not None and not (tail.endswith(b.suffix) or b.suffix.endswith(tail)):
        return False
    return True


def validate(data: Any, file: str = "<string>", lines: dict[tuple[Any, ...], int] | None = None) -> Document:
    """Validate a loaded YAML document; raise InvalidPipelines listing every problem."""
    c = _Collector(file, lines or {})
    if not isinstance(data, dict):
        c.add((), "expected a mapping with 'pipelines' and/or 'bindings'")
        raise InvalidPipelines(c.problems)
    data = _unicode(data, (), c)
    pipelines: list[tuple[int, Pipeline]] = []
    for i, raw in enumerate(data.get("pipelines") or []):
        if isinstance(raw, dict) and isinstance(raw.get("steps"), list):
            raw = {**raw, "steps": _check_steps(raw["steps"], ("pipelines", i, "steps"), c)}
        p = _model(Pipeline, raw, ("pipelines", i), c)
        if p is not None:
            pipelines.append((i, p))
    bindings = [(k, b) for k, raw in enumerate(data.get("bindings") or []) if (b := _model(Binding, raw, ("bindings", k), c))]
    _check_semantics(pipelines, bindings, c)
    if c.problems:
        raise InvalidPipelines(sorted(c.problems, key=lambda p: (p.file, p.line)))
    return Document(pipelines=[p for _, p in pipelines], bindings=[b for _, b in bindings])


def _unicode(value: Any, path: tuple[Any, ...], c: _Collector) -> Any:
    """Every text of the document as real Unicode. YAML reads "\\ud800\\udc00" (a JSON-style
    escape of one character) as two halves of a pair: they are joined. A half alone can be
    no character: it is a problem at its field (the engine could not even be asked about it)."""
    if isinstance(value, dict):
        return {_unicode(k, path, c): _unicode(v, path + (k,), c) for k, v in value.items()}
    if isinstance(value, list):
        return [_unicode(v, path + (j,), c) for j, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        half = next(ch for ch in value if "\ud800" <= ch <= "\udfff")
        c.add(path, f"not valid Unicode: half of a surrogate pair alone (\\u{ord(half):04x}); write the character itself")
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)


def _model(cls: type[BaseModel], raw: Any, path: tuple[Any, ...], c: _Collector) -> Any:
    try:
        return cls.model_validate(raw)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            if loc[:1] == ("steps",) and len(loc) > 2:
                continue  # step contents are checked by the engine, with better messages
            c.add(path + loc, err["msg"])
        return None


def _check_steps(raw_steps: list[Any], path: tuple[Any, ...], c: _Collector) -> list[dict[str, Any]]:
    """Normalise and check each step alone, then their order; returns the normalised steps."""
    steps, ok = [], True
    for j, raw in enumerate(raw_steps):
        step, err = _normalize_step(raw)
        if step is None:
            c.add(path + (j,), err or "bad step")
            ok = False
            continue
        steps.append(step)
        try:
            engine.check_step(step)
        except engine.EngineError as e:
            ok = False
            where, msg = _step_error(e, path + (j,), step["op"])
            c.add(where, msg)
    if ok and steps:
        try:
            engine.check_plan(steps)
        except engine.PlanError as e:
            j = min(e.step, len(steps) - 1)
            c.add(path + (j, steps[j]["op"]), re.sub(r"^plan: step \d+: ", "", str(e)))
    return steps


def _check_semantics(pipelines: list[tuple[int, Pipeline]], bindings: list[tuple[int, Binding]], c: _Collector) -> None:
    names: dict[str, int] = {}
    for i, p in pipelines:
        if p.name in names:
            c.add(("pipelines", i, "name"), f"duplicate pipeline name {p.name!r} (also pipelines[{names[p.name]}])")
        names.setdefault(p.name, i)
        for msg in _template_problems(p):
            c.add(("pipelines", i, "output"), msg)
    _check_pools(pipelines, c)
    seen: dict[tuple[str, str, str | None, str | None], int] = {}
    for k, b in bindings:
        if b.pipeline not in names:
            c.add(("bindings", k, "pipeline"), f"unknown pipeline {b.pipeline!r}; defined: {', '.join(sorted(names)) or 'none'}")
        ident = (b.bucket, b.prefix, b.suffix, b.glob)
        if ident in seen:
            c.add(("bindings", k), f"ambiguous: bindings[{seen[ident]}] watches the same bucket, prefix and suffix")
        seen.setdefault(ident, k)
    # Outputs feed bindings: p → the pipeline of every binding p's output can land under. A chain
    # (unzip → thumbnail) is fine; a cycle back to p would run for ever.
    feeds: dict[str, list[tuple[int, Binding]]] = {}
    for _, p in pipelines:
        inputs = {b.bucket for _, b in bindings if b.pipeline == p.name}
        feeds[p.name] = [(k, b) for k, b in bindings if _lands_under(p, b, inputs)]
    for i, p in pipelines:
        for k, b in feeds[p.name]:
            if b.pipeline == p.name or _reaches(feeds, b.pipeline, p.name):
                via = "" if b.pipeline == p.name else f", whose pipeline {b.pipeline!r} leads back here"
                c.add(
                    ("pipelines", i, "output"),
                    f"output {p.output!r} can land under bindings[{k}] ({b.bucket}/{b.prefix}…){via}: it would trigger itself forever",
                )
                break


def _reaches(feeds: dict[str, list[tuple[int, Binding]]], start: str, goal: str) -> bool:
    """Whether the outputs of `start`, followed through the bindings, can start `goal`."""
    seen, todo = {start}, [start]
    while todo:
        for _, b in feeds.get(todo.pop(), []):
            if b.pipeline == goal:
                return True
            if b.pipeline not in seen:
                seen.add(b.pipeline)
                todo.append(b.pipeline)
    return False


def _check_pools(pipelines: list[tuple[int, Pipeline]], c: _Collector) -> None:
    """A pool is one kind of worker: every pipeline naming it must describe it the same way."""
    first: dict[str, tuple[int, str, Runtime]] = {}
    for i, p in pipelines:
        r = p.runtime
        if r.pool == DEFAULT_POOL:
            if r.shape != Runtime().shape:
                c.add(("pipelines", i, "runtime"), "the default pool is the pravah-worker Deployment of k8s/ and is sized there; "
                      "name a pool of your own (runtime.pool) to give these jobs other workers")
            continue
        if r.min_workers > r.max_workers:
            c.add(("pipelines", i, "runtime", "min_workers"), f"min_workers {r.min_workers} is more than max_workers {r.max_workers}")
        if r.pool in first and first[r.pool][2].shape != r.shape:
            j, name, other = first[r.pool]
            diff = ", ".join(f"{k} {v} here, {other.shape[k]} there" for k, v in r.shape.items() if other.shape[k] != v)
            c.add(("pipelines", i, "runtime"), f"pool {r.pool!r} is also declared by pipelines[{j}] ({name}) "
                  f"with another shape ({diff}); every pipeline of a pool must declare it alike")
        first.setdefault(r.pool, (i, p.name, r))


def load(path: str | Path) -> Document:
    """Load one YAML file, or every *.yaml / *.yml in a folder (merged), and validate it."""
    path = Path(path)
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    merged: dict[str, list[Any]] = {"pipelines": [], "bindings": []}
    lines: dict[tuple[Any, ...], int] = {}
    problems: list[Problem] = []
    origin: list[tuple[str, str, int]] = []
    for f in files:
        text = f.read_text()
        try:
            node = yaml.compose(text)
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            problems.append(Problem(str(f), mark.line + 1 if mark else 0, "", f"not valid YAML: {getattr(e, 'problem', e)}"))
            continue
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(Problem(str(f), 1, "", "expected a mapping with 'pipelines' and/or 'bindings'"))
            continue
        unknown = set(data) - {"pipelines", "bindings"}
        for u in sorted(unknown):
            problems.append(Problem(str(f), 1, u, "unknown top-level key; expected 'pipelines' and/or 'bindings'"))
        file_lines: dict[tuple[Any, ...], int] = {}
        _lines(node, (), file_lines)
        for section in ("pipelines", "bindings"):
            items = data.get(section) or []
            if not isinstance(items, list):
                problems.append(Problem(str(f), file_lines.get((section,), 0), section, "must be a list"))
                continue
            for idx, item in enumerate(items):
                new = len(merged[section])
                merged[section].append(item)
                origin.append((section, str(f), new))
                for p, ln in file_lines.items():
                    if len(p) >= 2 and p[0] == section and p[1] == idx:
                        lines[(section, new) + p[2:]] = ln
                lines[(section, new)] = file_lines.get((section, idx), 0)
    if len(files) == 1:
        name = str(files[0])
    else:
        name = str(path)
    try:
        doc = validate(merged, name, lines)
    except InvalidPipelines as e:
        problems.extend(_refile(e.problems, origin, files))
    if problems:
        raise InvalidPipelines(problems)
    return doc


def _refile(problems: list[Problem], origin: list[tuple[str, str, int]], files: list[Path]) -> list[Problem]:
    """Point each problem at the file its pipeline or binding came from."""
    if len(files) <= 1:
        return problems
    where = {(s, n): f for s, f, n in origin}
    out = []
    for p in problems:
        m = re.match(r"(pipelines|bindings)\[(\d+)\]", p.path)
        f = where.get((m.group(1), int(m.group(2)))) if m else None
        out.append(Problem(f or p.file, p.line, p.path, p.message))
    return out
