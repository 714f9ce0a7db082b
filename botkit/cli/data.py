"""``botkit data``: snapshot files: import, convert, generate, check."""

from __future__ import annotations

import logging
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from botkit.cli.options import fail_cleanly
from botkit.core.errors import DataFileError
from botkit.core.numbers import NumberError, exact_decimal
from botkit.core.times import iso_ms
from botkit.data.store import MAX_LEVELS

log = logging.getLogger("botkit.backtest")



@click.group()
def data() -> None:
    """Snapshot files: import, convert, generate, check."""


@data.command("convert")
@click.argument("src", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("dst", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--levels", type=click.IntRange(min=1, max=MAX_LEVELS),
              help="Book levels a side in a store (default: the deepest).")
@click.option("--strict", is_flag=True, help="Stop at the first unreadable line instead of skipping it.")
@fail_cleanly
def data_convert(src: Path, dst: Path, levels: int | None, strict: bool) -> None:
    """Convert SRC to DST, the formats chosen by suffix.

    \b
    .jsonl .ndjson          JSON Lines
    .jsonl.gz .ndjson.gz    JSON Lines, gzip-compressed
    .bks                    the fast store (integer cents and satoshis)

    Every line is checked in full; a value the store cannot hold exactly is an error.
    """
    from botkit.core import logs
    from botkit.data.files import convert

    logs.configure("text", "WARNING")
    result = convert(src, dst, levels=levels, strict=strict)
    click.echo(f"{result.snapshots} snapshot(s) written to {dst}"
               + (f", {result.bad_lines} unreadable line(s) skipped" if result.bad_lines else ""), err=True)


@data.command("generate")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--snapshots", "count", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--levels", default=20, show_default=True, type=click.IntRange(min=1, max=MAX_LEVELS))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--interval-ms", default=1000, show_default=True, type=click.IntRange(min=1))
@click.option("--trades", "trades_kept", default=10, show_default=True, type=click.IntRange(min=0),
              help="Length of each snapshot's trades list (0: none).")
@fail_cleanly
def data_generate(out: Path, count: int, levels: int, seed: int, interval_ms: int, trades_kept: int) -> None:
    """Write a seeded synthetic market (for tests and benchmarks) to OUT."""
    from botkit.data.generate import generate

    generate(out, count, levels=levels, seed=seed, interval_ms=interval_ms, trades_kept=trades_kept)
    click.echo(f"{count} snapshot(s) written to {out}", err=True)


@data.command("check")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@fail_cleanly
def data_check(path: Path) -> None:
    """Read every line of a snapshot file in full and report what is wrong with it."""
    from botkit.core import logs
    from botkit.data.files import open_snapshots
    from botkit.data.jsonl import check_snapshot
    from botkit.data.store import StoreReader

    logs.configure("text", "WARNING")
    reader = open_snapshots(path)
    count = bad = 0
    first = last = None
    for snapshot in reader:
        try:
            check_snapshot(snapshot)
        except DataFileError as exc:
            bad += 1
            log.warning("%s", exc)
            continue
        count += 1
        first = snapshot.ts if first is None else first
        last = snapshot.ts
    bad += reader.bad_lines
    span = "" if first is None or last is None else f", {(last - first) / 1000:.0f} s of market"
    unchecked = isinstance(reader, StoreReader) and not reader.checksummed
    note = " (store format 1: it carries no checksum, so a damaged value may pass)" if unchecked else ""
    click.echo(f"{path}: {count} good snapshot(s), {bad} bad{span}{note}")
    if unchecked:
        click.echo(f"botkit data convert {path} NEW.bks writes the checksummed format 2", err=True)
    if bad:
        sys.exit(1)


@data.command("sandbox-sample")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--snapshots", "count", default=3600, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=1, show_default=True, type=int)
@fail_cleanly
def data_sandbox_sample(out: Path, count: int, seed: int) -> None:
    """Record the sandbox's simulated market to OUT on a hand-stepped clock (how the sample is made)."""
    from botkit.backtest.sample import record_sample

    record_sample(out, count, seed=seed)
    click.echo(f"{count} snapshot(s) of the sandbox's market written to {out}", err=True)


# --------------------------------------------------------------------------- import

FIX = ("fix the rows named above (or the file's shape), or rerun with --strict to stop at the first; "
       "see docs/data.md")


def _decimal(context: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return exact_decimal(value, f"--{param.name}")
    except NumberError as exc:
        raise click.BadParameter(str(exc)) from None


@data.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", required=True, type=click.Choice(["tardis", "binance", "csv"]),
              help="The dataset's format.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Snapshot file to write: .jsonl[.gz] or .bks (the store).")
@click.option("--force", is_flag=True, help="Replace --out when it exists.")
@click.option("--clock", type=click.Choice(["local", "exchange"]), default="local", show_default=True,
              help="Tardis: local_timestamp (receive time) or timestamp (exchange time); Binance bookTicker: "
                   "event_time or transaction_time. local is the files' own order and what a bot would have seen.")
