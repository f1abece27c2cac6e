"""A pytest plugin (installed with the SDK): the ``maestro_worker`` fixture starts ``maestro-py worker``.

    def test_hello(maestro_worker):
        worker = maestro_worker("mytasks", temporal_address="localhost:7233", payload_key="k1=...")
        ...  # start a workflow calling maestro.task:py/hello@0.1.0 on worker.task_queue

The worker runs as a subprocess of the test's Python, registering nothing unless ``maestro_url``
is given; it is stopped (SIGTERM, then SIGKILL) when the test ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

READY = "maestro-py: worker ready"


@dataclass
class StartedWorker:
    """A running ``maestro-py worker``."""

    process: subprocess.Popen[str]
    task_queue: str
    output: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (the worker drains), then SIGKILL after ``timeout`` seconds; returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def start_worker(
    module: str,
    *,
    temporal_address: str,
    payload_key: str,
    namespace: str = "default",
    task_queue: str | None = None,
    temporal_namespace: str = "default",
    maestro_url: str | None = None,
    token: str = "",
    cwd: str | None = None,
    ready_timeout: float = 60.0,
) -> StartedWorker:
    """Starts ``python -m maestro_sdk.cli worker --module module`` and waits until it polls.

    Raises:
        RuntimeError: when it exits or is not ready within ``ready_timeout`` seconds (with its output).
    """
    queue = task_queue or f"maestro-py-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_NAMESPACE": temporal_namespace,
        "MAESTRO_PAYLOAD_KEY": payload_key,
        "MAESTRO_URL": maestro_url or "",
        "MAESTRO_TOKEN": token,
        "PYTHONUNBUFFERED": "1",
    }
    args = [sys.executable, "-m", "maestro_sdk.cli", "worker", "--module", module, "--namespace", namespace]
    args += ["--task-queue", queue] + ([] if maestro_url else ["--no-register"])
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    worker = StartedWorker(process, queue)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            worker.output.append(line)
            if line.startswith(READY):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(ready_timeout) or process.poll() is not None:
        worker.stop(1)
        raise RuntimeError("maestro-py worker did not start:\n" + "".join(worker.output[-30:]))
    return worker


@pytest.fixture
def maestro_worker() -> Iterator[Callable[..., StartedWorker]]:
    """A function starting workers (see :func:`start_worker`); each is stopped when the test ends."""
    started: list[StartedWorker] = []

    def start(module: str, **options: Any) -> StartedWorker:
        worker = start_worker(module, **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
