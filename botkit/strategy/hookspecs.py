"""Every botkit hook, in one place.

A strategy is a plugin that implements :func:`botkit_on_snapshot`; the other hooks are optional.
Implementations may accept fewer arguments than the spec names (pluggy passes only those they
declare), so specs can grow without breaking strategies. The engine calls each strategy's own
implementations with that strategy's own ``ctx``, one strategy at a time, so that a strategy that
raises cannot take another down; :func:`botkit_check_intent` is the exception: every plugin's
implementation sees every strategy's intents.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from botkit.model import Fill, Intent, Order, PlaceOrder, Snapshot
    from botkit.strategy.bars import Bar
    from botkit.strategy.context import StrategyContext

PROJECT = "botkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------- lifecycle


@hookspec
def botkit_on_start(ctx: StrategyContext) -> None:
    """Called once per run, after start-up reconciliation and before the first snapshot.

    :param ctx: the strategy's context (params, state, balances, open orders, clock, logger).
    Not firstresult: every strategy's implementation is called.
    """


@hookspec
def botkit_on_stop(ctx: StrategyContext) -> None:
    """Called once when the run stops, before open orders are cancelled or left.

    :param ctx: the strategy's context. Not firstresult.
    """


# --------------------------------------------------------------------------- market data


@hookspec
def botkit_on_snapshot(snapshot: Snapshot, ctx: StrategyContext) -> Iterable[Intent] | None:
    """The central hook: decide what to do on this market snapshot.

    :param snapshot: ticker, order book and recent trades at ``snapshot.ts`` (immutable).
    :param ctx: the strategy's context, current as of this tick.
    :returns: an iterable of intents (``botkit.buy``, ``botkit.sell``, ``botkit.cancel``,
        ``botkit.cancel_all``), or None for nothing. Not firstresult: each strategy is asked.
    """


@hookspec
def botkit_on_bar(bar: Bar, ctx: StrategyContext) -> Iterable[Intent] | None:
    """A bar of a timeframe the strategy declared in ``TIMEFRAMES`` has closed.

    Called after the same tick's :func:`botkit_on_snapshot`, once per closed bar, in time order
    (a shorter timeframe first when two close together); ``ctx.history(bar.timeframe)`` already
    ends with it. A bar without trades is ``from_mid``; one botkit saw nothing of is ``missing``
    (its prices are None).

    :param bar: the closed bar (exact OHLC, volumes, VWAP, the book at its close).
    :param ctx: the strategy's context, current as of this tick.
    :returns: intents, as from :func:`botkit_on_snapshot`. Not firstresult: each strategy is asked.
    """


# --------------------------------------------------------------------------- orders and fills


@hookspec
def botkit_on_order_update(order: Order, ctx: StrategyContext) -> None:
    """One of the strategy's orders changed status (placed, partially filled, filled, canceled).

    :param order: the order as the venue now reports it (``order.tag`` is the strategy's tag).
    :param ctx: the strategy's context. Not firstresult.
    """


@hookspec
def botkit_on_fill(fill: Fill, order: Order, ctx: StrategyContext) -> None:
    """One new execution of one of the strategy's orders; each fill is delivered exactly once.

    :param fill: the execution (price, quantity, fee in USD, maker or taker, time).
    :param order: the order it belongs to, after the fill.
    :param ctx: the strategy's context. Not firstresult.
    """


@hookspec
def botkit_on_rejection(intent: Intent, reason: str, ctx: StrategyContext) -> None:
    """An intent of the strategy was refused (validation, a risk rule, or the exchange).

    :param intent: the refused intent.
    :param reason: why, in words (also journaled).
    :param ctx: the strategy's context. Not firstresult.
    """


# --------------------------------------------------------------------------- risk


@hookspec
def botkit_check_intent(intent: PlaceOrder, snapshot: Snapshot, ctx: StrategyContext) -> str | None:
    """A pre-trade check: return a reason to refuse this order, or None to let it pass.

    Called for every order intent of every strategy, after botkit's built-in risk rules (which
    are themselves an implementation of this hook). Any reason refuses the order; an
    implementation that raises or returns anything but a string or None refuses it too, under
    rule ``risk`` (fail closed).

    :param intent: the order the strategy wants to place.
    :param snapshot: the snapshot it was decided on.
    :param ctx: the context of the strategy that produced it. Not firstresult: all checks run.
    """
