import asyncio
import io
import uuid
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etl_tasks import aggregate_parquet, parquet_aggregate
from maestro_sdk.testing import TaskFailure, run_task


def client(s3: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=s3["endpoint"],
        region_name=s3["region"],
        aws_access_key_id=s3["access"],
        aws_secret_access_key=s3["secret"],
    )


def parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


SALES = pa.table(
    {
        "region": ["eu", "us", "eu", "apac", "us", "eu"],
        "amount": [10, 5, 2.5, 7, 1, 0.5],
    }
)


def test_aggregates_parquet_from_s3_and_writes_the_result_back(
    s3: dict[str, str],
) -> None:
    bucket = f"sales-{uuid.uuid4().hex[:8]}"
    c = client(s3)
    c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="sales.parquet", Body=parquet(SALES))
    secrets = {"S3_ACCESS_KEY_ID": s3["access"], "S3_SECRET_ACCESS_KEY": s3["secret"]}
    inp = {
        "endpoint": s3["endpoint"],
        "bucket": bucket,
        "source_key": "sales.parquet",
        "target_key": "by-region/sales.parquet",
        "group_by": "region",
        "sum_column": "amount",
    }
    result = asyncio.run(run_task(parquet_aggregate, inp, secrets=secrets))
    expected = [
        {"region": "apac", "rows": 1, "total": 7.0},
        {"region": "eu", "rows": 3, "total": 13.0},
        {"region": "us", "rows": 2, "total": 6.0},
    ]
    assert result.output == {
        "rows_in": 6,
        "groups": 3,
        "target_key": "by-region/sales.parquet",
        "items": [{"id": row["region"], "payload": row} for row in expected],
    }
    written = pq.read_table(
        io.BytesIO(c.get_object(Bucket=bucket, Key="by-region/sales.parquet")["Body"].read()),
        use_threads=False,
    )
    assert written.to_pylist() == expected
    assert result.events == [
        {
            "type": "dataset.written",
            "bucket": bucket,
            "key": "by-region/sales.parquet",
            "rows": 3,
        }
    ]
    assert s3["secret"] not in repr(result.logs)


def test_a_missing_column_or_not_parquet_is_invalid_data() -> None:
    with pytest.raises(Exception, match="no column nope"):
        aggregate_parquet(parquet(SALES), "region", "nope")
    with pytest.raises(Exception, match="not Parquet"):
        aggregate_parquet(b"not parquet at all", "region", "amount")


def test_a_column_name_cannot_inject_sql() -> None:
    inp = {
        "endpoint": "http://127.0.0.1:1",
        "bucket": "abc",
        "source_key": "a",
        "target_key": "b",
        "group_by": 'region" FROM x; --',
        "sum_column": "amount",
    }
    with pytest.raises(TaskFailure) as failure:
        asyncio.run(run_task(parquet_aggregate, inp))
    assert failure.value.code == "INVALID_INPUT"
