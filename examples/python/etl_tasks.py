"""The sample ETL task: Parquet from S3, aggregated with DuckDB, written back as Parquet.

Serve it with ``maestro-py worker --module etl_tasks`` (from this folder); the workflow
``etl-workflow.yaml`` validates its rows with ``tasks/schema.validate`` and hands them to SIG with
``connectors/sig.ingest``.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from maestro_sdk import TaskContext, TaskError, task
from pydantic import BaseModel, Field

COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
MAX_OBJECT_BYTES = 256 * 1024 * 1024
MAX_ITEMS = 500


class Aggregate(BaseModel):
    endpoint: str = Field(pattern=r"^https?://", description="the S3 endpoint, e.g. http://127.0.0.1:7070")
    region: str = "us-east-1"
    bucket: str = Field(min_length=3, max_length=63)
    source_key: str = Field(min_length=1, max_length=1024, description="a Parquet object")
    target_key: str = Field(min_length=1, max_length=1024)
    group_by: str = Field(pattern=COLUMN)
    sum_column: str = Field(pattern=COLUMN)
    # The names of the namespace's secrets holding the credentials, not the credentials.
    access_key_secret: str = "S3_ACCESS_KEY_ID"  # noqa: S105
    secret_key_secret: str = "S3_SECRET_ACCESS_KEY"  # noqa: S105


class Item(BaseModel):
    id: str
    payload: dict[str, Any]


class Aggregated(BaseModel):
    rows_in: int
    groups: int
    target_key: str
    items: list[Item] = Field(description=f"one per group (the first {MAX_ITEMS}), for connectors/sig.ingest")


def aggregate_parquet(data: bytes, group_by: str, sum_column: str) -> tuple[int, pa.Table]:
    """Rows in, and ``group_by, rows, total`` per group (sorted), from Parquet bytes.

    Raises:
        TaskError: ``INVALID_DATA`` when the data is not Parquet or lacks a column.
    """
    try:
        # Single-threaded: a threaded read of an in-memory file leaves clean-up work behind that
        # aborts the interpreter at exit ("terminate called without an active exception",
        # apache/arrow#33975); one object per attempt gains nothing from threads.
        table = pq.read_table(io.BytesIO(data), use_threads=False)
    except pa.ArrowException as error:
        raise TaskError(f"the source is not Parquet: {error}", code="INVALID_DATA") from None
    missing = [column for column in (group_by, sum_column) if column not in table.column_names]
    if missing:
        raise TaskError(f"the source has no column {', '.join(missing)}", code="INVALID_DATA")
    with duckdb.connect() as con:
        con.register("source", table)
        # The names are checked against COLUMN, then quoted: no SQL comes from the input.
        result = con.sql(
            f'SELECT "{group_by}" AS "{group_by}", count(*) AS rows, sum("{sum_column}") AS total '  # noqa: S608
            f"FROM source GROUP BY 1 ORDER BY 1"
        ).to_arrow_table()
    return table.num_rows, result


@task(name="py/parquet-aggregate", version="0.1.0", deterministic=True)
async def parquet_aggregate(inp: Aggregate, ctx: TaskContext) -> Aggregated:
    """Reads a Parquet object from S3, sums a column per group with DuckDB, writes the result back as Parquet."""
    s3 = boto3.client(
        "s3",
        endpoint_url=inp.endpoint,
        region_name=inp.region,
        aws_access_key_id=await ctx.secrets(inp.access_key_secret),
        aws_secret_access_key=await ctx.secrets(inp.secret_key_secret),
    )

    def read() -> bytes:
        head = s3.head_object(Bucket=inp.bucket, Key=inp.source_key)
        if int(head["ContentLength"]) > MAX_OBJECT_BYTES:
            raise TaskError(
                f"{inp.source_key} is over {MAX_OBJECT_BYTES} bytes",
                code="INVALID_DATA",
            )
        body: bytes = s3.get_object(Bucket=inp.bucket, Key=inp.source_key)["Body"].read(MAX_OBJECT_BYTES + 1)
        return body

    data = await asyncio.to_thread(read)
    ctx.logger.info("read", bucket=inp.bucket, key=inp.source_key, bytes=len(data))
    ctx.heartbeat({"phase": "aggregate"})
    rows_in, result = await asyncio.to_thread(aggregate_parquet, data, inp.group_by, inp.sum_column)
    out = io.BytesIO()
    pq.write_table(result, out)
    await asyncio.to_thread(s3.put_object, Bucket=inp.bucket, Key=inp.target_key, Body=out.getvalue())
    ctx.logger.info("wrote", key=inp.target_key, rows_in=rows_in, groups=result.num_rows)
    ctx.emit(
        {
            "type": "dataset.written",
            "bucket": inp.bucket,
            "key": inp.target_key,
            "rows": result.num_rows,
        }
    )
    items = [Item(id=str(row[inp.group_by]), payload=row) for row in result.slice(0, MAX_ITEMS).to_pylist()]
    return Aggregated(rows_in=rows_in, groups=result.num_rows, target_key=inp.target_key, items=items)
