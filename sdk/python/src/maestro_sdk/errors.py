"""The error a task raises to fail its attempt with a code of its choosing."""

from __future__ import annotations

import re

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class TaskError(Exception):
    """Fails the attempt with ``code`` (SCREAMING_SNAKE) as the Temporal failure's type.

    ``retryable=False`` (the default) stops the retries: the run fails at once. Any other
    exception a task raises fails the attempt as a retryable ``TASK_FAILED``.
    """

    def __init__(self, message: str, code: str = "TASK_FAILED", retryable: bool = False) -> None:
        if not _CODE.match(code):
            raise ValueError(f"TaskError code {code!r} must be SCREAMING_SNAKE_CASE (at most 64 characters)")
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
