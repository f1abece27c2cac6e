"""``maestro-py``: the Python worker's command line."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

from . import api
from .codec import PayloadKeyError
from .task import tasks_of
from .worker import WorkerSettings, register, run_worker


def main(argv: list[str] | None = None) -> int:
    """``maestro-py worker --module M [--task-queue Q] [--namespace NS] [--no-register]``."""
    parser = argparse.ArgumentParser(prog="maestro-py", description="Maestro's Python task worker")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="register a module's tasks with Maestro and serve them")
    worker.add_argument("--module", required=True, help="the Python module defining the tasks (importable)")
    worker.add_argument("--task-queue", help="default: MAESTRO_PY_TASK_QUEUE, else maestro-py-<namespace>")
    worker.add_argument(
        "--namespace", help="the Maestro namespace the tasks belong to (default: MAESTRO_NAMESPACE, else default)"
    )
    worker.add_argument("--no-register", action="store_true", help="serve the tasks without registering them")
    args = parser.parse_args(argv)

    sys.path.insert(0, ".")
    try:
        module = importlib.import_module(args.module)
        definitions = tasks_of(module)
        if not definitions:
            raise ValueError(f"module {args.module} defines no @task")
        settings = WorkerSettings.from_env(args.namespace, args.task_queue)
        if not args.no_register:
            register(settings, definitions)
    except (ImportError, ValueError, PayloadKeyError, OSError, api.RegistrationError) as error:
        print(f"maestro-py: {error}", file=sys.stderr)
        return 2
    asyncio.run(run_worker(settings, definitions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