@click.option("--strict", is_flag=True, help="Stop at the first bad row instead of skipping and counting it.")
@click.option("--exchange", help="The market's exchange (default: from the data; for instrument defaults).")
@click.option("--symbol", help="The market's symbol (default: from the data or a Binance file's name).")
@click.option("--columns", multiple=True, metavar="FIELD=COLUMN,...",
              help="csv: ts=,bid=,ask=,bid_size=,ask_size= (quotes) or ts=,price=,amount=[,side=] (trades); "
                   "once for all files or once per file.")
@click.option("--ts-unit", type=click.Choice(["s", "ms", "us", "ns"]), default="ms", show_default=True,
              help="csv: the unit of the ts column.")
@click.option("--price-increment", callback=_decimal, help="The market's price grid (e.g. 0.1).")
@click.option("--size-increment", callback=_decimal, help="The market's size grid (e.g. 0.001).")
@click.option("--min-size", callback=_decimal, help="The smallest order size.")
@click.option("--base", help="The currency traded (e.g. BTC).")
@click.option("--quote", help="The currency prices are in (e.g. USDT).")
@click.option("--maker-fee", callback=_decimal, help="Maker fee in bps of the notional.")
@click.option("--taker-fee", callback=_decimal, help="Taker fee in bps of the notional.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@fail_cleanly
def data_import(files: tuple[Path, ...], fmt: str, out: Path, force: bool, clock: str, strict: bool,
                exchange: str | None, symbol: str | None, columns: tuple[str, ...], ts_unit: str,
                price_increment: Decimal | None, size_increment: Decimal | None, min_size: Decimal | None,
                base: str | None, quote: str | None, maker_fee: Decimal | None, taker_fee: Decimal | None,
                progress: bool | None) -> None:
    """Import FILE... (one market: its book file(s) and trades file(s)) into the snapshot file OUT.

    Books and trades are joined on time: each book row is a snapshot holding the trades since the
    previous one. Bad rows are reported by file and line and make the exit status 2. The market's
    instrument (grid, minimum, currencies, fees) is stored with the data: botkit's known defaults
    for the exchange and symbol, with the options given on top.
    """
    from botkit.core import logs
    from botkit.data.importers.joiner import progress_bar
    from botkit.data.importers.run import import_files

    logs.configure("text", "WARNING")
    if out.exists() and not force:
        raise DataFileError(f"{out} exists: give --force to replace it, or another --out")
    if any(out.resolve() == f.resolve() for f in files):
        raise DataFileError(f"{out} is one of the files being imported")
    options: dict[str, Any] = {"price_increment": price_increment, "size_increment": size_increment,
                               "min_size": min_size, "base": base, "quote": quote, "maker_fee_bps": maker_fee,
                               "taker_fee_bps": taker_fee}
    try:
        result = import_files(fmt, files, out, clock=clock, strict=strict,  # type: ignore[arg-type]
                              instrument_options=options, symbol=symbol, exchange=exchange, columns=columns,
                              ts_unit=ts_unit, progress=progress_bar(progress))
    except DataFileError as exc:
        click.echo(f"botkit: {exc}", err=True)
        click.echo(f"botkit: nothing usable was written; {FIX}", err=True)
        sys.exit(2)
    except ValueError as exc:  # an instrument the options make impossible
        click.echo(f"botkit: {exc}", err=True)
        sys.exit(2)
    inst = result.instrument
    span = ""
    if result.first_ts is not None and result.last_ts is not None:
        span = f" ({iso_ms(result.first_ts)} to {iso_ms(result.last_ts)})"
    click.echo(f"{result.rows:,} rows from {len(files)} file(s) into {out}: {result.snapshots:,} snapshots, "
               f"{result.trades:,} trades{span}")
    click.echo(f"instrument: {inst.exchange} {inst.symbol}, {inst.base}/{inst.quote}, price increment "
               f"{inst.price_increment}, size increment {inst.size_increment}, min size {inst.min_size}, "
               f"fees {inst.maker_fee_bps}/{inst.taker_fee_bps} bps maker/taker")
    if result.crossed or result.locked:
        click.echo(f"not written: {result.crossed:,} crossed and {result.locked:,} locked book(s) (best bid above "
                   "or at best ask); their trades went into the next snapshot")
    if result.zero_levels:
        click.echo(f"dropped: {result.zero_levels:,} level(s) of zero amount")
    if result.inferred_sides:
        click.echo(f"inferred: the taker side of {result.inferred_sides:,} trade(s) the data calls unknown "
                   "(a buy at or above the mid)")
    if result.trailing_trades:
        assert result.trailing_from is not None
        click.echo(f"not written: {result.trailing_trades:,} trade(s) from {iso_ms(result.trailing_from)} on come "
                   "after the last book row and have no snapshot to go in (import the next book file with them)")
    if result.bad:
        for path, count in result.bad_rows.items():
            click.echo(f"bad rows: {path}: {count:,} skipped", err=True)
        for text in result.first_problems[:5]:
            click.echo(f"  {text}", err=True)
        click.echo(f"botkit: {result.bad:,} bad row(s) skipped, the rest written to {out}; {FIX}", err=True)
        sys.exit(2)
