import asyncio

import pytest
import tasks_sample
from maestro_sdk.context import MAX_LOG_BYTES, MAX_LOG_LINES
from maestro_sdk.testing import TaskFailure, run_task, start_task


def test_runs_a_task_and_captures_its_logs_and_events() -> None:
    result = asyncio.run(run_task(tasks_sample.hello, {"name": "Ada"}, attempt=2))
    assert result.output == {"greeting": "Hello, Ada!"}
    [line] = result.logs
    assert line["level"] == "info" and line["message"] == "greeting"
    assert line["fields"] == {"name": "Ada", "attempt": 2}
    assert line["ts"].endswith("Z")
    assert result.events == [{"type": "greeted", "name": "Ada"}]


def test_bad_input_fails_before_the_code_runs() -> None:
    with pytest.raises(TaskFailure) as failure:
        asyncio.run(run_task(tasks_sample.hello, {"name": 42}))
    assert failure.value.code == "INVALID_INPUT"
    assert not failure.value.retryable
    assert "name: Input should be a valid string" in failure.value.message
    assert failure.value.logs == [], "the task's code never ran"


def test_a_task_error_keeps_its_code_and_other_errors_are_retryable() -> None:
    with pytest.raises(TaskFailure) as refused:
        asyncio.run(run_task(tasks_sample.hello, {"name": "fail"}))
    assert (refused.value.code, refused.value.retryable, refused.value.message) == (
        "GREETING_REFUSED",
        False,
        "asked to fail",
    )
    assert refused.value.details()["events"] == [{"type": "greeted", "name": "fail"}]
    assert refused.value.details()["logs"][0]["message"] == "greeting"
    with pytest.raises(TaskFailure) as crashed:
        asyncio.run(run_task(tasks_sample.hello, {"name": "crash"}))
    assert (crashed.value.code, crashed.value.retryable, crashed.value.message) == (
        "TASK_FAILED",
        True,
        "RuntimeError: boom",
    )


def test_an_output_its_model_refuses_is_invalid_output() -> None:
    with pytest.raises(TaskFailure) as failure:
        asyncio.run(run_task(tasks_sample.bad_output, {"kind": "x"}))
    assert (failure.value.code, failure.value.retryable) == ("INVALID_OUTPUT", False)


def test_secret_values_are_redacted_from_logs_events_and_messages() -> None:
    result = asyncio.run(run_task(tasks_sample.secret, {"secret": "db"}, secrets={"db": "hunter2"}))
    assert result.output == {"length": 7}
    text = repr(result.logs) + repr(result.events)
    assert "hunter2" not in text
    assert result.logs[0]["message"] == "using [REDACTED]"
    assert result.logs[0]["fields"]["nested"] == {"list": ["[REDACTED]", "ok"]}
    assert result.events == [{"type": "used", "value": "[REDACTED]"}]
    hosted = asyncio.run(
        run_task(tasks_sample.secret, {"secret": "db", "host": "h.example"}, secrets={"db@h.example": "other"})
    )
    assert hosted.output == {"length": 5}
    with pytest.raises(TaskFailure) as missing:
        asyncio.run(run_task(tasks_sample.secret, {"secret": "nope"}, secrets={}))
    assert (missing.value.code, missing.value.retryable) == ("SECRET_NOT_FOUND", False)


def test_logs_are_bounded_with_a_last_line_counting_those_dropped() -> None:
    result = asyncio.run(run_task(tasks_sample.secret, {"secret": "s", "lines": 5_000}, secrets={"s": "x" * 100}))
    assert len(result.logs) <= MAX_LOG_LINES
    assert sum(len(repr(line)) for line in result.logs) <= MAX_LOG_BYTES * 1.1
    last = result.logs[-1]
    assert last["level"] == "warn" and "log lines dropped" in last["message"]
    assert last["fields"]["dropped"] + len(result.logs) - 1 == 5_000


def test_cancellation_reaches_the_task_as_asyncio_cancellation() -> None:
    async def scenario() -> None:
        running = start_task(tasks_sample.wait, {"seconds": 30})
        await asyncio.sleep(0.3)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running.result()

    asyncio.run(scenario())


def test_heartbeats_are_recorded() -> None:
    result = asyncio.run(run_task(tasks_sample.wait, {"seconds": 0.3}))
    assert result.output == {"cancelled": False}
    assert result.heartbeats == [{"step": 0}, {"step": 1}, {"step": 2}]


def test_events_need_a_type() -> None:
    from maestro_sdk.context import AttemptRecord

    record = AttemptRecord()
    for bad in ({}, {"type": ""}, {"type": 3}):
        with pytest.raises(ValueError, match="type"):
            record.emit(bad)
