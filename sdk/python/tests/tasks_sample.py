"""Tasks the SDK's tests (pytest and test/peers/python-worker.test.ts) run."""

import asyncio

from maestro_sdk import TaskContext, TaskError, task
from pydantic import BaseModel, Field


class Greet(BaseModel):
    name: str = Field(max_length=100)


class Greeting(BaseModel):
    greeting: str


@task(name="py/hello", version="0.1.0", deterministic=True)
async def hello(inp: Greet, ctx: TaskContext) -> Greeting:
    """Greets."""
    ctx.logger.info("greeting", name=inp.name, attempt=ctx.attempt)
    ctx.emit({"type": "greeted", "name": inp.name})
    if inp.name == "fail":
        raise TaskError("asked to fail", code="GREETING_REFUSED")
    if inp.name == "crash":
        raise RuntimeError("boom")
    return Greeting(greeting=f"Hello, {inp.name}!")


class Wait(BaseModel):
    seconds: float


class Waited(BaseModel):
    cancelled: bool


@task(name="py/wait", version="0.1.0")
async def wait(inp: Wait, ctx: TaskContext) -> Waited:
    """Sleeps, heartbeating its progress; says whether it was cancelled."""
    try:
        for step in range(int(inp.seconds * 10)):
            ctx.heartbeat({"step": step})
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        ctx.logger.warn("cancelled", seen=ctx.cancelled)
        raise
    return Waited(cancelled=ctx.cancelled)


class Lookup(BaseModel):
    secret: str
    host: str | None = None
    lines: int = 1


class Looked(BaseModel):
    length: int


@task(name="py/secret", version="0.1.0")
async def secret(inp: Lookup, ctx: TaskContext) -> Looked:
    """Resolves a secret and logs it (to prove it is redacted)."""
    value = await ctx.secrets(inp.secret, host=inp.host)
    for line in range(inp.lines):
        ctx.logger.info(f"using {value}", value=value, nested={"list": [value, "ok"]}, line=line)
    ctx.emit({"type": "used", "value": value})
    return Looked(length=len(value))


class Anything(BaseModel):
    kind: str


@task(name="py/bad-output", version="1.0.0")
async def bad_output(inp: Anything, ctx: TaskContext) -> Greeting:
    """Returns what its output model refuses."""
    return {"nope": inp.kind}  # type: ignore[return-value]
