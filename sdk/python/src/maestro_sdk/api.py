"""The two calls a Python worker makes to the Maestro API: ``POST /tasks`` and ``POST /tasks/secrets``."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from .errors import TaskError

MAX_RESPONSE_BYTES = 1024 * 1024
TIMEOUT_SECONDS = 10.0


class RegistrationError(Exception):
    """Maestro refused to register a task (``TASK_VERSION_CONFLICT`` on 409, or another problem)."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _post(url: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POSTs ``body`` as JSON with the Bearer token; returns the status and the JSON answer ({} when not JSON)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"MAESTRO_URL must be an http(s) URL, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status, raw = response.status, response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read(MAX_RESPONSE_BYTES + 1)
    if len(raw) > MAX_RESPONSE_BYTES:
        return status, {}
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        answer = {}
    return status, answer if isinstance(answer, dict) else {}


def register_task(maestro_url: str, token: str, registration: dict[str, Any]) -> int:
    """Registers one task (the body of ``POST /tasks``); returns 201 (new) or 200 (already, identical).

    Raises:
        RegistrationError: on 409 (``name@version`` registered with other content) or any other refusal.
    """
    status, answer = _post(f"{maestro_url.rstrip('/')}/tasks", token, registration)
    if status in (200, 201):
        return status
    key = f"{registration.get('name')}@{registration.get('version')}"
    code = str(answer.get("code", "HTTP_" + str(status)))
    detail = str(answer.get("detail", answer.get("title", "")))
    if status == 409:
        message = f"{key} is already registered in Maestro with other content: bump the version ({code}: {detail})"
    else:
        message = f"registering {key} failed: HTTP {status} {code}: {detail}"
    raise RegistrationError(message, status, code)


async def resolve_secret(maestro_url: str, token: str, grant: str, name: str, host: str | None) -> str:
    """The value of the secret ``name`` under the attempt's ``grant``.

    Raises:
        TaskError: ``SECRET_FORBIDDEN``, ``SECRET_NOT_FOUND`` (neither retryable), ``GRANT_EXPIRED``,
            or ``SECRET_UNAVAILABLE`` when the API cannot be reached (both retryable: a retry has a new grant).
    """
    body: dict[str, Any] = {"grant": grant, "name": name}
    if host is not None:
        body["host"] = host
    try:
        status, answer = await asyncio.to_thread(_post, f"{maestro_url.rstrip('/')}/tasks/secrets", token, body)
    except (OSError, ValueError) as error:
        raise TaskError(
            f"secret {name!r}: the Maestro API cannot be reached ({error})", "SECRET_UNAVAILABLE", True
        ) from None
    value = answer.get("value")
    if status == 200 and isinstance(value, str):
        return value
    code = str(answer.get("code", ""))
    if status == 401 or code == "GRANT_EXPIRED":
        raise TaskError(f"secret {name!r}: the attempt's grant is expired or invalid", "GRANT_EXPIRED", True)
    if status == 404 or code == "SECRET_NOT_FOUND":
        raise TaskError(f"secret {name!r} is not found in this namespace", "SECRET_NOT_FOUND", False)
    if status == 403 or code == "SECRET_FORBIDDEN":
        raise TaskError(f"secret {name!r} is not allowed to this task (or host)", "SECRET_FORBIDDEN", False)
    raise TaskError(f"secret {name!r}: HTTP {status} from the Maestro API", "SECRET_UNAVAILABLE", True)
