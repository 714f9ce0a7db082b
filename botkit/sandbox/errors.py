"""The sandbox's one error type: whatever refuses a request says which HTTP answer it becomes."""

from __future__ import annotations


class ApiError(Exception):
    """A refusal with its HTTP ``status`` and the contract's error ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"
