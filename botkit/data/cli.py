"""``botkit data import``: the public order-book datasets into snapshot files (docs/data.md)."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from botkit.cli_options import fail_cleanly
from botkit.errors import DataFileError
from botkit.numbers import NumberError, exact_decimal
from botkit.times import iso_ms

FIX = ("fix the rows named above (or the file's shape), or rerun with --strict to stop at the first; "
       "see docs/data.md")


def _decimal(context: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return exact_decimal(value, f"--{param.name}")
    except NumberError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("import")
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
    from botkit import logs
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
