"""What a task sees of its attempt: ``TaskContext``, its logger, and the bounds on what it returns."""

from __future__ import annotations

import datetime
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

MAX_LOG_LINES = 1_000
MAX_LOG_BYTES = 256 * 1024
MAX_EVENTS = 100
MAX_EVENT_BYTES = 64 * 1024
REDACTED = "[REDACTED]"

Level = Literal["debug", "info", "warn", "error"]


def _jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON (strings for what JSON cannot hold), at most 32 levels deep."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth >= 32:
        return "[too deep]"
    if isinstance(value, dict):
        return {str(key): _jsonable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item, depth + 1) for item in value]
    return str(value)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: _redact(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, secrets) for item in value]
    return value


class AttemptRecord:
    """The log lines and events of one attempt, bounded, with the resolved secrets redacted on the way out."""

    def __init__(self) -> None:
        self._lines: list[dict[str, Any]] = []
        self._bytes = 0
        self._dropped = 0
        self._events: list[dict[str, Any]] = []
        self._secrets: set[str] = set()

    def add_secret(self, value: str) -> None:
        """Redacts ``value`` from every line and event handed out from now on (those logged before too)."""
        if value:
            self._secrets.add(value)

    def log(self, level: Level, message: str, fields: dict[str, Any]) -> None:
        line = {
            "ts": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": level,
            "message": str(message),
            "fields": _jsonable(fields),
        }
        size = len(json.dumps(line))
        if len(self._lines) >= MAX_LOG_LINES - 1 or self._bytes + size > MAX_LOG_BYTES - 256:
            self._dropped += 1
            return
        self._lines.append(line)
        self._bytes += size

    def emit(self, event: dict[str, Any]) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str) or not event["type"]:
            raise ValueError('an event is a dict with a non-empty string "type"')
        plain = _jsonable(event)
        if len(self._events) >= MAX_EVENTS or len(json.dumps(plain)) > MAX_EVENT_BYTES:
            raise ValueError(f"at most {MAX_EVENTS} events of {MAX_EVENT_BYTES} bytes each per attempt")
        self._events.append(plain)

    def redact(self, text: str) -> str:
        """``text`` with the resolved secrets replaced by ``[REDACTED]``."""
        result: str = self.redact_value(text)
        return result

    def redact_value(self, value: Any) -> Any:
        """``value`` (plain JSON) with the resolved secrets replaced by ``[REDACTED]`` in its strings."""
        return _redact(value, sorted(self._secrets, key=len, reverse=True))

    def logs(self) -> list[dict[str, Any]]:
        """The lines (secrets redacted), and one last ``warn`` line counting those dropped over the bounds."""
        # Longest first, so a secret containing another is replaced whole.
        secrets = sorted(self._secrets, key=len, reverse=True)
        lines = [_redact(line, secrets) for line in self._lines]
        if self._dropped:
            lines.append(
                {
                    "ts": datetime.datetime.now(datetime.timezone.utc)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "level": "warn",
                    "message": f"{self._dropped} log lines dropped: an attempt keeps at most "
                    f"{MAX_LOG_LINES} lines and {MAX_LOG_BYTES // 1024} KiB",
                    "fields": {"dropped": self._dropped},
                }
            )
        return lines

    def events(self) -> list[dict[str, Any]]:
        """The events (secrets redacted)."""
        secrets = sorted(self._secrets, key=len, reverse=True)
        return [_redact(event, secrets) for event in self._events]


class TaskLogger:
    """Structured log lines into the run's task log: ``ctx.logger.info("message", key=value)``."""

    def __init__(self, record: AttemptRecord) -> None:
        self._record = record

    def debug(self, message: str, **fields: Any) -> None:
        self._record.log("debug", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._record.log("info", message, fields)

    def warn(self, message: str, **fields: Any) -> None:
        self._record.log("warn", message, fields)

    warning = warn

    def error(self, message: str, **fields: Any) -> None:
        self._record.log("error", message, fields)


@dataclass(frozen=True)
class AttemptInfo:
    """Which attempt runs: from the ``context`` Maestro sends with the input."""

    run_id: str
    task_id: str
    attempt: int
    namespace: str
    grant: str


@dataclass(frozen=True)
class Runtime:
    """How a context reaches the outside: the worker's (Temporal, the Maestro API) or a test's."""

    resolve_secret: Callable[[str, str | None], Awaitable[str]]
    heartbeat: Callable[[Any], None]
    is_cancelled: Callable[[], bool]


class TaskContext:
    """What a task's code gets beside its input: which attempt, a logger, secrets, heartbeats, events."""

    def __init__(self, info: AttemptInfo, record: AttemptRecord, runtime: Runtime) -> None:
        self._info = info
        self._record = record
        self._runtime = runtime
        self.logger = TaskLogger(record)

    @property
    def run_id(self) -> str:
        return self._info.run_id

    @property
    def task_id(self) -> str:
        return self._info.task_id

    @property
    def attempt(self) -> int:
        return self._info.attempt

    @property
    def namespace(self) -> str:
        return self._info.namespace

    @property
    def cancelled(self) -> bool:
        """True once the run (or this attempt) is cancelled; the task also gets ``asyncio.CancelledError``."""
        return self._runtime.is_cancelled()

    async def secrets(self, name: str, host: str | None = None) -> str:
        """The value of the namespace's secret ``name`` (bound to ``host`` when the secret is host-bound).

        The value is redacted from this attempt's logs and events.

        Raises:
            TaskError: ``SECRET_FORBIDDEN``, ``SECRET_NOT_FOUND`` or ``GRANT_EXPIRED``.
        """
        value = await self._runtime.resolve_secret(name, host)
        self._record.add_secret(value)
        return value

    def heartbeat(self, details: Any = None) -> None:
        """Tells Temporal the task is alive (the worker also does every 5 s), with optional progress details."""
        self._runtime.heartbeat(details)

    def emit(self, event: dict[str, Any]) -> None:
        """Adds an event (a dict with a string ``type``) to the attempt's result.

        Raises:
            ValueError: for an event without a type, or over the bounds (100 events, 64 KiB each).
        """
        self._record.emit(event)
