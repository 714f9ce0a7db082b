"""Walk-forward windows: ``--walk-forward train=6h,test=2h[,step=2h][,anchored]``.

Window k trains on ``[train_start, train_end)`` and tests on ``[train_end, train_end + test)``,
both half-open in epoch ms, so a test window starts exactly where its training data stops and no
snapshot is in both. Rolling windows slide by ``step`` (default: ``test``, so the test windows tile
the data); anchored ones keep the training start at the data's first snapshot and grow. Only
windows whose test span ends within the data are made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from botkit.core.errors import ConfigError, DataFileError
from botkit.core.times import UNIT_MS
from botkit.data.files import open_snapshots

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
EXAMPLE = "e.g. train=6h,test=2h or train=2d,test=12h,step=6h,anchored"


def duration_ms(text: str, key: str) -> int:
    """``30m``, ``6h``, ``2d`` (whole numbers of ms, s, m, h or d) as milliseconds."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) <= 0:
        raise ConfigError("--walk-forward", f"{key}={text!r} is not a duration", "a positive whole number with "
                          "ms, s, m, h or d, e.g. 30m, 6h, 2d")
    return int(match.group(1)) * UNIT_MS[match.group(2)]


def show_ms(ms: int) -> str:
    """A duration in its largest whole unit (``90m``, ``2d``)."""
    for unit in ("d", "h", "m", "s"):
        if ms % UNIT_MS[unit] == 0:
            return f"{ms // UNIT_MS[unit]}{unit}"
    return f"{ms}ms"


@dataclass(frozen=True)
class WalkForward:
    train_ms: int
    test_ms: int
    step_ms: int
    anchored: bool = False

    @classmethod
    def parse(cls, spec: str) -> WalkForward:
        values: dict[str, int] = {}
        anchored = False
        for part in filter(None, (p.strip() for p in spec.split(","))):
            if part == "anchored":
                anchored = True
                continue
            key, sep, value = part.partition("=")
            if not sep or key not in ("train", "test", "step"):
                raise ConfigError("--walk-forward", f"{part!r} is not train=, test=, step= or anchored", EXAMPLE)
            if key in values:
                raise ConfigError("--walk-forward", f"{key} is given twice", EXAMPLE)
            values[key] = duration_ms(value, key)
        for key in ("train", "test"):
            if key not in values:
                raise ConfigError("--walk-forward", f"{spec!r} gives no {key}=DURATION", EXAMPLE)
        return cls(values["train"], values["test"], values.get("step", values["test"]), anchored)

    def describe(self) -> str:
        return (f"train={show_ms(self.train_ms)},test={show_ms(self.test_ms)},step={show_ms(self.step_ms)}"
                + (",anchored" if self.anchored else ""))

    def windows(self, first_ts: int, last_ts: int) -> list[Window]:
        """The windows over data from ``first_ts`` to ``last_ts`` (both snapshots included); a
        :class:`ConfigError` when not even one fits."""
        end = last_ts + 1
        found = []
        k = 0
        while True:
            train_start = first_ts if self.anchored else first_ts + k * self.step_ms
            train_end = first_ts + self.train_ms + k * self.step_ms
            test_end = train_end + self.test_ms
            if test_end > end:
                break
            found.append(Window(k, train_start, train_end, train_end, test_end))
            k += 1
        if not found:
            raise ConfigError("--walk-forward", f"train {show_ms(self.train_ms)} + test {show_ms(self.test_ms)} is "
                              f"longer than the data ({(end - first_ts) / 3_600_000:.2f} h)",
                              "use shorter windows or more data")
        return found


@dataclass(frozen=True)
class Window:
    """One walk-forward window: half-open spans in epoch ms."""

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int

    @property
    def train(self) -> tuple[int, int]:
        return self.train_start, self.train_end

    @property
    def test(self) -> tuple[int, int]:
        return self.test_start, self.test_end


def data_span(path: Path) -> tuple[int, int]:
    """The ts of the first and the last snapshot of a file."""
    first = last = None
    for snapshot in open_snapshots(path):
        if first is None:
            first = snapshot.ts
        last = snapshot.ts
    if first is None or last is None:
        raise DataFileError(f"{path}: no readable snapshot")
    return first, last
