import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import tasks_sample
from maestro_sdk import api, definition_of
from maestro_sdk.errors import TaskError
from maestro_sdk.worker import WorkerSettings, register

KEY = "k=" + "A" * 43 + "="


class FakeMaestro:
    """A local HTTP server standing in for the Maestro API's two routes; records what it got."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
                status, answer = outer.answers.pop(0) if outer.answers else (201, {})
                data = json.dumps(answer).encode()
                self.send_response(status)
                content_type = "application/json" if status < 400 else "application/problem+json"
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def maestro() -> Iterator[FakeMaestro]:
    fake = FakeMaestro()
    yield fake
    fake.server.shutdown()


def settings(url: str) -> WorkerSettings:
    env = {"MAESTRO_URL": url, "MAESTRO_TOKEN": "op-token", "MAESTRO_PAYLOAD_KEY": KEY}
    return WorkerSettings.from_env("team-a", None, env)


def test_registers_each_task_with_post_tasks(maestro: FakeMaestro) -> None:
    maestro.answers = [(201, {}), (200, {})]
    definitions = [definition_of(tasks_sample.hello), definition_of(tasks_sample.wait)]
    register(settings(maestro.url), definitions)
    assert [r["path"] for r in maestro.requests] == ["/tasks", "/tasks"]
    assert maestro.requests[0]["auth"] == "Bearer op-token"
    body = maestro.requests[0]["body"]
    assert body == definitions[0].registration("team-a", "maestro-py-team-a")
    assert body["codeDigest"].startswith("sha256:") and body["taskQueue"] == "maestro-py-team-a"


def test_a_409_fails_registration_loudly(maestro: FakeMaestro) -> None:
    maestro.answers = [(409, {"code": "TASK_VERSION_CONFLICT", "detail": "py/hello@0.1.0 differs"})]
    with pytest.raises(api.RegistrationError, match="bump the version") as error:
        register(settings(maestro.url), [definition_of(tasks_sample.hello)])
    assert (error.value.status, error.value.code) == (409, "TASK_VERSION_CONFLICT")
    maestro.answers = [(403, {"code": "FORBIDDEN", "detail": "operator role needed"})]
    with pytest.raises(api.RegistrationError, match="HTTP 403 FORBIDDEN"):
        register(settings(maestro.url), [definition_of(tasks_sample.hello)])


def test_resolves_a_secret_with_the_attempts_grant(maestro: FakeMaestro) -> None:
    maestro.answers = [(200, {"value": "s3cret"})]
    value = asyncio.run(api.resolve_secret(maestro.url, "worker-token", "GRANT", "db", "db.example"))
    assert value == "s3cret"
    assert maestro.requests == [
        {
            "path": "/tasks/secrets",
            "auth": "Bearer worker-token",
            "body": {"grant": "GRANT", "name": "db", "host": "db.example"},
        }
    ]


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (403, "SECRET_FORBIDDEN", False),
        (404, "SECRET_NOT_FOUND", False),
        (401, "GRANT_EXPIRED", True),
        (500, "SECRET_UNAVAILABLE", True),
    ],
)
def test_a_refused_secret_is_a_task_error(maestro: FakeMaestro, status: int, code: str, retryable: bool) -> None:
    maestro.answers = [(status, {"code": code if status != 500 else "INTERNAL"})]
    with pytest.raises(TaskError) as error:
        asyncio.run(api.resolve_secret(maestro.url, "t", "g", "db", None))
    assert (error.value.code, error.value.retryable) == (code, retryable)
    assert "host" not in maestro.requests[0]["body"]


def test_an_unreachable_api_is_a_retryable_secret_error() -> None:
    with pytest.raises(TaskError) as error:
        asyncio.run(api.resolve_secret("http://127.0.0.1:9", "t", "g", "db", None))
    assert (error.value.code, error.value.retryable) == ("SECRET_UNAVAILABLE", True)
    with pytest.raises(TaskError):
        asyncio.run(api.resolve_secret("file:///etc/passwd", "t", "g", "db", None))


def test_settings_default_the_task_queue_from_the_namespace() -> None:
    assert settings("http://x").task_queue == "maestro-py-team-a"
    env = {"MAESTRO_PAYLOAD_KEY": KEY, "MAESTRO_PY_TASK_QUEUE": "q", "MAESTRO_WORKER_DRAIN_TIMEOUT_MS": "5000"}
    explicit = WorkerSettings.from_env(None, None, env)
    assert (explicit.namespace, explicit.task_queue, explicit.drain_timeout_ms, explicit.tls) == (
        "default",
        "q",
        5000,
        False,
    )
    with pytest.raises(ValueError, match="DRAIN"):
        WorkerSettings.from_env(None, None, {**env, "MAESTRO_WORKER_DRAIN_TIMEOUT_MS": "soon"})
