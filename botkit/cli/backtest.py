"""``botkit backtest``, ``botkit record`` and ``botkit data``: the backtester's commands."""

from __future__ import annotations

import itertools
import json
import logging
import math
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from botkit.backtest.report import LOWER_IS_BETTER, RANKABLE, cell
from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.config import DEFAULT_CONFIG_NAME, default
from botkit.core.errors import ConfigError
from botkit.core.numbers import NumberError, exact_decimal

if TYPE_CHECKING:
    from botkit.backtest.sweep import SweepExecutor
    from botkit.strategy.plugins import StrategySpec

log = logging.getLogger("botkit.backtest")



# --------------------------------------------------------------------------- option parsing


def parse_value(text: str) -> Any:
    """A command-line value read as TOML (``2`` int, ``0.5`` exact Decimal, ``true``), else the text."""
    try:
        return tomllib.loads(f"v = {text}", parse_float=Decimal)["v"]
    except ValueError:  # not TOML (or an integer past Python's digit limit): the text itself
        return text


def parse_param(spec: str, option: str) -> tuple[str, str, str]:
    """``NAME.KEY=VALUE`` → (name, key, value text)."""
    target, sep, value = spec.partition("=")
    name, dot, key = target.partition(".")
    if not sep or not dot or not name or not key:
        raise ConfigError(option, f"{spec!r} is not NAME.KEY=VALUE", "e.g. market_maker.spread_bps=15")
    return name.strip(), key.strip(), value.strip()


def parse_initial(text: str) -> dict[str, Decimal]:
    """``USD=10000,BTC=0`` → exact balances."""
    balances: dict[str, Decimal] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        currency, sep, amount = part.partition("=")
        try:
            value = exact_decimal(amount.strip(), "--initial")
        except NumberError as exc:
            raise ConfigError("--initial", f"{part!r}: {exc.reason}", "e.g. USD=10000,BTC=0.5") from None
        if not sep or not currency.strip() or value < 0:
            raise ConfigError("--initial", f"{part!r} is not CURRENCY=AMOUNT", "e.g. USD=10000,BTC=0.5")
        balances[currency.strip().upper()] = value
    if not balances:
        raise ConfigError("--initial", "no balances given", "e.g. USD=10000,BTC=0")
    return balances


def parse_time(text: str, option: str) -> int:
    """``--from``/``--to``: epoch milliseconds, or an ISO 8601 time (UTC unless it gives an offset)."""
    from botkit.core.times import iso_to_ms

    if text.strip().isdigit():
        return int(text)
    try:
        return iso_to_ms(text.strip())
    except (ValueError, OverflowError):
        raise ConfigError(option, f"{text!r} is not a time", "e.g. 2024-05-06T13:00:00Z or 1715000400000") from None


def _decimal(value: str, option: str) -> Decimal:
    try:
        number = exact_decimal(value, option)
    except NumberError as exc:
        raise ConfigError(option, exc.reason) from None
    if number < 0:
        raise ConfigError(option, f"{value!r} must be a non-negative number")
    return number


# --------------------------------------------------------------------------- backtest


def check_report_dir(directory: Path, *, force: bool) -> None:
    """Refuse a ``--report`` directory before the run rather than after it: one that is a file,
    that cannot be written (read-only, no permission), or that already holds files (a report,
    kept unless ``--force``). A directory that does not exist yet is created by the report; its
    nearest existing parent must then be writable.
    """
    if directory.exists():
        if not directory.is_dir():
            raise ConfigError("--report", f"{directory} exists and is not a directory", "give a directory")
        if not force and any(directory.iterdir()):
            raise ConfigError("--report", f"{directory} already holds files (a previous report?)",
                              "add --force to overwrite them, or choose a new directory")
        where = directory
    else:
        where = directory.absolute().parent
        while not where.exists():
            where = where.parent
        if not where.is_dir():
            raise ConfigError("--report", f"{where} is not a directory", "choose another --report directory")
    try:  # a real write says what permission bits cannot: a read-only mount, or root's bypass
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as exc:
        raise ConfigError("--report", f"cannot write in {where}: {exc.strerror or exc}",
                          "choose a writable directory") from None


