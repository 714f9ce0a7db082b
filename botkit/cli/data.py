"""``botkit data``: snapshot files: convert, generate, check."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from botkit.cli.options import fail_cleanly
from botkit.core.errors import DataFileError
from botkit.data.store import MAX_LEVELS

log = logging.getLogger("botkit.backtest")



@click.group()
def data() -> None:
    """Snapshot files: convert, generate, check."""


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
