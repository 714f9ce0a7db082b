"""Parameter sweeps: one code path, two executors (a local process pool, or a Dask cluster).

A sweep is a list of :class:`SweepJob` (one a grid point), each run by :func:`run_point` into a
:class:`PointResult`. Both executors run that same function on those same picklable inputs and
hand back that same result type; only *where* it runs differs. The caller puts the results back in
grid order (never completion order), so the ranked table, ``sweep.csv`` and ``sweep.json`` are
byte-identical whichever executor ran them, and however many workers it had.

What makes a point's result independent of the machine that ran it:

* every path in a job is absolute (a worker's working directory is not the client's);
* the config is the file the client chose (with none, the built-in defaults), never a
  ``./botkit.toml`` that happens to sit in the worker's working directory;
* the metrics come back as the :class:`Performance` dataclass itself (money as exact ``Decimal``),
  and are turned into text only on the client, with the point's record of what decided it
  (:func:`~botkit.backtest.provenance.describe_run`: effective parameters, fees, data SHA-256...);
* a point that fails with a botkit error comes back as its message (:attr:`PointResult.error`):
  botkit's exceptions do not all survive pickling (``ConfigError`` needs three arguments), and a
  failure should read the same from a process pool and from a cluster.

Dask is optional (``pip install "botkit[dask]"``) and imported only when ``--executor dask`` is
asked for.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from botkit.backtest.performance import Performance
from botkit.core.errors import BotkitError, ConfigError, JournalError, PluginError, did_you_mean
from botkit.strategy.params import Dimension
from botkit.strategy.params import search_space as params_search_space
from botkit.strategy.plugins import StrategySpec

log = logging.getLogger("botkit.backtest")

EXECUTORS = ("local", "dask")
DASK_INSTALL = 'pip install "botkit[dask]"'
DEFAULT_DASK_WORKERS = 2
"""Workers of the LocalCluster started when ``--executor dask`` has no ``--scheduler``."""
DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a ``--scheduler`` (and for its first worker) before giving up."""


class SweepError(BotkitError):
    """A sweep point failed in a way that is not a usage error (exit status 1)."""


@dataclass(frozen=True)
class SweepJob:
    """One grid point, as sent to a worker: small, picklable, and with absolute paths only."""

    config_path: Path | None
    """The config file (absolute), or None for the built-in defaults."""
    settings: Mapping[str, Any]
    """Keyword arguments of :class:`~botkit.backtest.runner.BacktestSettings`, without ``params``."""
    params: Mapping[str, Mapping[str, Any]]
    """``{strategy: {key: value}}`` of this point (the ``--param`` values with the swept ones)."""
    label: str = ""
    """The swept values, for error messages (``grid.step=2 grid.levels=1``)."""
    command: tuple[str, ...] = ()
    """The sweep's command line, recorded in each point's ``run``."""

    def paths(self) -> list[Path]:
        """The files and folders a worker must be able to read to run this point."""
        found = [Path(self.settings["data"])]
        if self.config_path is not None:
            found.append(self.config_path)
        found += [Path(p) for p in self.settings.get("strategy_paths", ())]
        return found


@dataclass(frozen=True)
class PointResult:
    """What a worker sends back: the metrics (exact) and what decided them, or the one-line reason
    the point failed."""

    metrics: Performance | None
    run: Mapping[str, Any] | None = None
    """The point's ``run`` record, as in a single backtest's ``report.json``."""
    error: str | None = None
    usage_error: bool = False
    """True when the failure is the user's to fix (a bad parameter, config or strategy): exit 2."""


def run_point(job: SweepJob) -> PointResult:
    """Run one grid point (in a worker process of either executor)."""
    from botkit import config as config_mod
    from botkit.backtest.runner import run_backtest
    from botkit.backtest.settings import BacktestSettings

    # Refusals and strategy warnings are counted in the metrics; a line each would flood the sweep.
    logging.getLogger("botkit").setLevel(logging.ERROR)
    try:
        cfg = config_mod.load(job.config_path) if job.config_path is not None else config_mod.parse({})
        settings = BacktestSettings(**{**job.settings, "params": job.params})
        result = run_backtest(cfg, settings, command=job.command)
        return PointResult(result.metrics, result.run)
    except BotkitError as exc:
        usage = isinstance(exc, ConfigError | PluginError | JournalError)
        return PointResult(None, None, str(exc), usage)


