import hashlib
import sys
import types
from pathlib import Path

import pytest
import tasks_sample
from maestro_sdk import TaskContext, definition_of, task, tasks_of
from maestro_sdk.task import code_digest
from pydantic import BaseModel


def test_a_task_carries_its_schemas_and_registration() -> None:
    definition = definition_of(tasks_sample.hello)
    assert definition.activity_name == "maestro.task:py/hello@0.1.0"
    body = definition.registration("team-a", "maestro-py-team-a")
    assert body == {
        "namespace": "team-a",
        "name": "py/hello",
        "version": "0.1.0",
        "description": "Greets.",
        "language": "python",
        "inputSchema": tasks_sample.Greet.model_json_schema(),
        "outputSchema": tasks_sample.Greeting.model_json_schema(),
        "deterministic": True,
        "codeDigest": definition.code_digest(),
        "taskQueue": "maestro-py-team-a",
        "timeoutMs": 600_000,
    }
    assert body["inputSchema"]["properties"]["name"] == {"maxLength": 100, "title": "Name", "type": "string"}
    assert body["inputSchema"]["required"] == ["name"]


def test_tasks_of_lists_a_modules_tasks_by_name() -> None:
    assert [d.name for d in tasks_of(tasks_sample)] == ["py/bad-output", "py/hello", "py/secret", "py/wait"]


def test_the_code_digest_is_sha256_over_the_module_file() -> None:
    source = Path(tasks_sample.__file__)
    expected = hashlib.sha256(b"tasks_sample.py\0" + source.read_bytes() + b"\0").hexdigest()
    assert code_digest(tasks_sample.hello) == f"sha256:{expected}"


def test_the_code_digest_covers_every_file_of_the_package(tmp_path: Path) -> None:
    package = tmp_path / "digestpkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("X = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "tasks.py").write_text(
        "from pydantic import BaseModel\nfrom maestro_sdk import task, TaskContext\n"
        "class M(BaseModel):\n    x: int\n"
        "@task(name='py/digest', version='1.0.0')\nasync def t(inp: M, ctx: TaskContext) -> M:\n    return inp\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import digestpkg.sub.tasks as module  # type: ignore[import-not-found]

        before = code_digest(module.t)
        (package / "helpers.py").write_text("X = 2\n")
        assert code_digest(module.t) != before, "a helper's change changes the digest"
        assert before.startswith("sha256:") and len(before) == 7 + 64
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.startswith("digestpkg")]:
            del sys.modules[name]


class In(BaseModel):
    x: int


@pytest.mark.parametrize(
    ("name", "version"),
    [("hello", "0.1.0"), ("Py/hello", "0.1.0"), ("py/hello", "0.1"), ("py/hello", "^0.1.0"), ("py/", "1.0.0")],
)
def test_refuses_a_malformed_name_or_version(name: str, version: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        task(name=name, version=version)


def test_refuses_a_function_of_another_shape() -> None:
    def sync(inp: In, ctx: TaskContext) -> In:
        return inp

    async def untyped(inp, ctx):  # type: ignore[no-untyped-def]
        return inp

    async def returns_dict(inp: In, ctx: TaskContext) -> dict[str, int]:
        return {}

    for fn in (sync, untyped, returns_dict):
        with pytest.raises(ValueError, match="must be"):
            task(name="py/x", version="1.0.0")(fn)  # type: ignore[type-var]


def test_refuses_two_tasks_of_one_version_in_a_module() -> None:
    async def a(inp: In, ctx: TaskContext) -> In:
        return inp

    async def b(inp: In, ctx: TaskContext) -> In:
        return inp

    module = types.ModuleType("twice")
    module.a = task(name="py/x", version="1.0.0")(a)  # type: ignore[attr-defined]
    module.b = task(name="py/x", version="1.0.0")(b)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="twice"):
        tasks_of(module)