def _sweep_grid(sweeps: Sequence[str], find: Callable[[], Mapping[str, StrategySpec]]
                ) -> list[tuple[tuple[str, str], list[Any]]]:
    """Each ``--sweep``'s parameter and values: those listed (``NAME.KEY=V1,V2``), or the grid the
    strategy declares for it (``NAME.KEY``: see :func:`~botkit.backtest.sweep.declared_grid`).
    ``find`` discovers the strategies, only when a sweep asks for a declared grid."""
    from botkit.backtest.sweep import declared_grid

    grid: list[tuple[tuple[str, str], list[Any]]] = []
    for spec in sweeps:
        if "=" not in spec:
            name, dot, key = spec.partition(".")
            if not dot or not name.strip() or not key.strip():
                raise ConfigError("--sweep", f"{spec!r} is not NAME.KEY or NAME.KEY=V1,V2,...",
                                  "e.g. market_maker.spread_bps or market_maker.spread_bps=10,20,40")
            name, key = name.strip(), key.strip()
            grid.append(((name, key), declared_grid(find(), name, key)))
            continue
        name, key, values = parse_param(spec, "--sweep")
        options = [parse_value(v.strip()) for v in values.split(",") if v.strip()]
        if not options:
            raise ConfigError("--sweep", f"{spec!r} lists no values", "e.g. market_maker.spread_bps=10,20,40")
        grid.append(((name, key), options))
    return grid


def _rank_key(metric: str) -> Any:
    def key(row: Mapping[str, Any]) -> tuple[int, float]:
        value = row.get(metric)
        if value is None:
            return (1, 0.0)
        number = float(value)
        return (0, number if metric in LOWER_IS_BETTER else -number)

    return key


@click.command()
@click.option("--data", "data", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Snapshot file: .jsonl, .jsonl.gz, .ndjson(.gz) or the fast store .bks "
                   "(default: the shipped sample recording of the sandbox's market).")
@config_option
@click.option("--strategy", "strategies", multiple=True, help="Run only this strategy (repeatable).")
@click.option("--strategy-path", "strategy_paths", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Another folder of strategy files (repeatable).")
@click.option("--param", "params", multiple=True, metavar="NAME.KEY=VALUE",
              help="Set a strategy parameter (repeatable), e.g. market_maker.spread_bps=15.")
@click.option("--initial", metavar="USD=N,BTC=N",
              help="Starting balances (default: [backtest] initial_usd and initial_btc, "
                   f"USD={default('backtest', 'initial_usd')},BTC={default('backtest', 'initial_btc')}).")
@click.option("--maker-fee-bps", help="Fee of resting fills, bps of notional "
                                      f"(default: [paper] maker_fee_bps, {default('paper', 'maker_fee_bps')}).")
@click.option("--taker-fee-bps", help="Fee of crossing fills, bps of notional "
                                      f"(default: [paper] taker_fee_bps, {default('paper', 'taker_fee_bps')}).")
@click.option("--latency-ms", type=click.IntRange(min=0),
              help="Recorded time each order or cancel takes to reach the venue "
                   f"(default: [backtest] latency_ms, {default('backtest', 'latency_ms')}).")
@click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write report.json, fills.csv, orders.csv and equity.png here (a new or empty directory).")
@click.option("--force", is_flag=True, help="Write the report into a --report directory that already holds files.")
@click.option("--sweep", "sweeps", multiple=True, metavar="NAME.KEY[=V1,V2,...]",
              help="Run every combination of these parameter values (repeatable) and rank them; NAME.KEY "
                   "alone tries the values the strategy declares (botkit.param's low..high by step, or choices).")
@click.option("--workers", default=0, type=click.IntRange(min=0),
              help="Processes for a sweep (0: one per CPU; with --executor dask and no --scheduler: the "
                   "LocalCluster's workers, 0: 2).")
@click.option("--executor", default="local", show_default=True, type=click.Choice(["local", "dask"]),
              help="Where a sweep's runs go: a local process pool, or a Dask cluster (pip install \"botkit[dask]\").")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="With --executor dask: the cluster's scheduler (default: a LocalCluster on this machine).")
@click.option("--scheduler-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds to wait for --scheduler and its first worker.")
@click.option("--rank-by", default="total_return", show_default=True, type=click.Choice(RANKABLE),
              help="Metric that orders the sweep's table (best first).")
@click.option("--bar-seconds", type=click.IntRange(min=1),
              help="Bar length of the returns behind Sharpe and Sortino "
                   f"(default: [backtest] bar_seconds, {default('backtest', 'bar_seconds')}).")
@click.option("--limit", type=click.IntRange(min=1), help="Replay only the first N snapshots.")
@click.option("--from", "from_time", metavar="TIME",
              help="Replay only snapshots at or after TIME (ISO 8601, UTC unless an offset is given, or epoch ms).")
@click.option("--to", "to_time", metavar="TIME",
              help="Replay only snapshots before TIME (ISO 8601 or epoch ms): --from and --to make a half-open span.")
