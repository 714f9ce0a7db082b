"""The sandbox: a local exchange that speaks the Buttercoin REST API v1 exactly.

The hosted service is gone; this is what bots, tests and newcomers trade against. One
:class:`Sandbox` is the whole exchange, embeddable in a test or served by ``botkit sandbox``::

    with Sandbox(market="off", accounts=[SandboxAccount("k", "s", {"USD": Decimal(1000)})]) as sb:
        client = ButtercoinClient("k", "s", base_url=sb.base_url)

Where each part lives:

=================  ==========================================================================
``server``         :class:`Sandbox` (embedding, lifecycle) and the waitress server
``api``            the v1 WSGI application: routing, pipeline, one handler per endpoint
``wsgi``           request/response plumbing, cutting a connection dead
``auth``           signature, 5-minute window, replay protection, permissions
``ratelimit``      token buckets per key / client address, the X-Rate-Limit headers
``faults``         fault injection switches and queue, request/fault counters
``admin``          the ``/admin`` endpoints (off unless enabled)
``exchange``       accounts, orders, fills, fees, reserves, trades, transactions: the state
``book``           the price-time priority order book and its matching loop (integers)
``fees``           the maker/taker schedule (the fee rule itself is botkit.core.money.fee)
``units``          integer cents and satoshis of the book as exact Decimals (botkit.core.money)
``orders``         the order record and its wire/domain views
``transactions``   deposits, withdrawals, bitcoin sends
``accounts``       account specs, state and permissions
``addresses``      Base58Check bitcoin addresses
``market``         the simulated participants
``store``          SQLite persistence: failed saves kept and retried, bad files refused
``cli``            the ``botkit sandbox`` command
=================  ==========================================================================
"""

from botkit.sandbox.accounts import ALL_PERMISSIONS, SandboxAccount
from botkit.sandbox.errors import ApiError
from botkit.sandbox.exchange import Exchange, ExchangeError
from botkit.sandbox.faults import Faults, Stats
from botkit.sandbox.fees import FeeSchedule
from botkit.sandbox.market import SimulatedMarket
from botkit.sandbox.server import Sandbox

__all__ = [
    "ALL_PERMISSIONS",
    "ApiError",
    "Exchange",
    "ExchangeError",
    "Faults",
    "FeeSchedule",
    "Sandbox",
    "SandboxAccount",
    "SimulatedMarket",
    "Stats",
]