def declared_grid(specs: Mapping[str, StrategySpec], name: str, key: str) -> list[Any]:
    """The values ``--sweep NAME.KEY`` (no values) tries: the grid ``botkit.param`` declares for
    that parameter (``low..high`` by ``step``, the choices, or both booleans), exact."""
    spec = specs.get(name)
    if spec is None:
        raise ConfigError("--sweep", f"no strategy named {name}",
                          f"{did_you_mean(name, specs)}available: {', '.join(sorted(specs)) or 'none found'}")
    declaration = spec.declared.get(key)
    if declaration is None:
        raise ConfigError("--sweep", f"strategy {name} has no parameter {key}",
                          f"{did_you_mean(key, spec.declared)}known: {', '.join(sorted(spec.declared)) or 'none'}")
    values = declaration.grid()
    if values is None:
        raise ConfigError("--sweep", f"{name}.{key} declares no grid to sweep",
                          f"list the values ({name}.{key}=V1,V2,...) or declare it in PARAMS as "
                          f"botkit.param(default, low=..., high=..., step=...) or choices=[...]")
    return values


def search_space(specs: Mapping[str, StrategySpec], name: str) -> dict[str, Dimension]:
    """Strategy ``name``'s declared search space (see :func:`botkit.strategy.params.search_space`):
    what an optimiser explores, keyed by parameter."""
    spec = specs.get(name)
    if spec is None:
        raise ConfigError("--strategy", f"no strategy named {name}",
                          f"{did_you_mean(name, specs)}available: {', '.join(sorted(specs)) or 'none found'}")
    return params_search_space(spec.declared)


# --------------------------------------------------------------------------- executors


class SweepExecutor(Protocol):
    """Where the points run. Used as a context manager: workers exist between enter and exit."""

    def __enter__(self) -> SweepExecutor: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def describe(self, jobs: int) -> str:
        """Where ``jobs`` points will run, for the line printed before the sweep starts."""
        ...

    def check(self, jobs: Sequence[SweepJob]) -> None:
        """Refuse (ConfigError) before any point runs if a worker cannot read a job's files."""
        ...

    def run(self, func: Callable[[SweepJob], PointResult],
            jobs: Sequence[SweepJob]) -> Iterator[tuple[int, PointResult]]:
        """``(index in jobs, result)`` for each point, in the order they finish."""
        ...


class LocalExecutor:
    """A process pool on this machine (``--workers N``, 0: one per CPU)."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _processes(self, jobs: int) -> int:
        return max(1, min(self.workers, jobs))

    def describe(self, jobs: int) -> str:
        return f"{self._processes(jobs)} process(es)"

    def check(self, jobs: Sequence[SweepJob]) -> None:
        """Nothing to do: the pool's processes see this machine's files."""

    def run(self, func: Callable[[SweepJob], PointResult],
            jobs: Sequence[SweepJob]) -> Iterator[tuple[int, PointResult]]:
        processes = self._processes(len(jobs))
        if processes == 1:  # no pool: one point at a time in this process (easy to debug, no start-up)
            for index, job in enumerate(jobs):
                yield index, func(job)
            return
        self._pool = ProcessPoolExecutor(max_workers=processes)
        pending: dict[Future[PointResult], int] = {self._pool.submit(func, job): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()


@dataclass
class DaskExecutor:
    """A Dask cluster: the one at ``scheduler`` (``tcp://host:port``), else a LocalCluster.

    The LocalCluster has ``workers`` single-threaded worker processes on 127.0.0.1 (a backtest
    holds the GIL, so threads would not run points side by side) and no dashboard; it is closed on
    exit. The points are submitted as plain function calls (``pure=False``: each is its own task),
    and their inputs are paths, not data: a worker reads the snapshot file itself, so a cluster
    must see the files at the same paths as the client (checked by :meth:`check`).
    """

    scheduler: str | None = None
    workers: int = DEFAULT_DASK_WORKERS
    timeout: float = DEFAULT_CONNECT_TIMEOUT
    quiet: bool = True
    """Hold back distributed's own log lines below ERROR (worker start and stop chatter)."""
    _client: Any = field(default=None, init=False, repr=False)
    _cluster: Any = field(default=None, init=False, repr=False)
    _distributed: Any = field(default=None, init=False, repr=False)

    def __enter__(self) -> DaskExecutor:
        # Imported by name, as Any: Dask is an optional extra, and botkit type-checks without it.
        try:
            distributed = self._distributed = importlib.import_module("distributed")
        except ImportError:
            raise ConfigError("--executor", "dask is not installed", DASK_INSTALL) from None
        if self.quiet:
            logging.getLogger("distributed").setLevel(logging.ERROR)
        try:
            if self.scheduler is None:
                self._cluster = distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, silence_logs=logging.CRITICAL if self.quiet else logging.WARNING)
                self._client = distributed.Client(self._cluster, timeout=self.timeout)
            else:
                self._client = self._connect(distributed)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _connect(self, distributed: Any) -> Any:
        fix = "is a Dask scheduler running there (dask scheduler), and is its port open to this machine?"
        try:
            client = distributed.Client(self.scheduler, timeout=self.timeout)
        except (OSError, TimeoutError) as exc:  # refused, unknown host, timed out
            raise ConfigError("--scheduler", f"cannot reach the Dask scheduler at {self.scheduler} within "
                              f"{self.timeout:g} s ({type(exc).__name__})", fix) from None
        except (ValueError, TypeError) as exc:  # not an address at all
            raise ConfigError("--scheduler", f"{self.scheduler!r} is not a scheduler address: {exc}",
                              "e.g. tcp://10.0.0.5:8786") from None
        try:
            client.wait_for_workers(1, timeout=self.timeout)
        except (OSError, TimeoutError):
            client.close()
            raise ConfigError("--scheduler", f"the Dask cluster at {self.scheduler} has no worker "
                              f"(waited {self.timeout:g} s)", "start one: dask worker " + str(self.scheduler)) from None
        return client

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def _worker_count(self) -> int:
        return len(self._client.scheduler_info(n_workers=-1)["workers"])

    def describe(self, jobs: int) -> str:
        if self.scheduler is None:
            return f"a Dask LocalCluster of {self._worker_count()} worker process(es)"
        return f"the Dask cluster at {self.scheduler} ({self._worker_count()} worker(s))"

    def check(self, jobs: Sequence[SweepJob]) -> None:
        paths = sorted({str(p) for job in jobs for p in job.paths()})
        missing: dict[str, list[str]] = self._client.run(_unreadable, paths)
        bad = {worker: found for worker, found in missing.items() if found}
        if bad:
            worker, found = sorted(bad.items())[0]
            others = f" (and {len(bad) - 1} other worker(s))" if len(bad) > 1 else ""
            raise ConfigError("--executor", f"Dask worker {worker}{others} cannot read {', '.join(found)}",
                              "a cluster's workers need the data file, config and strategy folders at the same "
                              "paths as here: see 'Sweeps on Dask' in docs/backtesting.md")

    def run(self, func: Callable[[SweepJob], PointResult],
            jobs: Sequence[SweepJob]) -> Iterator[tuple[int, PointResult]]:
        futures = [self._client.submit(func, job, pure=False) for job in jobs]
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in self._distributed.as_completed(futures):
                yield index[future.key], future.result()
        finally:  # the first failed point stops the sweep: drop the runs not yet done
            if self._client is not None:
                self._client.cancel(futures)