@click.option("--warmup", "warmup_bars", default=0, type=click.IntRange(min=0), metavar="N",
              help="Build N bars of each declared timeframe from the first snapshots before any strategy is asked "
                   "(nothing trades during the warm-up; the bars are in ctx.history at botkit_on_start).")
@click.option("--strict", is_flag=True, help="Stop at the first unreadable line instead of skipping it.")
@click.option("--journal", "journal_url", help="Keep the run's journal at this SQLAlchemy URL (default: discarded).")
@click.option("-v", "--verbose", is_flag=True, help="Log every refused intent and strategy warning as it happens.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--from-report", "from_report", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Re-run the backtest a report.json records (same data, strategies, parameters, fees, limits); "
                   "its 'result' comes out byte for byte the same.")
@fail_cleanly
def backtest(data: Path | None, config_path: Path | None, strategies: tuple[str, ...], strategy_paths: tuple[Path, ...],
             params: tuple[str, ...], initial: str | None, maker_fee_bps: str | None, taker_fee_bps: str | None,
             latency_ms: int | None, report_dir: Path | None, force: bool, sweeps: tuple[str, ...], workers: int,
             executor: str, scheduler: str | None, scheduler_timeout: float, rank_by: str, bar_seconds: int | None,
             limit: int | None, from_time: str | None, to_time: str | None, warmup_bars: int, strict: bool,
             journal_url: str | None, verbose: bool, progress: bool | None, from_report: Path | None) -> None:
    """Replay recorded snapshots through strategies with the live engine and a simulated venue.

    Starting balances, fees, latency and bar length come from the options, else the config's
    [backtest] and [paper] sections, else their defaults (no BTC: the result is the strategy's).
    The fill model, the metrics and the file formats are described in docs/backtesting.md.
    """
    from botkit.backtest.runner import run_backtest
    from botkit.backtest.sample import SAMPLE
    from botkit.backtest.settings import BacktestSettings
    from botkit.core import logs

    if not sweeps and (executor != "local" or scheduler is not None):
        raise ConfigError("--scheduler" if scheduler is not None else "--executor", "only applies to a sweep",
                          "add --sweep NAME.KEY=v1,v2,...")
    if sweeps and journal_url is not None:
        raise ConfigError("--journal", "a sweep runs a backtest a point, and a kept journal holds one backtest",
                          "leave --journal out of the sweep, then run the point you choose with --param and --journal")
    if report_dir is not None:
        check_report_dir(report_dir, force=force)
    context = click.get_current_context()
    command = _command_line(context)
    if from_report is not None:
        _refuse_with_from_report(context)
        _rerun(from_report, report_dir, journal_url, verbose, progress, command)
        return
    cfg = load_config(config_path)
    logs.configure("text", "WARNING", cfg.secrets)
    if not verbose:  # refusals are counted in the table and kept in the journal; one line each floods
        logging.getLogger("botkit.engine").setLevel(logging.ERROR)
    if data is None:
        data = SAMPLE
        click.echo(f"no --data: replaying the shipped sample recording {SAMPLE.name}", err=True)
    overrides: dict[str, dict[str, Any]] = {}
    for spec in params:
        name, key, value = parse_param(spec, "--param")
        overrides.setdefault(name, {})[key] = parse_value(value)
    settings_kwargs: dict[str, Any] = {
        "data": data,
        **BacktestSettings.options(
            cfg, initial=None if initial is None else parse_initial(initial),
            maker_fee_bps=None if maker_fee_bps is None else _decimal(maker_fee_bps, "--maker-fee-bps"),
            taker_fee_bps=None if taker_fee_bps is None else _decimal(taker_fee_bps, "--taker-fee-bps"),
            latency_ms=latency_ms, bar_seconds=bar_seconds, data=data),
        "strategies": strategies,
        "strategy_paths": strategy_paths,
        "strict": strict,
        "limit": limit,
        "from_ts": None if from_time is None else parse_time(from_time, "--from"),
        "to_ts": None if to_time is None else parse_time(to_time, "--to"),
        "warmup_bars": warmup_bars,
        "journal_url": journal_url,
    }
    if sweeps:
        from botkit.backtest.sweep import make_executor
        from botkit.strategy.plugins import discover

        found: dict[str, StrategySpec] = {}

        def find() -> Mapping[str, StrategySpec]:
            if not found:
                found.update(discover([*cfg.strategy_paths, *strategy_paths]))
            return found

        grid = _sweep_grid(sweeps, find)
        pool = make_executor(executor, workers=workers, scheduler=scheduler, timeout=scheduler_timeout,
                             quiet=not verbose)
        _run_sweep(config_path, settings_kwargs, overrides, grid, pool, rank_by, report_dir, progress, command)
        return
    settings = BacktestSettings(**settings_kwargs, params=overrides)
    result = run_backtest(cfg, settings, report_dir=report_dir, progress=progress, command=command)
    click.echo(result.table())
    if result.summary.get("rejected") and not verbose:
        click.echo("some intents were refused: run with -v to see each one and why", err=True)
    if report_dir is not None:
        click.echo(f"report written to {report_dir}/", err=True)


