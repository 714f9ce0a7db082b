"""The simulated market: participants that keep a live, two-sided BTC_USD book with depth and
trades, so a bot has something to trade against and a recording looks like a market.

Everything is driven by one seeded RNG and advances only in :meth:`SimulatedMarket.step`, so a
run is reproducible (the sandbox calls ``step`` on a timer; a test calls it directly). Each step:

1. **Fair value** moves: a random walk of about 1 bp per step, pulled gently back to the start
   price (mean reversion with a half-life of hours), clamped to half..double the start price.
2. **Market makers** (three, from tight and small to wide and deep) quote ladders of limit
   orders around their own view of fair value. A maker re-centres its ladder only when fair
   value has moved past its threshold, so quotes go stale and get picked off like real ones;
   levels that were taken are refilled with some probability each step.
3. **Noise traders** rest passive orders at random distances from fair value, each canceled
   after a random lifetime.
4. **Takers** arrive at random (about one step in three): mostly marketable limit orders that
   take the touch and cancel what is left, sometimes true market orders (a ``USD_BTC`` sell to
   buy, a market sell to sell). They lean towards fair value, so prices follow it.

Prices and sizes are integer cents and satoshis; the RNG's floats only decide *which* integer.
The participants trade through the same :class:`~botkit.sandbox.exchange.Exchange` calls as any
bot, from accounts of kind ``market`` (unreachable over HTTP, no order history kept).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import threading
from dataclasses import dataclass, field
from decimal import Decimal

from botkit.core import money
from botkit.sandbox import units
from botkit.sandbox.accounts import MARKET, SandboxAccount
from botkit.sandbox.errors import ApiError
from botkit.sandbox.exchange import Exchange

log = logging.getLogger("botkit.sandbox.market")

SIGMA_BPS = 1
"""Standard deviation of fair value's move per step, in basis points."""
REVERSION = 1e-5
"""Fraction of the distance back to the start price closed per step."""
TAKER_PROBABILITY = 0.3
NOISE_PROBABILITY = 0.25
LOT = 10_000
"""Sizes are whole 0.0001 BTC, as people type them."""
PARTICIPANT_BALANCES = {"USD": Decimal(1_000_000_000), "BTC": Decimal(1_000_000)}


@dataclass(frozen=True, slots=True)
class MakerProfile:
    half_spread_bps: int
    step_bps: int
    levels: int
    min_size: int
    """Satoshis."""
    max_size: int
    requote_bps: int
    """How far fair value may drift from the ladder's centre before the maker re-centres."""
    refill: float
    """Chance per step of refilling a level that was taken."""


MAKERS = (
    MakerProfile(half_spread_bps=4, step_bps=3, levels=5, min_size=5_000_000, max_size=60_000_000,
                 requote_bps=2, refill=0.7),
    MakerProfile(half_spread_bps=10, step_bps=6, levels=5, min_size=20_000_000, max_size=250_000_000,
                 requote_bps=5, refill=0.5),
    MakerProfile(half_spread_bps=22, step_bps=15, levels=6, min_size=100_000_000, max_size=800_000_000,
                 requote_bps=12, refill=0.35),
)
TAKER_KEY = "sim-taker"
NOISE_KEY = "sim-noise"


@dataclass
class Maker:
    key: str
    profile: MakerProfile
    center: int | None = None
    quotes: dict[tuple[bool, int], str] = field(default_factory=dict)
    """(is_buy, price in cents) → order id of the maker's resting order there."""


