"""The ``maestro_worker`` fixture against a real Temporal server.

Runs when ``MAESTRO_TEST_TEMPORAL_ADDRESS`` names one: test/peers/python-worker.test.ts runs this
file against the test run's Temporal dev server (``npm test`` alone has none, and skips it).
"""

import asyncio
import base64
import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from maestro_sdk.codec import maestro_data_converter, parse_payload_keys
from maestro_sdk.pytest_plugin import StartedWorker
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

ADDRESS = os.environ.get("MAESTRO_TEST_TEMPORAL_ADDRESS", "")


@workflow.defn(name="maestro-py-fixture-test")
class CallTask:
    """Calls one Python task the way Maestro's interpreter does."""

    @workflow.run
    async def run(self, call: dict[str, Any]) -> Any:
        return await workflow.execute_activity(
            call["activity"],
            call["arg"],
            task_queue=call["queue"],
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=30),
        )


@pytest.mark.skipif(not ADDRESS, reason="needs MAESTRO_TEST_TEMPORAL_ADDRESS (a Temporal server)")
def test_the_fixture_starts_a_worker_serving_the_modules_tasks(maestro_worker: Callable[..., StartedWorker]) -> None:
    key = "fixture=" + base64.b64encode(os.urandom(32)).decode()
    worker = maestro_worker("tasks_sample", temporal_address=ADDRESS, payload_key=key, cwd=str(Path(__file__).parent))

    async def scenario() -> Any:
        client = await Client.connect(ADDRESS, data_converter=maestro_data_converter(parse_payload_keys(key, "test")))
        queue = f"fixture-wf-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[CallTask], workflow_runner=UnsandboxedWorkflowRunner()):
            arg = {
                "input": {"name": "pytest"},
                "context": {"runId": "r", "taskId": "t", "attempt": 1, "namespace": "default", "grant": "g"},
            }
            call = {"activity": "maestro.task:py/hello@0.1.0", "arg": arg, "queue": worker.task_queue}
            return await client.execute_workflow(CallTask.run, call, id=f"fixture-{uuid.uuid4()}", task_queue=queue)

    result = asyncio.run(scenario())
    assert result["output"] == {"greeting": "Hello, pytest!"}
    assert result["events"] == [{"type": "greeted", "name": "pytest"}]