def _unreadable(paths: Sequence[str]) -> list[str]:
    """The paths this (worker's) process cannot read: run on every worker by :meth:`DaskExecutor.check`."""
    return [p for p in paths if not os.access(p, os.R_OK)]


def make_executor(name: str, *, workers: int, scheduler: str | None, timeout: float = DEFAULT_CONNECT_TIMEOUT,
                  quiet: bool = True) -> SweepExecutor:
    """The executor ``--executor NAME`` asks for; refuses option combinations that mean nothing."""
    if name == "local":
        if scheduler is not None:
            raise ConfigError("--scheduler", "only applies to --executor dask", "add --executor dask")
        return LocalExecutor(workers)
    if name == "dask":
        if scheduler is not None and workers:
            log.warning("--workers is ignored with --scheduler: the cluster's workers run the sweep")
        return DaskExecutor(scheduler, workers or DEFAULT_DASK_WORKERS, timeout, quiet)
    raise ConfigError("--executor", f"unknown executor {name!r}", f"one of {', '.join(EXECUTORS)}")


# --------------------------------------------------------------------------- the sweep


def run_sweep(jobs: Sequence[SweepJob], executor: SweepExecutor, *, progress: bool | None = None,
              announce: Callable[[str], None] | None = None) -> list[PointResult]:
    """Run every job on ``executor``; the results (metrics and run record) in the order of ``jobs``.

    The first failed point stops the sweep (the others are cancelled): its message names the
    point. ``announce`` gets the one line saying where the sweep runs.
    """
    results: list[PointResult | None] = [None] * len(jobs)
    with executor:
        executor.check(jobs)
        if announce is not None:
            announce(f"sweep: {len(jobs)} runs on {executor.describe(len(jobs))}")
        bar = _bar(len(jobs), progress)
        try:
            for index, outcome in executor.run(run_point, jobs):
                if outcome.metrics is None:
                    where = f"sweep point {jobs[index].label}: " if jobs[index].label else ""
                    error = PluginError if outcome.usage_error else SweepError
                    raise error(f"{where}{outcome.error}")
                results[index] = outcome
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _bar(total: int, enabled: bool | None) -> Any:
    """The sweep's progress bar (one tick a finished point) on stderr, when it is a terminal or asked."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="run", file=sys.stderr, mininterval=0.5)
