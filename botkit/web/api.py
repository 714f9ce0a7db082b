"""The JSON API under ``/api``: what the dashboard shows, and operators' requests to a bot.

Reads go through the journal's query functions (:mod:`botkit.journal.dashboard`, the status of
``botkit status``); a request is journaled (:mod:`botkit.journal.control`) and answered 202: the
bot's daemon carries it out at its next tick, and ``GET /api/bots/{bot}/actions`` tells what came
of it. Money is written as exact JSON numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from botkit.core import jsonutil
from botkit.journal import control, dashboard
from botkit.journal.status import BotStatus, read_status


class ExactJSON(JSONResponse):
    """JSON with Decimals as their exact digits (``botkit.jsonutil``)."""

    def render(self, content: Any) -> bytes:
        return jsonutil.dumps(content).encode()


@dataclass(frozen=True)
class Scope:
    """What the app serves: the journal, which bots (None: all), when a running bot is stale."""

    engine: Engine
    bots: frozenset[str] | None
    stale_after_ms: int

    def statuses(self, only: str | None = None) -> list[BotStatus]:
        """The bots served (or bot ``only``, if served)."""
        bots = self.bots if only is None else ({only} if self.bots is None or only in self.bots else set())
        return read_status(self.engine, time.time_ns() // 1_000_000, self.stale_after_ms, bots)

    def status(self, bot: str) -> BotStatus | None:
        return next(iter(self.statuses(bot)), None)


RUNNING = ("running", "degraded", "stale")
"""States whose daemon may carry out a request (a stale one, once it ticks again; if it died
instead, its next run does not carry out what was asked before it started)."""


def not_found(what: str) -> Response:
    return ExactJSON({"error": what}, status_code=404)


def routes(scope: Scope) -> list[Route]:
    def bots(_request: Request) -> Response:
        return ExactJSON([s.as_row() for s in scope.statuses()])

    def bot(request: Request) -> Response:
        status = scope.status(request.path_params["bot"])
        if status is None:
            return not_found(f"no bot {request.path_params['bot']!r} here")
        return ExactJSON(detail(scope.engine, status))

    def actions(request: Request) -> Response:
        name = request.path_params["bot"]
        if scope.status(name) is None:
            return not_found(f"no bot {name!r} here")
        with scope.engine.connect() as conn:
            return ExactJSON(control.recent(conn, name, limit=50))

    return [
        Route("/api/bots", bots, methods=["GET"]),
        Route("/api/bots/{bot}", bot, methods=["GET"]),
        Route("/api/bots/{bot}/actions", actions, methods=["GET"]),
        Route("/api/bots/{bot}/strategies/{name}/pause", _action(scope, "pause"), methods=["POST"]),
        Route("/api/bots/{bot}/strategies/{name}/resume", _action(scope, "resume"), methods=["POST"]),
        Route("/api/bots/{bot}/kill-switch/trip", _action(scope, "trip_kill_switch"), methods=["POST"]),
        Route("/api/bots/{bot}/kill-switch/reset", _action(scope, "reset_kill_switch"), methods=["POST"]),
        Route("/api/bots/{bot}/orders/cancel-all", _action(scope, "cancel_all"), methods=["POST"]),
        Route("/api/bots/{bot}/stop", _action(scope, "stop"), methods=["POST"]),
    ]


def detail(engine: Engine, status: BotStatus) -> dict[str, Any]:
    """Everything the dashboard shows of one bot, read on one connection."""
    bot = status.bot
    with engine.connect() as conn:
        return {
            "status": status.as_row(),
            "strategies": dashboard.strategies(conn, bot),
            "open_orders": dashboard.open_orders(conn, bot),
            "fills": dashboard.recent_fills(conn, bot),
            "rejections": dashboard.recent_rejections(conn, status.run_id),
            "errors": dashboard.last_errors(conn, bot),
            "actions": control.recent(conn, bot, limit=10),
            "equity": dashboard.equity_series(conn, status.run_id),
            "position": dashboard.position_series(conn, bot),
        }


def _action(scope: Scope, action: str) -> Callable[[Request], Response]:
    """The endpoint of one request: refused (404, 409) when it cannot reach a running bot."""

    def endpoint(request: Request) -> Response:
        name = request.path_params["bot"]
        status = scope.status(name)
        if status is None:
            return not_found(f"no bot {name!r} here")
        if status.state not in RUNNING:
            return ExactJSON({"error": f"bot {name} is {status.state}, not running: nobody would carry it out"},
                             status_code=409)
        strategy = request.path_params.get("name")
        if strategy is not None and not status.strategies:
            # The run's strategies are journaled once they have started (after reconciliation and
            # their on_start): until then nobody can tell which it runs, and "none" would be false.
            return ExactJSON({"error": f"bot {name} is starting: its strategies are not journaled yet (or it "
                                       "runs none); try again in a moment"}, status_code=409)
        if strategy is not None and strategy not in {s.health.strategy for s in status.strategies}:
            return not_found(f"bot {name} runs no strategy {strategy!r}")
        who = str(request.state.who)
        now = time.time_ns() // 1_000_000
        action_id = control.request(scope.engine, name, action, who, now, strategy)
        return ExactJSON({"id": action_id, "bot": name, "action": action, "strategy": strategy, "who": who,
                          "outcome": "pending"}, status_code=202)

    return endpoint

