"""What the rounds measured, as tables: medians per contender, then same-round ratios botkit/peer.

Rates are snapshots (bars for backtrader) per second, three ways:

* ``run``: the library's own replay call alone (botkit ``run_backtest``, nautilus_trader
  ``engine.run()``, backtrader ``cerebro.run()``): what the issue's nautilus figures are;
* ``process``: the whole process at the full size (interpreter start, imports, loading, the run);
* ``marginal``: (full size − small size) / (process time at full − process time at small): the
  cost of one more snapshot, the fixed cost of a process taken out (as issue 15's table).

``fixed`` is what a process costs before its first snapshot: the small run's process time less its
snapshots at the marginal rate. A ratio is computed within each round (botkit and the peer ran
back to back, under the same load) and the median of those is printed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any


@dataclass(frozen=True)
class Contender:
    """One library running one strategy from one input."""

    key: str
    library: str
    strategy: str
    source: str
    unit: str = "snapshots"


@dataclass
class Rounds:
    """Each round's figures for each (contender, size): the child's JSON plus ``wall`` seconds."""

    full: int
    small: int
    figures: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, key: str, size: int, figures: dict[str, Any]) -> None:
        self.figures.setdefault((key, size), []).append(figures)

    def of(self, key: str, size: int) -> list[dict[str, Any]]:
        return self.figures.get((key, size), [])

    def per_round(self, key: str) -> list[dict[str, float]]:
        """Rates of each round where both sizes of ``key`` succeeded."""
        out: list[dict[str, float]] = []
        for big, small in zip(self.of(key, self.full), self.of(key, self.small), strict=False):
            if "error" in big or "error" in small:
                out.append({})
                continue
            n_big, n_small = big["snapshots"], small["snapshots"]
            extra = big["wall"] - small["wall"]
            marginal = (n_big - n_small) / extra if extra > 0 else float("nan")
            out.append({
                "run": n_big / big["run_seconds"],
                "process": n_big / big["wall"],
                "marginal": marginal,
                "fixed": small["wall"] - n_small / marginal if extra > 0 else float("nan"),
                "rss_big": big["rss_mb"],
                "rss_small": small["rss_mb"],
                "orders": big.get("orders", 0),
                "units": n_big,
            })
        return out


def _median(rounds: Sequence[dict[str, float]], name: str) -> float | None:
    """The median over the rounds that measured ``name`` (NaN, a marginal lost in noise, left out)."""
    values = [r[name] for r in rounds if name in r and not math.isnan(r[name])]
    return median(values) if values else None


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}/s"


def contender_table(rounds: Rounds, contenders: Sequence[Contender]) -> list[str]:
    lines = [
        "| contender | strategy | input | run | process | marginal | fixed s | peak RSS MB (N/10 → N) | orders |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in contenders:
        per = rounds.per_round(c.key)
        if not any(per):
            lines.append(f"| {c.library} | {c.strategy} | {c.source} | failed (the error is in its progress lines) "
                         "| | | | | |")
            continue
        fixed, orders = _median(per, "fixed"), _median(per, "orders")
        rss_small, rss_big = _median(per, "rss_small"), _median(per, "rss_big")
        rss = "n/a" if rss_big is None or rss_small is None else f"{rss_small:,.0f} → {rss_big:,.0f}"
        unit = "" if c.unit == "snapshots" else f" ({c.unit})"
        lines.append(
            f"| {c.library} | {c.strategy} | {c.source}{unit} | {_rate(_median(per, 'run'))} | "
            f"{_rate(_median(per, 'process'))} | {_rate(_median(per, 'marginal'))} | "
            f"{'n/a' if fixed is None else f'{fixed:.2f}'} | {rss} | "
            f"{'' if orders is None else f'{orders:,.0f}'} |"
        )
    return lines


@dataclass(frozen=True)
class Pairing:
    """A botkit contender held against a peer's (by their keys), on every rate the ratio table shows."""

    botkit: str
    peer: str


def ratio_table(rounds: Rounds, contenders: Sequence[Contender], pairings: Sequence[Pairing]) -> list[str]:
    by_key = {c.key: c for c in contenders}
    lines = [
        "| botkit | vs peer | botkit marginal / peer run() | botkit marginal / peer marginal "
        "| botkit process / peer process |",
        "|---|---|---|---|---|",
    ]
    for pair in pairings:
        if pair.botkit not in by_key or pair.peer not in by_key:
            continue
        mine, theirs = rounds.per_round(pair.botkit), rounds.per_round(pair.peer)
        ratios: dict[str, list[float]] = {"run": [], "marginal": [], "process": []}
        for ours, peer in zip(mine, theirs, strict=False):
            if ours and peer:
                ratios["run"].append(ours["marginal"] / peer["run"])
                ratios["marginal"].append(ours["marginal"] / peer["marginal"])
                ratios["process"].append(ours["process"] / peer["process"])
        cells = [f"{median(v):.2f}×" if v else "n/a" for v in
                 ([x for x in values if not math.isnan(x)] for values in ratios.values())]
        b, p = by_key[pair.botkit], by_key[pair.peer]
        lines.append(f"| {b.strategy} ({b.source}) | {p.library} {p.strategy} | " + " | ".join(cells) + " |")
    return lines


def change_table(rounds: Rounds, contenders: Sequence[Contender], ref: str) -> list[str]:
    """Each botkit contender over its twin at commit ``ref`` (key ``KEY@ref``), round by round."""
    keys = {c.key for c in contenders}
    lines = ["| strategy | input | marginal | process | run |", "|---|---|---|---|---|"]
    for c in contenders:
        twin = f"{c.key}@{ref}"
        if c.library != "botkit" or twin not in keys:
            continue
        ratios: dict[str, list[float]] = {"marginal": [], "process": [], "run": []}
        for now, then in zip(rounds.per_round(c.key), rounds.per_round(twin), strict=False):
            if now and then:
                for name, values in ratios.items():
                    if not (math.isnan(now[name]) or math.isnan(then[name])):
                        values.append(now[name] / then[name])
        cells = [f"{median(v):.2f}×" if v else "n/a" for v in ratios.values()]
        lines.append(f"| {c.strategy} | {c.source} | " + " | ".join(cells) + " |")
    return lines
