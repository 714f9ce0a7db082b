"""The API's OpenAPI 3.1 description, served at ``/api/openapi.json``.

Written out rather than generated: the routes are few, and a test checks that every route the
app serves is described here and nothing else is (tests/web/test_api.py).
"""

from __future__ import annotations

from typing import Any

from botkit import __version__

_BOT = {"name": "bot", "in": "path", "required": True, "schema": {"type": "string"}, "description": "the bot id"}
_STRATEGY = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "a strategy of the bot"}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}
_ACTION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "bot": {"type": "string"}, "action": {"type": "string"},
        "strategy": {"type": ["string", "null"]}, "who": {"type": "string"},
        "outcome": {"type": "string", "description": "pending, then what the daemon did"},
    },
}
_REFUSALS = {
    "401": {"description": "no token, or a wrong one", "content": {"application/json": {"schema": _ERROR}}},
    "403": {"description": "a session's POST without its CSRF token"},
    "404": {"description": "no such bot or strategy"},
    "409": {"description": "the bot is not running, or is still starting (its strategies not journaled yet)"},
}


def _request(summary: str, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {"post": {
        "summary": summary, "parameters": list(parameters),
        "responses": {"202": {"description": "journaled; the daemon carries it out at its next tick",
                              "content": {"application/json": {"schema": _ACTION}}}, **_REFUSALS},
    }}


def _read(summary: str, schema: dict[str, Any], *parameters: dict[str, Any]) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "parameters": list(parameters),
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
                      "401": _REFUSALS["401"], **({"404": _REFUSALS["404"]} if parameters else {})},
    }}


_STATUS = {"type": "object", "description": "as `botkit status --format json` shows one bot: state (running, "
           "degraded, stale, stopped, crashed), last_tick_age_seconds, position, equity, strategies, kill switch"}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "botkit dashboard API", "version": __version__,
             "description": "Watch and steer running botkit bots. Every call needs `Authorization: Bearer TOKEN` "
                            "(or the dashboard's session cookie and, for POST, its X-CSRF-Token header). Money "
                            "is exact JSON numbers."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/api/bots": _read("Every bot: state, last tick age, position, equity, strategies, kill switch",
                           {"type": "array", "items": _STATUS}),
        "/api/bots/{bot}": _read(
            "One bot: status, strategies' health, open orders, recent fills, risk rejections, last errors, recent "
            "actions, equity and position series",
            {"type": "object", "properties": {key: {"type": "array"} for key in (
                "strategies", "open_orders", "fills", "rejections", "errors", "actions", "equity", "position")}
             | {"status": _STATUS}}, _BOT),
        "/api/bots/{bot}/actions": _read("The bot's recent control actions: who asked what, when, what came of it",
                                         {"type": "array", "items": _ACTION}, _BOT),
        "/api/bots/{bot}/strategies/{name}/pause": _request(
            "Pause a strategy and cancel its open orders", _BOT, _STRATEGY),
        "/api/bots/{bot}/strategies/{name}/resume": _request("Resume a paused strategy", _BOT, _STRATEGY),
        "/api/bots/{bot}/kill-switch/trip": _request("Halt new orders (until reset or the next UTC day)", _BOT),
        "/api/bots/{bot}/kill-switch/reset": _request("Allow new orders again", _BOT),
        "/api/bots/{bot}/orders/cancel-all": _request("Cancel every open order of the bot", _BOT),
        "/api/bots/{bot}/stop": _request("Stop the bot gracefully (as SIGTERM does)", _BOT),
        "/api/openapi.json": {"get": {"summary": "This description", "responses": {"200": {"description": "OK"}}}},
    },
}
