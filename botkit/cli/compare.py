"""``botkit compare``: a live or paper run against the replay of its own recording."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from botkit.cli.options import config_option, fail_cleanly, load_config

COLUMNS = ("time", "ts", "kind", "strategy", "side", "run", "replay", "cause")


@click.command()
@click.option("--data", "recording", required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The run's recording (botkit run --record FILE).")
@config_option
@click.option("--run", "run_id", type=int, help="The run to compare (default: the bot's latest).")
@click.option("--bot", "bot_id", metavar="ID", help="Another bot's run (default: [bot] id).")
@click.option("--paper", is_flag=True, help="A paper (--dry-run) session of the bot.")
@click.option("--strategy-path", "strategy_paths", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Another folder of strategy files (repeatable), as the run was given.")
@click.option("--tolerance", "tolerance_spec", default="", metavar="SPEC",
              help="Divergences accepted before exiting 1: orders=N,fills=N (counts, default 0), price_bps=X, "
                   "time_ms=N (differences this small are none), window_ms=N (how far apart two orders may "
                   "be and still be paired, default 60000).")
@click.option("--initial", metavar="USD=N,BTC=N",
              help="The balances the run started from (default: those it journaled at its first tick; "
                   "a run of a botkit that did not journal them needs this).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@fail_cleanly
def compare(recording: Path, config_path: Path | None, run_id: int | None, bot_id: str | None, paper: bool,
            strategy_paths: tuple[Path, ...], tolerance_spec: str, initial: str | None, fmt: str) -> None:
    """List where a run and the replay of its recording diverge, order by order and fill by fill.

    Exit 0 within --tolerance, 1 past it, 2 for bad input (a recording or config that is not
    the run's)."""
    from botkit.backtest.compare import RunMismatch, Tolerance, compare_run
    from botkit.cli.backtest import parse_initial
    from botkit.core import jsonutil
    from botkit.core.errors import DataFileError
    from botkit.core.output import render
    from botkit.engine.assembly import paper_bot_id
    from botkit.journal import Journal
    from botkit.journal.queries import open_journal

    try:
        tolerance = Tolerance.parse(tolerance_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tolerance") from None
    cfg = load_config(config_path)
    open_journal(cfg["journal"]["url"]).dispose()  # refuses a journal that is not there, or is out of date
    bot = bot_id or cfg["bot"]["id"]
    journal = Journal(cfg["journal"]["url"], bot_id=paper_bot_id(bot) if paper else bot, auto_upgrade=False)
    try:
        result = compare_run(cfg, recording, journal, run_id=run_id, tolerance=tolerance,
                             strategy_paths=strategy_paths,
                             initial=None if initial is None else parse_initial(initial))
    except (RunMismatch, DataFileError) as exc:
        click.echo(f"botkit: {exc}", err=True)
        sys.exit(2)
    finally:
        journal.close()
    rows = [d.row() for d in result.divergences]
    failed = result.exceeds(tolerance)
    if fmt == "json":
        click.echo(jsonutil.dumps({"summary": {**result.summary(), "within_tolerance": not failed},
                                   "divergences": rows}))
    else:
        s = result.summary()
        click.echo(render(rows, "table", COLUMNS, machine_only=("ts",)))
        click.echo(f"\nrun {s['run']} of {s['bot']}: {s['snapshots']} snapshots replayed ({s['run_ticks']} ticks run); "
                   f"orders run {s['run_orders']}, replay {s['replay_orders']}, paired {s['matched_orders']}; "
                   f"fills run {s['run_fills']}, replay {s['replay_fills']}")
        kinds = ", ".join(f"{kind} {count}" for kind, count in s["by_kind"].items()) or "none"
        click.echo(f"divergences: {s['order_divergences']} of orders, {s['fill_divergences']} of fills ({kinds}): "
                   f"{'past' if failed else 'within'} tolerance")
    sys.exit(1 if failed else 0)