def _bps(price: int, bps: int) -> int:
    """``bps`` of a price in cents, at least one cent."""
    return max(1, price * bps // 10_000)


class SimulatedMarket:
    """Simulated participants trading on ``exchange`` (see the module docstring)."""

    def __init__(self, exchange: Exchange, seed: int = 1, start_price: Decimal = Decimal(400)) -> None:
        anchor = units.count(Decimal(start_price), money.USD_PLACES)
        if anchor is None or anchor < 100:
            raise ValueError(f"start price must be whole cents and at least 1 USD, not {start_price}")
        self.exchange = exchange
        self.seed = seed
        self._lock = threading.Lock()
        with exchange.lock:
            meta = exchange.meta
            self.anchor = int(meta.get("market.anchor", anchor))
            self.fair = int(meta.get("market.fair", self.anchor))
            self.steps = int(meta.get("market.steps", 0))
            centers = json.loads(meta.get("market.centers", "[]"))
        self._rng = random.Random(f"botkit-market:{seed}:{self.steps}")
        self.makers = [Maker(f"sim-maker-{i + 1}", profile) for i, profile in enumerate(MAKERS)]
        for key in [m.key for m in self.makers] + [TAKER_KEY, NOISE_KEY]:
            account = SandboxAccount(key, f"unreachable-{key}", dict(PARTICIPANT_BALANCES), permissions=())
            exchange.add_account(account, kind=MARKET)
        self._noise: list[tuple[int, str]] = []
        self._adopt(centers)

    def _adopt(self, centers: list[int | None]) -> None:
        """Take back the participants' resting orders after a restart."""
        for index, maker in enumerate(self.makers):
            maker.center = centers[index] if index < len(centers) else None
            for order in self.exchange.open_orders_of(maker.key):
                spot = (order.is_buy, order.price)
                if spot in maker.quotes:
                    self._cancel(maker.key, order.order_id)
                else:
                    maker.quotes[spot] = order.order_id
        for order in self.exchange.open_orders_of(NOISE_KEY):
            self._noise.append((self.steps + self._rng.randint(20, 400), order.order_id))

    # ------------------------------------------------------------------ stepping

    def step(self, count: int = 1) -> None:
        """Advance the market ``count`` steps."""
        with self._lock:
            for _ in range(count):
                self.steps += 1
                self._move_fair_value()
                for maker in self.makers:
                    self._quote(maker)
                self._noise_trader()
                self._taker()
            with self.exchange.lock:
                self.exchange.meta.update({
                    "market.anchor": str(self.anchor),
                    "market.fair": str(self.fair),
                    "market.steps": str(self.steps),
                    "market.centers": json.dumps([m.center for m in self.makers]),
                })

    def run(self, stop: threading.Event, interval: float) -> None:
        """Step every ``interval`` seconds until ``stop`` is set (the sandbox's market thread)."""
        while not stop.wait(interval):
            try:
                self.step()
            except Exception:
                log.exception("simulated market step failed")

    def _move_fair_value(self) -> None:
        sigma = max(1, self.fair * SIGMA_BPS // 10_000)
        drift = (self.anchor - self.fair) * REVERSION
        moved = self.fair + round(self._rng.gauss(drift, sigma))
        self.fair = min(max(moved, self.anchor // 2), self.anchor * 2)

    def _quote(self, maker: Maker) -> None:
        profile = maker.profile
        recentre = maker.center is None or abs(self.fair - maker.center) > _bps(self.fair, profile.requote_bps)
        if recentre:
            maker.center = self.fair
        assert maker.center is not None
        center = maker.center
        half = _bps(center, profile.half_spread_bps)
        step = _bps(center, profile.step_bps)
        wanted: list[tuple[bool, int]] = []
        for level in range(profile.levels):
            wanted.append((True, center - half - level * step))
            wanted.append((False, center + half + level * step))
        wanted_set = set(wanted)
        for spot, order_id in list(maker.quotes.items()):
            if spot not in wanted_set:
                self._cancel(maker.key, order_id)
                del maker.quotes[spot]
            elif not self.exchange.is_open(order_id):
                del maker.quotes[spot]
        for spot in wanted:
            if spot in maker.quotes or spot[1] <= 0:
                continue
            if recentre or self._rng.random() < profile.refill:
                size = self._lots(self._rng.randint(profile.min_size, profile.max_size))
                placed = self._place(maker.key, spot[0], spot[1], size)
                if placed is not None and self.exchange.is_open(placed):
                    maker.quotes[spot] = placed

    def _noise_trader(self) -> None:
        keep = []
        for expiry, order_id in self._noise:
            if expiry <= self.steps:
                self._cancel(NOISE_KEY, order_id)
            elif self.exchange.is_open(order_id):
                keep.append((expiry, order_id))
        self._noise = keep
        rng = self._rng
        if rng.random() >= NOISE_PROBABILITY:
            return
        is_buy = rng.random() < 0.5
        offset = _bps(self.fair, rng.randint(1, 60))
        price = self.fair - offset if is_buy else self.fair + offset
        size = self._lots(rng.randint(1_000_000, 150_000_000))
        placed = self._place(NOISE_KEY, is_buy, price, size)
        if placed is not None and self.exchange.is_open(placed):
            self._noise.append((self.steps + rng.randint(20, 400), placed))

    def _taker(self) -> None:
        rng = self._rng
        if rng.random() >= TAKER_PROBABILITY:
            return
        bid, ask = self.exchange.best_prices()
        mid = (bid + ask) // 2 if bid is not None and ask is not None else self.fair
        lean = math.tanh((self.fair - mid) / _bps(self.fair, 3))
        is_buy = rng.random() < 0.5 + 0.35 * lean
        size = self._lots(min(1_000_000_000, max(100_000, int(math.exp(rng.gauss(math.log(25_000_000), 0.9))))))
        market_order = rng.random() < 0.25
        slippage = _bps(self.fair, rng.randint(0, 8))
        if is_buy:
            if ask is None:
                return
            if market_order:
                budget = units.usd(max(1, size * ask // 100_000_000))
                self._submit(TAKER_KEY, "sell", "market", None, budget, "USD_BTC")
            else:
                order_id = self._place(TAKER_KEY, True, ask + slippage, size)
                if order_id is not None:
                    self._cancel(TAKER_KEY, order_id)
        else:
            if bid is None:
                return
            if market_order:
                self._submit(TAKER_KEY, "sell", "market", None, units.btc(size), "BTC_USD")
            elif bid - slippage > 0:
                order_id = self._place(TAKER_KEY, False, bid - slippage, size)
                if order_id is not None:
                    self._cancel(TAKER_KEY, order_id)

    # ------------------------------------------------------------------ orders

    @staticmethod
    def _lots(satoshis: int) -> int:
        return max(LOT, satoshis // LOT * LOT)

    def _place(self, key: str, is_buy: bool, price: int, size: int) -> str | None:
        side = "buy" if is_buy else "sell"
        return self._submit(key, side, "limit", units.usd(price), units.btc(size), "BTC_USD")

    def _submit(
        self, key: str, side: str, order_type: str, price: Decimal | None, quantity: Decimal, instrument: str
    ) -> str | None:
        try:
            return self.exchange.submit_order(key, side, order_type, price, quantity, instrument=instrument)
        except ApiError as exc:
            log.debug("simulated %s %s refused: %s", side, order_type, exc)
            return None

    def _cancel(self, key: str, order_id: str) -> None:
        if self.exchange.is_open(order_id):
            with contextlib.suppress(ApiError):  # filled in the meantime
                self.exchange.cancel_order(key, order_id)
