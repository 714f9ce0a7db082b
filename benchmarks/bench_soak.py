"""The soak at the issue's size: 50,000 ticks of the real daemon against the embedded sandbox,
with RSS, open file descriptors and threads sampled along the way and drawn to a PNG.

    python benchmarks/bench_soak.py [--ticks 50000] [--out benchmarks/output/soak.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tqdm import tqdm  # noqa: E402

from tests.reliability.soak import SoakResult, soak  # noqa: E402


def plot(result: SoakResult, out: Path) -> None:
    ticks = [s.ticks for s in result.samples]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    axes[0].plot(ticks, [s.rss_mb for s in result.samples], color="tab:blue")
    axes[0].set_ylabel("RSS (MB)")
    axes[1].plot(ticks, [s.fds for s in result.samples], color="tab:orange")
    axes[1].set_ylabel("open fds")
    axes[2].plot(ticks, [s.threads for s in result.samples], color="tab:green")
    axes[2].set_ylabel("threads")
    axes[2].set_xlabel("ticks")
    fig.suptitle(f"botkit soak: {result.ticks:,} ticks against the embedded sandbox "
                 f"(RSS {result.rss_growth() * 100:+.1f}% after warm-up)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "output" / "soak.png")
    args = parser.parse_args(argv)
    with tqdm(total=args.ticks, unit="tick", disable=not sys.stderr.isatty()) as bar:
        result = soak(args.ticks, samples=100, progress=lambda t: bar.update(t - bar.n))
    steady = result.after_warmup()
    print(f"ticks {result.ticks:,} (skipped {result.skipped}, overlaps {result.overlaps}), "
          f"orders placed {result.placed:,}, fills {result.fills:,}, {steady[-1].seconds:.0f} s")
    print(f"RSS after warm-up {steady[0].rss_mb:.1f} MB -> end {steady[-1].rss_mb:.1f} MB "
          f"({result.rss_growth() * 100:+.1f}%)")
    print(f"open fds {min(s.fds for s in steady)}..{max(s.fds for s in steady)}, "
          f"threads {min(s.threads for s in steady)}..{max(s.threads for s in steady)}")
    plot(result, args.out)
    print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