_REPORT_OWNS = ("data", "config_path", "strategies", "strategy_paths", "params", "initial", "maker_fee_bps",
                "taker_fee_bps", "latency_ms", "sweeps", "bar_seconds", "limit", "from_time", "to_time", "strict",
                "warmup_bars")
"""Options whose value a report records: given with --from-report they would contradict it."""


_WHERE_NOT_WHAT = ("report_dir", "force", "workers", "executor", "scheduler", "scheduler_timeout", "journal_url",
                   "verbose", "progress")
"""Options that say where a run goes or what it shows, not what it computes: left out of the
recorded command, so a sweep's files are the same bytes from a process pool and from a cluster."""


def _command_line(context: click.Context) -> list[str]:
    """The command as given, in canonical form (``botkit backtest --opt value ...``, the options
    given that decide the result): the same whether run from a shell, a script or a test."""
    words = ["botkit", *context.command_path.split()[1:]]  # the program's name as installed, however invoked
    for parameter in context.command.params:
        if not isinstance(parameter, click.Option) or parameter.name is None or parameter.name in _WHERE_NOT_WHAT:
            continue
        source = context.get_parameter_source(parameter.name)
        if source in (None, click.core.ParameterSource.DEFAULT):
            continue
        value = context.params[parameter.name]
        flag = parameter.opts[0]
        if parameter.is_flag:
            if parameter.secondary_opts and not value:
                words.append(parameter.secondary_opts[0])
            elif value:
                words.append(flag)
            continue
        for item in value if parameter.multiple else (value,):
            words += [flag, str(item)]
    return words


def _refuse_with_from_report(context: click.Context) -> None:
    for name in _REPORT_OWNS:
        if context.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT):
            option = next(p.opts[0] for p in context.command.params if p.name == name)
            raise ConfigError(option, "cannot be combined with --from-report: the report says what the run used",
                              "drop it, or run without --from-report")


def _rerun(path: Path, report_dir: Path | None, journal_url: str | None, verbose: bool, progress: bool | None,
           command: Sequence[str]) -> None:
    """``--from-report``: the run a report records, again (its data and strategy sources checked)."""
    from botkit.backtest.provenance import from_report
    from botkit.backtest.runner import run_backtest
    from botkit.backtest.settings import BacktestSettings
    from botkit.core import logs

    logs.configure("text", "WARNING")
    if not verbose:
        logging.getLogger("botkit.engine").setLevel(logging.ERROR)
    cfg, settings_kwargs = from_report(path)
    settings = BacktestSettings(**settings_kwargs, journal_url=journal_url)
    result = run_backtest(cfg, settings, report_dir=report_dir, progress=progress, command=command)
    click.echo(result.table())
    if report_dir is not None:
        click.echo(f"report written to {report_dir}/", err=True)


