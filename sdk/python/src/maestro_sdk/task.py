"""The ``@task`` decorator: a Python function as a Maestro task, with schemas from its models."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import re
import sys
import typing
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from .context import TaskContext

NAME = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9.-]*$")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
DEFAULT_TIMEOUT_MS = 600_000
_ATTRIBUTE = "__maestro_task__"

TaskFunction = Callable[[Any, "TaskContext"], Awaitable[Any]]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclasses.dataclass(frozen=True)
class TaskDefinition:
    """A task as the worker serves it and registers it with Maestro."""

    name: str
    version: str
    deterministic: bool
    description: str
    timeout_ms: int
    fn: TaskFunction
    input_model: type[BaseModel]
    output_model: type[BaseModel]

    @property
    def activity_name(self) -> str:
        """The Temporal activity type Maestro schedules: ``maestro.task:<name>@<version>``."""
        return f"maestro.task:{self.name}@{self.version}"

    def code_digest(self) -> str:
        """``sha256:<hex>`` of the code the task runs (see :func:`code_digest`)."""
        return code_digest(self.fn)

    def registration(self, namespace: str, task_queue: str) -> dict[str, Any]:
        """The body of ``POST /tasks`` registering this task in ``namespace``, served on ``task_queue``."""
        return {
            "namespace": namespace,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "language": "python",
            "inputSchema": self.input_model.model_json_schema(),
            "outputSchema": self.output_model.model_json_schema(),
            "deterministic": self.deterministic,
            "codeDigest": self.code_digest(),
            "taskQueue": task_queue,
            "timeoutMs": self.timeout_ms,
        }


def task(
    *,
    name: str,
    version: str,
    deterministic: bool = False,
    description: str | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Callable[[F], F]:
    """Declares ``async def f(inp: In, ctx: TaskContext) -> Out`` as the Maestro task ``name@version``.

    ``In`` and ``Out`` are pydantic models: their JSON Schemas are the task's input and output
    schemas. ``deterministic=True`` lets Maestro serve the task from its cache (same input, same
    code digest). The function is returned unchanged (call it directly in tests).

    Raises:
        ValueError: for a malformed name or version, or a function of another shape.
    """
    if not NAME.match(name):
        raise ValueError(f"task name {name!r} must be group/name (lower case, e.g. py/hello)")
    if not SEMVER.match(version):
        raise ValueError(f"task version {version!r} must be an exact semantic version (e.g. 0.1.0)")
    if not 1_000 <= timeout_ms <= 86_400_000:
        raise ValueError("timeout_ms must be between 1 s and 24 h")

    def decorate(fn: F) -> F:
        if not inspect.iscoroutinefunction(typing.cast(Any, fn)):
            raise ValueError(f"task {name}: {fn.__qualname__} must be an async function")
        hints = typing.get_type_hints(fn)
        parameters = list(inspect.signature(fn).parameters)
        input_model = hints.get(parameters[0]) if len(parameters) == 2 else None
        output_model = hints.get("return")
        for role, model in (("input", input_model), ("output", output_model)):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ValueError(
                    f"task {name}: {fn.__qualname__} must be `async def f(inp: Model, ctx: TaskContext) -> Model` "
                    f"with pydantic models (its {role} is not one)"
                )
        assert isinstance(input_model, type) and isinstance(output_model, type)
        definition = TaskDefinition(
            name=name,
            version=version,
            deterministic=deterministic,
            description=description if description is not None else inspect.getdoc(fn) or "",
            timeout_ms=timeout_ms,
            fn=fn,
            input_model=input_model,
            output_model=output_model,
        )
        setattr(fn, _ATTRIBUTE, definition)
        return fn

    return decorate


def definition_of(fn: Callable[..., Any]) -> TaskDefinition:
    """The definition ``@task`` attached to ``fn``.

    Raises:
        TypeError: when ``fn`` is not a task.
    """
    definition = getattr(fn, _ATTRIBUTE, None)
    if not isinstance(definition, TaskDefinition):
        raise TypeError(f"{fn!r} is not a Maestro task (decorate it with @task)")
    return definition


def tasks_of(module: ModuleType) -> list[TaskDefinition]:
    """The tasks defined at the top level of ``module``, by name and version.

    Raises:
        ValueError: when two share a ``name@version``.
    """
    found: dict[str, TaskDefinition] = {}
    for value in vars(module).values():
        definition = getattr(value, _ATTRIBUTE, None)
        if not isinstance(definition, TaskDefinition):
            continue
        key = f"{definition.name}@{definition.version}"
        if key in found and found[key].fn is not definition.fn:
            raise ValueError(f"{module.__name__} defines the task {key} twice")
        found[key] = definition
    return [found[key] for key in sorted(found)]


def code_digest(fn: Callable[..., Any]) -> str:
    """``sha256:<hex>`` over the source of the code a task runs.

    The sources are the ``.py`` files of the top-level package holding the task's module (every
    file under the package's folder, recursively), or the module's one file when it is not in a
    package. Each file adds its path relative to that folder (``/``-separated), a NUL byte, its
    bytes and a NUL byte, in the order of the sorted paths. So any change to the task's own code
    or to a helper beside it changes the digest (and misses Maestro's cache); the installed
    libraries it imports do not.
    """
    module = sys.modules.get(fn.__module__)
    source = inspect.getsourcefile(module) if module is not None else None
    if source is None:
        raise ValueError(f"the source of {fn.__module__} cannot be found to compute the task's code digest")
    top = sys.modules.get(fn.__module__.split(".")[0])
    top_file = inspect.getsourcefile(top) if top is not None else None
    if top_file is not None and Path(top_file).name == "__init__.py":
        root = Path(top_file).parent
        files = sorted(root.rglob("*.py"), key=lambda path: path.relative_to(root).as_posix())
    else:
        root = Path(source).parent
        files = [Path(source)]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return f"sha256:{digest.hexdigest()}"
