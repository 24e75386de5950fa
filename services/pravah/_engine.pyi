from collections.abc import Callable
from typing import Any

__version__: str

class EngineError(Exception): ...

class PlanError(EngineError):
    step: int

class ExpressionError(EngineError):
    expr: str
    line: int
    column: int

class InputFormatError(EngineError):
    uri: str
    line: int | None
    column: int | None
    byte_offset: int | None

class StorageError(EngineError):
    uri: str

class NotFoundError(StorageError): ...

class OptionError(EngineError):
    option: str
    value: str

class LimitError(EngineError): ...
class CancelledError(EngineError): ...
class InternalError(EngineError): ...

def run(
    plan: dict[str, Any],
    input: str,
    output: str,
    options: dict[str, str] | None = None,
    progress: Callable[[dict[str, int]], bool | None] | None = None,
) -> dict[str, Any]: ...
def check_plan(plan: dict[str, Any]) -> None: ...
def check_expr(expr: str) -> None: ...
def check_step(step: dict[str, Any]) -> None: ...
def inspect(step: dict[str, Any], input: str, options: dict[str, str] | None = None, rows: int = 10) -> dict[str, Any]: ...
def scan(root: str, options: dict[str, Any], output: str | None = None, storage_options: dict[str, str] | None = None) -> dict[str, Any]: ...
def list_page(root: str, after: str | None = None, max_keys: int = 1000, storage_options: dict[str, str] | None = None) -> dict[str, Any]: ...
