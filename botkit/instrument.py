"""What a market trades in: its price and size grids, its minimum order, its currencies and fees.

Buttercoin's BTC_USD (0.01 USD prices, one-satoshi sizes, 0.0001 BTC minimum, 10/20 bps fees) was
the only market botkit knew, so its numbers were constants. A backtest on another exchange's book
must refuse what that exchange would refuse (an order off its 0.1 price grid, below its 0.001
minimum), so the grid travels with the data: a snapshot file carries its :class:`Instrument`, and
the simulated venue, intent validation, risk and reports read it from there.

The value is frozen and exact (every number a Decimal, checked on construction), and it has one
JSON form (:meth:`Instrument.to_json` / :meth:`Instrument.from_json`: numbers as strings, so no
float ever holds an increment). :data:`BUTTERCOIN` is the default wherever no instrument is given,
so every file written before instruments existed reads as what it was: a Buttercoin recording.

The currency *labels* inside snapshot files stay the wire's ``USD``/``BTC`` (the readers check
them); ``base``/``quote`` here say what they stand for (a Binance BTCUSDT book's "USD" is USDT).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from botkit.core.errors import ConfigError
from botkit.core.money import BTC_STEP
from botkit.core.numbers import NumberError, exact_decimal
from botkit.model import MIN_QUANTITY, USD_TICK

_BPS_LIMIT = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One market's grid and fees. Fees are in basis points of the notional, botkit's unit."""

    price_increment: Decimal = USD_TICK
    size_increment: Decimal = BTC_STEP
    min_size: Decimal = MIN_QUANTITY
    base: str = "BTC"
    quote: str = "USD"
    maker_fee_bps: Decimal = Decimal(10)
    taker_fee_bps: Decimal = Decimal(20)
    exchange: str = "buttercoin"
    symbol: str = "BTC_USD"

    def __post_init__(self) -> None:
        for name in ("price_increment", "size_increment", "min_size"):
            value = _decimal(getattr(self, name), name)
            if value <= 0:
                raise ValueError(f"instrument {name} must be positive, not {value}")
            object.__setattr__(self, name, value)
        for name in ("maker_fee_bps", "taker_fee_bps"):
            value = _decimal(getattr(self, name), name)
            if not 0 <= value < _BPS_LIMIT:
                raise ValueError(f"instrument {name} must be between 0 and 10000 bps, not {value}")
            object.__setattr__(self, name, value)
        for name in ("base", "quote", "exchange", "symbol"):
            text = getattr(self, name)
            if not isinstance(text, str) or not text or len(text) > 64 or not text.isprintable():
                raise ValueError(f"instrument {name} must be 1 to 64 printable characters, not {text!r}")
        if self.min_size % self.size_increment:
            raise ValueError(f"instrument min_size {self.min_size} is not a multiple of the size increment "
                             f"{self.size_increment}")

    def price_problem(self, price: Decimal) -> str | None:
        """Why ``price`` is off this market's price grid (None when on it); for a bounded Decimal."""
        if price % self.price_increment:
            return f"price {price} is not a multiple of the {self.price_increment} {self.quote} price increment"
        return None

    def size_problem(self, size: Decimal) -> str | None:
        """Why ``size`` is off this market's size grid (None when on it); for a bounded Decimal."""
        if size % self.size_increment:
            return f"quantity {size} is not a multiple of the {self.size_increment} {self.base} size increment"
        return None

    def to_json(self) -> dict[str, str]:
        """The stored form: every field a string (numbers exact, as written)."""
        return {key: f"{value:f}" if isinstance(value, Decimal) else value for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: object, where: str) -> Instrument:
        """The instrument stored in a file; a ValueError naming ``where`` when it is not one."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: the instrument is not an object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{where}: unknown instrument fields {sorted(unknown)}")
        try:
            return cls(**{key: str(value) for key, value in data.items()})  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: {exc}") from None

    def with_options(self, **given: Any) -> Instrument:
        """This instrument with the options that were given (None: keep this one's)."""
        return replace(self, **{key: value for key, value in given.items() if value is not None})


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"instrument {what} must be exact (a Decimal or a string), not float {value!r}")
    try:
        return exact_decimal(value, f"instrument {what}")
    except NumberError as exc:
        raise ValueError(str(exc)) from None


def decimal_places(step: Decimal) -> int:
    """Decimals a multiple of ``step`` can need (0.1 → 1, 0.25 → 2, 5 → 0)."""
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


BUTTERCOIN = Instrument()
"""Buttercoin's BTC_USD: the default of every file and venue that names no instrument."""

_KNOWN_ROWS = (
    # exchange, symbol, price increment, size increment, min size, base, quote, maker bps, taker bps
    ("binance", "BTCUSDT", "0.01", "0.00001", "0.00001", "BTC", "USDT", "10", "10"),
    ("binance", "ETHUSDT", "0.01", "0.0001", "0.0001", "ETH", "USDT", "10", "10"),
    ("binance-futures", "BTCUSDT", "0.1", "0.001", "0.001", "BTC", "USDT", "2", "5"),
    ("binance-futures", "ETHUSDT", "0.01", "0.001", "0.001", "ETH", "USDT", "2", "5"),
    ("coinbase", "BTC-USD", "0.01", "0.00000001", "0.00000001", "BTC", "USD", "40", "60"),
    ("bitstamp", "btcusd", "1", "0.00000001", "0.00000001", "BTC", "USD", "30", "40"),
)
KNOWN: dict[tuple[str, str], Instrument] = {
    (exchange, symbol): Instrument(Decimal(price), Decimal(size), Decimal(minimum), base, quote, Decimal(maker),
                                   Decimal(taker), exchange, symbol)
    for exchange, symbol, price, size, minimum, base, quote, maker, taker in _KNOWN_ROWS
}
"""Known markets (exchange as Tardis and ``--exchange`` spell it, symbol as the exchange does): grids
from the exchanges' published filters and base-tier fees as of late 2026. docs/data.md lists them;
your own tier's fees or a changed filter are given with the ``--maker-fee``/``--price-increment``
options, which always win."""


def known_instrument(exchange: str, symbol: str) -> Instrument | None:
    """The documented defaults of a market, or None when botkit has none for it."""
    return KNOWN.get((exchange.lower(), symbol)) or KNOWN.get((exchange.lower(), symbol.upper()))


def instrument_for(exchange: str, symbol: str, given: Mapping[str, Any]) -> Instrument:
    """The instrument of an import: the known defaults of ``exchange``/``symbol`` with the given
    options on top; a ConfigError naming the missing options when the market is not known and they
    do not say its grid."""
    known = known_instrument(exchange, symbol)
    options = {key: value for key, value in given.items() if value is not None}
    if known is None:
        missing = [f"--{key.replace('_', '-').removesuffix('-bps')}" for key in
                   ("price_increment", "size_increment") if key not in options]
        if missing:
            raise ConfigError(" and ".join(missing), f"botkit knows no instrument for {exchange} {symbol}",
                              "give its grid with those options (and --min-size, --base, --quote, --maker-fee, "
                              "--taker-fee; see docs/data.md)")
        base = Instrument(exchange=exchange, symbol=symbol, min_size=options.get("size_increment", "0.0001"))
        return base.with_options(**options)
    return known.with_options(**options)