def _run_sweep(config_path: Path | None, settings_kwargs: dict[str, Any], base: dict[str, dict[str, Any]],
               grid: list[tuple[tuple[str, str], list[Any]]], executor: SweepExecutor, rank_by: str,
               report_dir: Path | None, progress: bool | None, command: Sequence[str] = ()) -> None:
    """Run the grid on ``executor`` and rank it: the same rows, table and files whatever the executor."""
    from botkit.backtest.report import metrics_dict, notes
    from botkit.backtest.sweep import SweepJob, run_sweep

    names = [f"{name}.{key}" for (name, key), _ in grid]
    combos = list(itertools.product(*(values for _, values in grid)))
    # Absolute paths, and the config file resolved here: a worker's working directory is not ours.
    if config_path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        config_path = Path(DEFAULT_CONFIG_NAME)
    config_file = config_path.resolve() if config_path is not None else None
    settings = {**settings_kwargs, "data": Path(settings_kwargs["data"]).resolve(),
                "strategy_paths": tuple(Path(p).resolve() for p in settings_kwargs["strategy_paths"])}
    jobs = []
    for combo in combos:
        params = {name: dict(table) for name, table in base.items()}
        for ((strategy, key), _), value in zip(grid, combo, strict=True):
            params.setdefault(strategy, {})[key] = value
        label = " ".join(f"{n}={v}" for n, v in zip(names, combo, strict=True))
        jobs.append(SweepJob(config_file, settings, params, label, tuple(command)))
    results = run_sweep(jobs, executor, progress=progress, announce=lambda line: click.echo(line, err=True))
    points: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    for combo, point in zip(combos, results, strict=True):
        assert point.metrics is not None
        assert point.run is not None
        points.append(({**dict(zip(names, (str(v) for v in combo), strict=True)), **metrics_dict(point.metrics)},
                       point.run))
    rank = _rank_key(rank_by)
    points.sort(key=lambda pair: rank(pair[0]))
    rows = [row for row, _ in points]
    ranked_runs = [run for _, run in points]
    click.echo(sweep_table(rows, names, rank_by))
    for note in sorted({note for point in results if point.metrics is not None for note in notes(point.metrics)}):
        click.echo(f"note: {note}", err=True)  # stdout stays the bare table, for programs
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        write_sweep_csv(report_dir / "sweep.csv", rows, names)
        write_sweep_json(report_dir / "sweep.json", rows, names, rank_by, ranked_runs)
        if len(names) == 2:
            sweep_heatmap(report_dir / "heatmap.png", rows, names, rank_by)
        click.echo(f"sweep written to {report_dir}/", err=True)


SWEEP_COLUMNS = ("total_return", "strategy_pnl", "end_equity", "realized_pnl", "fees", "max_drawdown", "sharpe",
                 "orders", "fills")


def sweep_table(rows: Sequence[Mapping[str, Any]], names: Sequence[str], rank_by: str) -> str:
    columns = ["rank", *names, *dict.fromkeys([rank_by, *SWEEP_COLUMNS])]
    cells = [[str(i), *(cell(c, row.get(c)) for c in columns[1:])] for i, row in enumerate(rows, 1)]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def write_sweep_csv(path: Path, rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> None:
    import csv

    columns = [*names, *(k for k in rows[0] if k not in names)] if rows else list(names)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["rank", *columns])
        for rank, row in enumerate(rows, 1):
            writer.writerow([rank, *("" if row.get(c) is None else row.get(c) for c in columns)])


def write_sweep_json(path: Path, rows: Sequence[Mapping[str, Any]], names: Sequence[str], rank_by: str,
                     runs: Sequence[Mapping[str, Any]] | None = None) -> None:
    """The ranked rows for programs: money as exact decimal strings, as in ``report.json``; with
    ``runs``, each point's record of what decided it (its ``run``, as in ``report.json``).

    Nothing about where the sweep ran (executor, workers, the worker's directory) goes in, so the
    file is byte-identical from the local pool and from a Dask cluster.
    """
    document = {"rank_by": rank_by, "parameters": list(names),
                "runs": [{"rank": rank, **row, **({"run": runs[rank - 1]} if runs is not None else {})}
                         for rank, row in enumerate(rows, 1)]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def sweep_heatmap(path: Path, rows: Sequence[Mapping[str, Any]], names: Sequence[str], metric: str) -> None:
    """A heatmap of ``metric`` over the two swept parameters (deterministic PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = list(dict.fromkeys(row[names[0]] for row in rows))
    ys = list(dict.fromkeys(row[names[1]] for row in rows))
    xs.sort(key=_sort_key)
    ys.sort(key=_sort_key)
    grid = [[math.nan for _ in xs] for _ in ys]
    for row in rows:
        value = row.get(metric)
        grid[ys.index(row[names[1]])][xs.index(row[names[0]])] = math.nan if value is None else float(value)
    figure, axis = plt.subplots(figsize=(1.2 * len(xs) + 3, 0.8 * len(ys) + 2))
    try:
        image = axis.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
        axis.set_xticks(range(len(xs)), xs)
        axis.set_yticks(range(len(ys)), ys)
        axis.set_xlabel(names[0])
        axis.set_ylabel(names[1])
        for j, line in enumerate(grid):
            for i, value in enumerate(line):
                if not math.isnan(value):
                    axis.text(i, j, f"{value:.4g}", ha="center", va="center", color="white", fontsize=8)
        figure.colorbar(image, ax=axis, label=metric)
        axis.set_title(f"{metric} by {names[0]} and {names[1]}")
        figure.tight_layout()
        figure.savefig(path, dpi=100, metadata={"Software": None})
    finally:
        plt.close(figure)


def _sort_key(text: str) -> tuple[int, Any]:
    try:
        return (0, Decimal(text))
    except InvalidOperation:
        return (1, text)
