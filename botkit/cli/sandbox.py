"""``botkit sandbox``: serve the local exchange until SIGINT or SIGTERM.

The first line printed is the base URL, once the server listens (scripts read it); then the
demo account's credentials when no ``--account`` was given. On SIGINT/SIGTERM the server stops,
the state is saved, and the command exits 0 (1 when the last save failed). A state file held by
another sandbox, or not a sandbox state file, is refused with one line and exit status 2.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import click

from botkit.core.http_server import ConnectionLimits
from botkit.core.numbers import NumberError, exact_decimal
from botkit.core.signals import on_stop_signals
from botkit.sandbox.accounts import CURRENCIES, SandboxAccount
from botkit.sandbox.faults import Faults
from botkit.sandbox.server import Sandbox
from botkit.sandbox.store import StoreError


class DecimalType(click.ParamType):  # type: ignore[type-arg]
    name = "decimal"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        try:
            return exact_decimal(value, param.name if param is not None and param.name else "value")
        except NumberError as exc:
            self.fail(exc.reason, param, ctx)


class AccountType(click.ParamType):  # type: ignore[type-arg]
    """``KEY:SECRET[:ASSET=AMOUNT,...]``, e.g. ``bot:s3cret:USD=10000,BTC=1``."""

    name = "KEY:SECRET[:ASSET=AMOUNT,...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> SandboxAccount:
        if isinstance(value, SandboxAccount):
            return value
        return parse_account(str(value), lambda message: self.fail(message, param, ctx))


def parse_account(text: str, fail: Callable[[str], Any] | None = None) -> SandboxAccount:
    """Parse one ``--account`` value (every permission is granted)."""

    def refuse(message: str) -> NoReturn:
        if fail is not None:
            fail(message)
        raise ValueError(message)

    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        refuse(f"{text!r}: expected KEY:SECRET[:ASSET=AMOUNT,...]")
    balances: dict[str, Decimal] = {}
    if len(parts) == 3 and parts[2]:
        for item in parts[2].split(","):
            asset, sep, amount = item.partition("=")
            asset = asset.strip().upper()
            if not sep or asset not in CURRENCIES:
                refuse(f"{item!r}: expected ASSET=AMOUNT with ASSET one of {', '.join(CURRENCIES)}")
            try:
                number = exact_decimal(amount.strip(), asset)
            except NumberError as exc:
                refuse(f"{item!r}: {exc.reason}")
            if number < 0:
                refuse(f"{item!r}: the amount must be a non-negative number")
            balances[asset] = number
    return SandboxAccount(key=parts[0], secret=parts[1], balances=balances)


RATE = click.FloatRange(0, 1)
DEFAULT_LIMITS = ConnectionLimits()


class StateFileRefused(click.ClickException):
    """The ``--state`` file is held by another sandbox or is not a usable state file."""

    exit_code = 2


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--state", "state", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite file holding the whole exchange; a restart continues from it. Default: memory only.")
@click.option("--market", type=click.Choice(["sim", "off"]), default="sim", show_default=True,
              help="sim: simulated traders keep a live book; off: empty book.")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the simulated market and fault rates.")
@click.option("--maker-fee-bps", type=DecimalType(), default=Decimal("10"), show_default=True)
@click.option("--taker-fee-bps", type=DecimalType(), default=Decimal("20"), show_default=True)
@click.option("--rate-limit", type=click.IntRange(0), default=120, show_default=True,
              help="Calls a minute per API key (public calls: per client address); 0 = off.")
@click.option("--rate-limit-burst", type=click.IntRange(1), default=None,
              help="Bucket size. Default: five times --rate-limit (120 → 600).")
@click.option("--account", "accounts", type=AccountType(), multiple=True,
              help="Provision KEY:SECRET[:ASSET=AMOUNT,...] with every permission (repeatable). "
                   "Without any, a demo account is created and printed.")
@click.option("--public-url", default=None, help="Base URL clients address, if not http://HOST:PORT (a proxy).")
@click.option("--admin/--no-admin", default=False, show_default=True,
              help="Enable the /admin endpoints (faults, stats, accounts). Never on a shared address.")
@click.option("--market-interval", type=click.FloatRange(0.01), default=0.2, show_default=True,
              help="Seconds between simulated market steps.")
@click.option("--start-price", type=DecimalType(), default=Decimal("400"), show_default=True,
              help="Where the simulated market's fair value starts (USD per BTC).")
@click.option("--deposit-delay", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Seconds before a wire deposit is funded.")
@click.option("--withdraw-delay", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Seconds before a withdrawal or bitcoin send completes.")
@click.option("--threads", type=click.IntRange(1), default=8, show_default=True, help="HTTP worker threads.")
@click.option("--max-connections", type=click.IntRange(1, 100_000), default=DEFAULT_LIMITS.max_connections,
              show_default=True, help="Open connections at once; more wait in the listen backlog.")
@click.option("--idle-timeout", type=click.FloatRange(1, 3600), default=DEFAULT_LIMITS.idle_timeout,
              show_default=True, help="Seconds a connection may sit idle between requests.")
@click.option("--request-deadline", type=click.FloatRange(1, 3600), default=DEFAULT_LIMITS.request_deadline,
              show_default=True, help="Seconds a request may take to arrive, from its first byte.")
@click.option("--order-history", type=click.IntRange(1), default=2000, show_default=True,
              help="Finished orders kept per account; older ones are forgotten (memory stays bounded).")
@click.option("--error-rate", type=RATE, default=0.0, help="Fault: fraction of /v1 calls answered 500/503.")
@click.option("--latency-ms", type=click.IntRange(0), default=0, help="Fault: delay added to calls.")
@click.option("--latency-rate", type=RATE, default=1.0, help="Fault: fraction of calls delayed.")
@click.option("--accept-then-drop-rate", type=RATE, default=0.0,
              help="Fault: fraction of order placements/cancels carried out, then the connection cut.")
@click.option("--drop-before-rate", type=RATE, default=0.0, help="Fault: fraction of calls cut before acting.")
@click.option("--reset-rate", type=RATE, default=0.0, help="Fault: fraction of connections reset.")
def sandbox_command(
    host: str,
    port: int,
    state: Path | None,
    market: str,
    seed: int,
    maker_fee_bps: Decimal,
    taker_fee_bps: Decimal,
    rate_limit: int,
    rate_limit_burst: int | None,
    accounts: tuple[SandboxAccount, ...],
    public_url: str | None,
    admin: bool,
    market_interval: float,
    start_price: Decimal,
    deposit_delay: float,
    withdraw_delay: float,
    threads: int,
    max_connections: int,
    idle_timeout: float,
    request_deadline: float,
    order_history: int,
    error_rate: float,
    latency_ms: int,
    latency_rate: float,
    accept_then_drop_rate: float,
    drop_before_rate: float,
    reset_rate: float,
) -> None:
    """Run the local Buttercoin-compatible exchange (REST API v1)."""
    faults = Faults(
        error_rate=error_rate,
        latency_ms=latency_ms,
        latency_rate=latency_rate,
        accept_then_drop_rate=accept_then_drop_rate,
        drop_before_rate=drop_before_rate,
        reset_rate=reset_rate,
        seed=seed,
    )
    try:
        sandbox = Sandbox(
            host=host,
            port=port,
            market=market,
            seed=seed,
            state_path=state,
            maker_fee_bps=maker_fee_bps,
            taker_fee_bps=taker_fee_bps,
            rate_limit=rate_limit,
            accounts=list(accounts),
            faults=faults,
            admin=admin,
            market_interval=market_interval,
            rate_limit_capacity=rate_limit_burst,
            public_url=public_url,
            deposit_delay=deposit_delay,
            withdraw_delay=withdraw_delay,
            start_price=start_price,
            threads=threads,
            order_history=order_history,
            limits=ConnectionLimits(max_connections, idle_timeout, request_deadline),
        )
    except StoreError as exc:
        raise StateFileRefused(str(exc)) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None

    stop = threading.Event()
    on_stop_signals(stop)
    try:
        base_url = sandbox.start()
    except OSError as exc:
        sandbox.stop()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    click.echo(public_url or base_url)
    if sandbox.demo_account is not None:
        demo = sandbox.demo_account
        click.echo(f"demo account: key={demo.key} secret={demo.secret}")
    details = [f"market={market}", f"seed={seed}", f"fees={maker_fee_bps}/{taker_fee_bps} bps"]
    details.append(f"state={state}" if state else "state=memory")
    if admin:
        details.append("admin=/admin")
    click.echo("sandbox " + " ".join(details) + " (Ctrl-C to stop)", err=True)
    while not stop.wait(0.5):
        pass
    if not sandbox.stop():
        click.echo(f"sandbox stopped; the last changes could NOT be saved to {state} (see the log above); "
                   "it holds the exchange as of its last successful save", err=True)
        raise SystemExit(1)
    click.echo("sandbox stopped" + (f"; state saved to {state}" if state else ""), err=True)
