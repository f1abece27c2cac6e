"""Run a task in a test, without Temporal: secrets from a dict, captured logs and events, cancellation.

>>> result = await run_task(hello, {"name": "Ada"}, secrets={"token": "s3cr3t"})
>>> result.output, result.logs, result.events

A failing attempt raises :class:`TaskFailure` (its ``code``, ``retryable``, ``logs``) as the worker
would fail the Temporal activity. :func:`start_task` gives a handle to cancel a running task.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from pydantic import BaseModel

from .context import AttemptInfo, Runtime
from .errors import TaskError
from .runtime import TaskFailure, run_attempt
from .task import definition_of

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AttemptOptions", "RunningTask", "TaskFailure", "TaskResult", "run_task", "start_task"]


class AttemptOptions(TypedDict, total=False):
    """The attempt :func:`start_task` and :func:`run_task` run, all optional.

    ``secrets`` maps a secret's name (or ``name@host`` for a host-bound one) to its value (default
    none); ``run_id`` (``"test-run"``), ``task_id`` (``"test-task"``), ``attempt`` (1) and
    ``namespace`` (``"default"``) are what ``ctx`` says.
    """

    secrets: Mapping[str, str] | None
    run_id: str
    task_id: str
    attempt: int
    namespace: str


@dataclasses.dataclass(frozen=True)
class TaskResult:
    """What an attempt returned: its output (plain JSON), log lines, events and heartbeats."""

    output: Any
    logs: list[dict[str, Any]]
    events: list[dict[str, Any]]
    heartbeats: list[Any]


class RunningTask:
    """A task started by :func:`start_task`: ``cancel()`` it, ``await result()``."""

    def __init__(self, task: asyncio.Task[dict[str, Any]], heartbeats: list[Any]) -> None:
        self._task = task
        self._heartbeats = heartbeats
        self.cancelled = False

    def cancel(self) -> None:
        """Cancels the task as a cancelled run does: ``ctx.cancelled`` turns true and it gets ``asyncio.CancelledError``."""
        self.cancelled = True
        self._task.cancel()

    async def result(self) -> TaskResult:
        """The result. Raises :class:`TaskFailure`, or ``asyncio.CancelledError`` when cancelled."""
        answer = await self._task
        return TaskResult(answer["output"], answer["logs"], answer["events"], list(self._heartbeats))


def start_task(
    fn: Callable[..., Any], input: BaseModel | Mapping[str, Any], **options: Unpack[AttemptOptions]
) -> RunningTask:
    """Starts the task ``fn`` (decorated with ``@task``) on ``input`` in the running event loop.

    A secret not in ``options["secrets"]`` fails the attempt with ``SECRET_NOT_FOUND``, as Maestro
    would (see :class:`AttemptOptions`).
    """
    definition = definition_of(fn)
    known = dict(options.get("secrets") or {})
    heartbeats: list[Any] = []
    running: list[RunningTask] = []

    async def resolve(name: str, host: str | None) -> str:
        value = known.get(f"{name}@{host}") if host is not None else None
        value = value if value is not None else known.get(name)
        if value is None:
            raise TaskError(f"secret {name!r} is not found in this namespace", "SECRET_NOT_FOUND", False)
        return value

    def runtime_for(_: AttemptInfo) -> Runtime:
        return Runtime(resolve_secret=resolve, heartbeat=heartbeats.append, is_cancelled=lambda: running[0].cancelled)

    plain = input.model_dump(mode="json") if isinstance(input, BaseModel) else dict(input)
    arg = {
        "input": plain,
        "context": {
            "runId": options.get("run_id", "test-run"),
            "taskId": options.get("task_id", "test-task"),
            "attempt": options.get("attempt", 1),
            "namespace": options.get("namespace", "default"),
            "grant": "test",
        },
    }
    handle = RunningTask(asyncio.get_running_loop().create_task(run_attempt(definition, arg, runtime_for)), heartbeats)
    running.append(handle)
    return handle


async def run_task(
    fn: Callable[..., Any], input: BaseModel | Mapping[str, Any], **options: Unpack[AttemptOptions]
) -> TaskResult:
    """Runs the task ``fn`` on ``input`` to its end (see :func:`start_task`).

    Raises:
        TaskFailure: as the worker would fail the attempt (``code``, ``retryable``, ``message``, ``logs``).
    """
    return await start_task(fn, input, **options).result()
