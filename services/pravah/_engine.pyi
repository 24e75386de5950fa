from collections.abc import Callable

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
    plan: str,
    input: str,
    output: str,
    options: dict[str, str] | None = None,
    progress: Callable[[dict[str, int]], bool | None] | None = None,
) -> str: ...
def check_plan(plan: str) -> None: ...
def check_expr(expr: str) -> None: ...
def check_step(step: str) -> None: ...
def inspect(step: str, input: str, options: dict[str, str] | None = None, rows: int = 10) -> str: ...
def scan(root: str, options: str, output: str | None = None, storage_options: dict[str, str] | None = None) -> str: ...
def list_page(root: str, after: str | None = None, max_keys: int = 1000, storage_options: dict[str, str] | None = None) -> str: ...
