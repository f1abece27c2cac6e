"""Maestro's Python task SDK: write tasks in Python, serve them from a Python worker.

>>> from pydantic import BaseModel
>>> from maestro_sdk import task, TaskContext
>>> class Greet(BaseModel):
...     name: str
>>> class Greeting(BaseModel):
...     greeting: str
>>> @task(name="py/hello", version="0.1.0", deterministic=True)
... async def hello(inp: Greet, ctx: TaskContext) -> Greeting:
...     ctx.logger.info("greeting", name=inp.name)
...     return Greeting(greeting=f"Hello, {inp.name}!")
"""

from .context import TaskContext, TaskLogger
from .errors import TaskError
from .task import TaskDefinition, definition_of, task, tasks_of

__all__ = ["TaskContext", "TaskDefinition", "TaskError", "TaskLogger", "definition_of", "task", "tasks_of"]
