""":class:`Sandbox`, the embeddable whole (exchange + API + simulated market + store) that tests,
``botkit run`` and the ``botkit sandbox`` command start and stop, served by
:class:`botkit.core.http_server.HttpServer` (waitress, with connection limits a hostile client cannot
get around). Stopping loses nothing: the server finishes the requests it holds, then the state is
saved.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from botkit.core.http_server import ConnectionLimits, HttpServer
from botkit.sandbox.accounts import USER, SandboxAccount
from botkit.sandbox.admin import AdminApi
from botkit.sandbox.api import SandboxApi
from botkit.sandbox.clock import Clock
from botkit.sandbox.exchange import ChangeSet, Exchange
from botkit.sandbox.faults import Faults, Stats
from botkit.sandbox.fees import FeeSchedule
from botkit.sandbox.market import SimulatedMarket
from botkit.sandbox.ratelimit import RateLimiter
from botkit.sandbox.store import Store
from botkit.sandbox.wsgi import Environ, StartResponse

log = logging.getLogger("botkit.sandbox")

DEMO_BALANCES = {"USD": Decimal(100_000), "BTC": Decimal(10)}
DEMO_META_KEY = "demo_key"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Sandbox:
    """The local exchange, embeddable: ``start()`` serves it on a background thread.

    ``market`` is ``"sim"`` (simulated participants, stepped every ``market_interval`` seconds;
    0 = only when :meth:`SimulatedMarket.step` is called) or ``"off"`` (empty book).
    ``state_path`` keeps the whole exchange in a SQLite file; without it, memory only.
    ``rate_limit`` is calls a minute per key (0 = off), bursting to ``rate_limit_capacity``
    (default five times the rate). ``public_url`` is the base URL clients address when it is not
    scheme + Host (behind a proxy); signatures are checked against it. ``limits`` bounds the
    connections (:class:`~botkit.core.http_server.ConnectionLimits`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        market: str = "sim",
        seed: int = 1,
        state_path: str | Path | None = None,
        maker_fee_bps: Decimal = Decimal("10"),
        taker_fee_bps: Decimal = Decimal("20"),
        rate_limit: int = 120,
        accounts: list[SandboxAccount] | None = None,
        faults: Faults | None = None,
        admin: bool = False,
        market_interval: float = 0.2,
        *,
        rate_limit_capacity: int | None = None,
        public_url: str | None = None,
        deposit_delay: float = 5.0,
        withdraw_delay: float = 5.0,
        start_price: Decimal = Decimal("400"),
        threads: int = 8,
        save_interval: float = 1.0,
        clock: Clock | None = None,
        order_history: int = 2000,
        limits: ConnectionLimits | None = None,
    ) -> None:
        if market not in ("sim", "off"):
            raise ValueError(f"market must be 'sim' or 'off', not {market!r}")
        self.host = host
        self._requested_port = port
        self.seed = seed
        self.market_interval = market_interval
        self.save_interval = save_interval
        self.threads = threads
        self.limits = limits or ConnectionLimits()
        self.exchange = Exchange(
            FeeSchedule(Decimal(maker_fee_bps), Decimal(taker_fee_bps)),
            clock=clock,
            deposit_delay_ms=round(deposit_delay * 1000),
            withdraw_delay_ms=round(withdraw_delay * 1000),
            order_history=order_history,
        )
        self.state_path = None if state_path is None else Path(state_path)
        self.store: Store | None = None
        self._unsaved: ChangeSet | None = None
        if state_path is not None:
            self.store = Store(state_path)
        try:
            if self.store is not None:
                self.store.load(self.exchange)
                self.exchange.track_changes()
            self.faults = faults if faults is not None else Faults()
            if self.faults.seed is None:
                self.faults.reseed(seed)
            self.stats = Stats(store_status=self.store_status)
            self.limiter = RateLimiter(rate_limit, rate_limit_capacity, clock)
            self.demo_account: SandboxAccount | None = None
            for spec in accounts or []:
                self.exchange.add_account(spec)
            if not accounts:
                self.demo_account = self._demo_account()
            self.market: SimulatedMarket | None = None
            if market == "sim":
                self.market = SimulatedMarket(self.exchange, seed=seed, start_price=Decimal(start_price))
                if self.market.steps == 0:
                    self.market.step()  # the first client must already see a two-sided book
            admin_api = AdminApi(self.exchange, self.faults, self.stats, self._step_market if self.market else None,
                                 names=(host, urlsplit(public_url).hostname or "" if public_url else ""))
            if admin and not _is_loopback(host):
                log.warning("the sandbox's /admin endpoints have no authentication and are served on %s, an "
                            "address other machines may reach: anyone who can connect can change accounts "
                            "and balances (bind --host 127.0.0.1, or turn --admin off)", host)
            self.app = SandboxApi(
                self.exchange,
                faults=self.faults,
                stats=self.stats,
                limiter=self.limiter,
                public_url=public_url,
                admin=admin_api if admin else None,
            )
            self._server: HttpServer | None = None
            self._stop = threading.Event()
            self._threads: list[threading.Thread] = []
        except BaseException:  # give the state file up: another Sandbox of this process may want it
            if self.store is not None:
                self.store.close()
            raise

    def _demo_account(self) -> SandboxAccount:
        """The demo account: the same one again when the state file already has it."""
        exchange = self.exchange
        with exchange.lock:
            key = exchange.meta.get(DEMO_META_KEY)
            credentials = exchange.credentials(key) if key else None
            if key and credentials is not None:
                return SandboxAccount(key, credentials[0], exchange.balances(key), credentials[1])
            spec = SandboxAccount.random(DEMO_BALANCES)
            exchange.add_account(spec)
            exchange.meta[DEMO_META_KEY] = spec.key
            return spec

    def _step_market(self, count: int) -> None:
        assert self.market is not None
        self.market.step(count)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Any:
        """The sandbox is also a plain WSGI app (for mounting it in another server)."""
        return self.app(environ, start_response)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Serve on a background thread; returns the base URL (``http://HOST:PORT``)."""
        if self._server is not None:
            return self.base_url
        self._stop.clear()
        if self.store is None and self.state_path is not None:  # started again after stop()
            self.store = Store(self.state_path, pending=self._unsaved)
            self._unsaved = None
        self._server = HttpServer(self.app, self.host, self._requested_port, self.threads,
                                  ident="botkit-sandbox", limits=self.limits)
        self._server.start()
        if self.market is not None and self.market_interval > 0:
            self._spawn("sandbox-market", self.market.run, self._stop, self.market_interval)
        if self.store is not None and self.save_interval > 0:
            self._spawn("sandbox-saver", self._save_loop)
        log.info("sandbox listening on %s", self.base_url)
        return self.base_url

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _save_loop(self) -> None:
        while not self._stop.wait(self.save_interval):
            try:
                self.save()
            except Exception:
                log.exception("saving the sandbox state failed")

    def save(self) -> bool:
        """Write what changed to the state file now; False when the write failed (the changes
        are kept for the next save). True without ``state_path``."""
        return self.store.save(self.exchange) if self.store is not None else True

    def store_status(self) -> dict[str, Any] | None:
        """The state file's save counters (``save_failures``, ``unsaved_changes``,
        ``last_save_error``...); None without a state file."""
        return self.store.status() if self.store is not None else None

    def stop(self) -> bool:
        """Stop serving and the market, save the state, join every thread, give up the state
        file. False when the last changes could not be saved (they are logged; a ``start()``
        again retries them, and the file still holds its last saved moment, consistent)."""
        self._stop.set()
        if self._server is not None:
            self._server.stop()
            self._server = None
        for thread in self._threads:
            thread.join()
        self._threads = []
        saved = True
        if self.store is not None:
            saved = self.save()
            if not saved:
                log.error("%d changes could not be saved to %s (%s); the file holds the exchange as of "
                          "its last successful save", self.store.unsaved_changes, self.store.name,
                          self.store.last_save_error)
                self._unsaved = self.store.unsaved()
            self.store.close()
            self.store = None
        return saved

    close = stop

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ accessors

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not serving: call start() first")
        return self._server.port

    @property
    def base_url(self) -> str:
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def http(self) -> HttpServer:
        """The HTTP server (its counters of connections closed for idling or dribbling)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not serving: call start() first")
        return self._server

    @property
    def running(self) -> bool:
        return self._server is not None

    def add_account(self, account: SandboxAccount) -> None:
        """Provision another account (at any time, also while serving)."""
        self.exchange.add_account(account, kind=USER)
