"""One attempt of a task: validate the input, run the code, shape the result or the failure (the wire contract)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from .context import AttemptInfo, AttemptRecord, Runtime, TaskContext
from .errors import TaskError
from .task import TaskDefinition

MAX_MESSAGE_CHARS = 4_096


class TaskFailure(Exception):
    """An attempt that failed: its code (the Temporal failure's type), whether to retry, and what it logged."""

    def __init__(self, code: str, message: str, retryable: bool, record: AttemptRecord) -> None:
        self.message = record.redact(message)[:MAX_MESSAGE_CHARS]
        super().__init__(self.message)
        self.code = code
        self.retryable = retryable
        self.logs = record.logs()
        self.events = record.events()

    def details(self) -> dict[str, Any]:
        """``details[0]`` of the Temporal failure."""
        return {"message": self.message, "logs": self.logs, "events": self.events}


def attempt_info(arg: Any) -> AttemptInfo:
    """The attempt described by the ``context`` of the activity's argument.

    Raises:
        ValueError: when the argument is not ``{"input": …, "context": {…}}``.
    """
    context = arg.get("context") if isinstance(arg, dict) else None
    if not isinstance(arg, dict) or "input" not in arg or not isinstance(context, dict):
        raise ValueError('the argument must be {"input": ..., "context": {...}}')
    attempt = context.get("attempt", 1)
    return AttemptInfo(
        run_id=str(context.get("runId", "")),
        task_id=str(context.get("taskId", "")),
        attempt=attempt if isinstance(attempt, int) else 1,
        namespace=str(context.get("namespace", "")),
        grant=str(context.get("grant", "")),
    )


def _validation_message(error: ValidationError) -> str:
    problems = [f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['msg']}" for item in error.errors()]
    return "; ".join(problems[:20])


async def run_attempt(
    definition: TaskDefinition, arg: Any, runtime_for: Callable[[AttemptInfo], Runtime]
) -> dict[str, Any]:
    """Runs one attempt of ``definition`` on the activity argument ``arg``; returns ``{output, logs, events}``.

    Raises:
        TaskFailure: ``INVALID_INPUT`` (before the code runs), ``INVALID_OUTPUT``, the code of a
            :class:`TaskError`, or a retryable ``TASK_FAILED`` for any other exception.
        asyncio.CancelledError: when the attempt is cancelled.
    """
    record = AttemptRecord()
    try:
        info = attempt_info(arg)
        model_input = definition.input_model.model_validate(arg["input"])
    except ValueError as error:
        message = _validation_message(error) if isinstance(error, ValidationError) else str(error)
        raise TaskFailure(
            "INVALID_INPUT", f"input of {definition.name}@{definition.version}: {message}", False, record
        ) from None
    context = TaskContext(info, record, runtime_for(info))
    try:
        output = await definition.fn(model_input, context)
    except asyncio.CancelledError:
        raise
    except TaskError as error:
        raise TaskFailure(error.code, error.message, error.retryable, record) from None
    except Exception as error:
        raise TaskFailure("TASK_FAILED", f"{type(error).__name__}: {error}", True, record) from None
    try:
        checked = definition.output_model.model_validate(
            output.model_dump(mode="json") if isinstance(output, BaseModel) else output
        )
    except ValidationError as error:
        message = f"output of {definition.name}@{definition.version}: {_validation_message(error)}"
        raise TaskFailure("INVALID_OUTPUT", message, False, record) from None
    return {
        "output": record.redact_value(checked.model_dump(mode="json")),
        "logs": record.logs(),
        "events": record.events(),
    }
