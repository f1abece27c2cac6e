"""The Python side of bench/python-tasks.ts: a task that does nothing, to time the per-call overhead,
and the sample ETL task (examples/python/etl_tasks.py, on the path) for its throughput."""

from etl_tasks import parquet_aggregate  # noqa: F401 -- served by the same worker
from maestro_sdk import TaskContext, task
from pydantic import BaseModel


class Value(BaseModel):
    n: int


@task(name="bench/noop", version="0.1.0")
async def noop(inp: Value, ctx: TaskContext) -> Value:
    """Returns its input."""
    return inp
