"""The Python worker: serves a module's tasks as Temporal activities on Maestro's task queue."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, TLSConfig
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from . import api
from .codec import PayloadKey, maestro_data_converter, payload_keys_from_env
from .context import AttemptInfo, Runtime
from .runtime import TaskFailure, run_attempt
from .task import TaskDefinition

HEARTBEAT_SECONDS = 5.0
DEFAULT_DRAIN_MS = 30_000


@dataclasses.dataclass(frozen=True)
class WorkerSettings:
    """What the worker needs, from the environment (:meth:`from_env`) and the command line."""

    temporal_address: str
    temporal_namespace: str
    namespace: str
    task_queue: str
    payload_keys: Sequence[PayloadKey]
    maestro_url: str
    maestro_token: str
    drain_timeout_ms: int = DEFAULT_DRAIN_MS
    tls: TLSConfig | bool = False
    api_key: str | None = None

    @staticmethod
    def from_env(
        namespace: str | None = None, task_queue: str | None = None, env: dict[str, str] | None = None
    ) -> WorkerSettings:
        """Settings named as the TypeScript worker names them: ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``,
        ``TEMPORAL_TLS*``, ``TEMPORAL_API_KEY``, ``MAESTRO_URL``, ``MAESTRO_TOKEN``, ``MAESTRO_PAYLOAD_KEY``
        / ``MAESTRO_PAYLOAD_KEY_FILE``, ``MAESTRO_WORKER_DRAIN_TIMEOUT_MS``; ``MAESTRO_NAMESPACE`` and
        ``MAESTRO_PY_TASK_QUEUE`` unless given.

        Raises:
            ValueError: for a missing or malformed setting.
        """
        environ = dict(os.environ) if env is None else env
        ns = namespace or environ.get("MAESTRO_NAMESPACE") or "default"
        drain = environ.get("MAESTRO_WORKER_DRAIN_TIMEOUT_MS", str(DEFAULT_DRAIN_MS))
        if not drain.isdigit():
            raise ValueError("MAESTRO_WORKER_DRAIN_TIMEOUT_MS must be a number of milliseconds")
        return WorkerSettings(
            temporal_address=environ.get("TEMPORAL_ADDRESS", "localhost:7233"),
            temporal_namespace=environ.get("TEMPORAL_NAMESPACE", "default"),
            namespace=ns,
            task_queue=task_queue or environ.get("MAESTRO_PY_TASK_QUEUE") or f"maestro-py-{ns}",
            payload_keys=payload_keys_from_env(environ),
            maestro_url=environ.get("MAESTRO_URL", "http://localhost:8080"),
            maestro_token=environ.get("MAESTRO_TOKEN", ""),
            drain_timeout_ms=int(drain),
            tls=_tls_from_env(environ),
            api_key=environ.get("TEMPORAL_API_KEY") or None,
        )


def _tls_from_env(env: dict[str, str]) -> TLSConfig | bool:
    paths = {
        name: env.get(f"TEMPORAL_TLS_{name.upper()}_PATH", "")
        for name in ("client_cert", "client_key", "server_ca_cert")
    }
    server_name = env.get("TEMPORAL_TLS_SERVER_NAME") or None
    if not any(paths.values()) and not server_name:
        return env.get("TEMPORAL_TLS", "").lower() in ("1", "true", "yes")
    files = {name: Path(path).read_bytes() if path else None for name, path in paths.items()}
    return TLSConfig(
        client_cert=files["client_cert"],
        client_private_key=files["client_key"],
        server_root_ca_cert=files["server_ca_cert"],
        domain=server_name,
    )


def _runtime(settings: WorkerSettings, info: AttemptInfo) -> Runtime:
    async def secret(name: str, host: str | None) -> str:
        return await api.resolve_secret(settings.maestro_url, settings.maestro_token, info.grant, name, host)

    return Runtime(resolve_secret=secret, heartbeat=activity.heartbeat, is_cancelled=activity.is_cancelled)


def task_activity(
    definition: TaskDefinition, runtime_for: Callable[[AttemptInfo], Runtime]
) -> Callable[..., Awaitable[Any]]:
    """The Temporal activity ``maestro.task:<name>@<version>`` running ``definition``'s attempts."""

    async def run(arg: dict[str, Any]) -> dict[str, Any]:
        # The automatic heartbeats repeat the task's last details, so they do not erase its progress.
        last: list[Any] = []

        def beat(details: Any = None) -> None:
            if details is not None:
                last[:] = [details]
            activity.heartbeat(*last)

        def runtime(info: AttemptInfo) -> Runtime:
            return dataclasses.replace(runtime_for(info), heartbeat=beat)

        beating = asyncio.create_task(_heartbeat_every(beat, HEARTBEAT_SECONDS))
        try:
            return await run_attempt(definition, arg, runtime)
        except TaskFailure as failure:
            raise ApplicationError(
                failure.message, failure.details(), type=failure.code, non_retryable=not failure.retryable
            ) from None
        finally:
            beating.cancel()

    run.__name__ = run.__qualname__ = f"maestro_task_{definition.name}_{definition.version}"
    return activity.defn(name=definition.activity_name)(run)


async def _heartbeat_every(beat: Callable[[], None], seconds: float) -> None:
    """Heartbeats while the task runs, so a cancellation reaches it (and a lost worker is noticed) within seconds."""
    while True:
        beat()
        await asyncio.sleep(seconds)


async def connect(settings: WorkerSettings) -> Client:
    """A Temporal client with Maestro's data converter (the payload codec)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=maestro_data_converter(settings.payload_keys),
        tls=settings.tls,
        api_key=settings.api_key,
    )


def register(settings: WorkerSettings, definitions: Sequence[TaskDefinition]) -> None:
    """Registers every task with ``POST /tasks``.

    Raises:
        api.RegistrationError: on the first refusal (a 409 says the version must be bumped).
    """
    for definition in definitions:
        status = api.register_task(
            settings.maestro_url,
            settings.maestro_token,
            definition.registration(settings.namespace, settings.task_queue),
        )
        verb = "registered" if status == 201 else "already registered"
        print(
            f"maestro-py: {definition.name}@{definition.version} {verb} ({definition.code_digest()})", file=sys.stderr
        )


async def serve(settings: WorkerSettings, definitions: Sequence[TaskDefinition], stop: asyncio.Event) -> None:
    """Serves ``definitions`` until ``stop`` is set, then drains: stops polling and lets the
    attempts in flight finish within the drain timeout (those still running then are cancelled,
    and Temporal retries them elsewhere)."""
    client = await connect(settings)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        activities=[task_activity(definition, lambda info: _runtime(settings, info)) for definition in definitions],
        graceful_shutdown_timeout=timedelta(milliseconds=settings.drain_timeout_ms),
        max_concurrent_activities=100,
        # Temporal batches heartbeats up to 80 % of the heartbeat timeout (24 s of Maestro's 30 s):
        # sent at least every 5 s instead, a cancellation reaches the task within seconds.
        max_heartbeat_throttle_interval=timedelta(seconds=HEARTBEAT_SECONDS),
    )
    async with worker:
        names = ", ".join(f"{d.name}@{d.version}" for d in definitions)
        print(f"maestro-py: worker ready on task queue {settings.task_queue} ({names})", flush=True)
        await stop.wait()
        print("maestro-py: draining", file=sys.stderr, flush=True)


async def run_worker(settings: WorkerSettings, definitions: Sequence[TaskDefinition]) -> None:
    """:func:`serve` until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await serve(settings, definitions, stop)
