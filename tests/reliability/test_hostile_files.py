"""Scenario 15: hostile data files. A damaged or malicious snapshot file is named, never believed.

Snapshot files come from disks, copies and other people. This scenario gives ``botkit data
check``, ``data convert`` and ``backtest`` files an unlucky day or an attacker would:

- a ``.bks`` store with single bytes flipped at hundreds of positions spread over every part of the
  file (header, padding, records, trades, checksum table): every flip must be found and named
  (file, and chunk with its snapshot indexes), never replayed; a format-1 store (no checksums) is
  still read, and ``data check`` says it cannot vouch for it;
- store headers with absurd ``levels``, counts and chunk sizes: one line naming the file and the
  field, no MemoryError, no traceback;
- a ``.jsonl.gz`` line that decompresses to hundreds of MiB (a gzip bomb, a few hundred kB on
  disk) and a line nested a million levels deep: reported by file and line, skipped (or stopping
  a ``--strict`` run), with memory bounded (measured in a real ``botkit data check`` process);
- a ``--report`` directory that is read-only, a file, or already holds a report: refused before
  the run with one line and exit status 2; ``--force`` overwrites.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from botkit.cli import main
from botkit.core.errors import DataFileError
from botkit.data import JsonlReader, StoreReader, generate
from botkit.data.jsonl import MAX_LINE_BYTES, MAX_NESTING
from botkit.data.store import HEADER_SIZE, MAX_LEVELS, StoreWriter
from tests.reliability.conftest import Figures, scaled

SHIPPED = Path(__file__).resolve().parents[2] / "strategies"
FORMAT1 = Path(__file__).resolve().parents[1] / "data" / "files" / "format1.bks"


@pytest.fixture(scope="module")
def tally() -> Iterator[Figures]:
    fig = Figures("hostile_files")
    yield fig
    fig.save()


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def backtest(data: Path, *extra: str) -> Result:
    return cli("backtest", "--data", str(data), "--strategy-path", str(SHIPPED), "--strategy", "grid",
               "--no-progress", *extra)


def one_line(result: Result, status: int, *words: str) -> str:
    """The command stopped with ``status`` and exactly one ``botkit:`` line holding every word."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("botkit:")]
    assert result.exit_code == status, (result.exit_code, result.stderr[-2000:], result.stdout[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# ---------------------------------------------------------------------- checksums


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 snapshots with trades, 3 levels a side, checksummed 16 snapshots a chunk (19 chunks)."""
    folder = tmp_path_factory.mktemp("store")
    source = generate(folder / "market.jsonl.gz", 300, levels=3, seed=11, trades_kept=4)
    path = folder / "market.bks"
    with StoreWriter(path, levels=3, chunk=16) as writer:
        for snapshot in JsonlReader(source):
            writer.add_snapshot(snapshot)
    return path


def flipped(original: bytes, position: int, mask: int, out: Path) -> Path:
    data = bytearray(original)
    data[position] ^= mask
    out.write_bytes(bytes(data))
    return out


def test_every_flipped_byte_of_a_store_is_found_and_named(store: Path, tmp_path: Path, tally: Figures) -> None:
    original = store.read_bytes()
    reader = StoreReader(store)
    assert reader.version == 2 and reader.checksummed
    records_at, trades_at = HEADER_SIZE, reader._trades_offset
    table_at = trades_at + reader.trade_count * 32
    rng = random.Random(15)
    # Every region, its edges included: the header's JSON and padding and CRC, the records, the
    # trades, the checksum table and its own CRC; then seeded positions anywhere.
    positions = {0, 8, 12, 40, 200, HEADER_SIZE - 5, HEADER_SIZE - 4, HEADER_SIZE - 1, records_at,
                 trades_at - 1, trades_at, table_at - 1, table_at, len(original) - 5, len(original) - 1}
    positions |= {rng.randrange(len(original)) for _ in range(scaled(400))}
    damaged = tmp_path / "damaged.bks"
    found = 0
    for position in sorted(positions):
        flipped(original, position, rng.randrange(1, 256), damaged)
        result = cli("data", "check", str(damaged))
        text = result.stdout + result.stderr
        assert result.exit_code == 1, (position, text[-1500:])
        assert "Traceback" not in text
        assert str(damaged) in text
        if records_at <= position < trades_at:  # named by its chunk and snapshot indexes
            index = (position - records_at) // reader.dtype.itemsize // reader.chunk
            first = index * reader.chunk
            assert f"snapshots {first}-" in text and f"(chunk {index})" in text, (position, text[-1500:])
        elif trades_at <= position < table_at:  # the snapshots that list those trades
            assert "their trades" in text or "trade chunk" in text, (position, text[-1500:])
        elif position >= table_at:
            assert "checksum table" in text, (position, text[-1500:])
        else:
            assert "header" in text or (position < 8 and "bad magic" in text), (position, text[-1500:])
        found += 1
    tally["store_flips_total"] = len(positions)
    tally["store_flips_detected"] = found
    tally["store_bytes"] = len(original)
    assert found == len(positions)


def test_a_damaged_chunk_is_skipped_by_a_backtest_or_stops_it_when_strict(store: Path, tmp_path: Path) -> None:
    original = store.read_bytes()
    reader = StoreReader(store)
    chunk_bytes = reader.chunk * reader.dtype.itemsize
    damaged = flipped(original, HEADER_SIZE + 2 * chunk_bytes + 100, 0x10, tmp_path / "damaged.bks")
    result = backtest(damaged)
    assert result.exit_code == 0, result.stderr[-2000:]
    assert f"{damaged}: snapshots 32-47 (chunk 2) fail their checksum" in result.stderr
    assert re.search(r"^unreadable lines skipped\s+16\s*$", result.stdout, re.M), result.stdout
    assert re.search(r"^snapshots\s+284\s*$", result.stdout, re.M), result.stdout
    one_line(backtest(damaged, "--strict"), 1, str(damaged), "snapshots 32-47 (chunk 2) fail their checksum")
    # What is read back from the good chunks is exactly what was written.
    good = [s for i, s in enumerate(StoreReader(store)) if not 32 <= i < 48]
    assert list(StoreReader(damaged)) == good


def test_a_format_1_store_is_read_and_data_check_says_it_has_no_checksum(tmp_path: Path, tally: Figures) -> None:
    result = cli("data", "check", str(FORMAT1))
    assert result.exit_code == 0, result.stderr
    assert "50 good snapshot(s), 0 bad" in result.stdout
    assert "store format 1: it carries no checksum" in result.stdout
    assert "writes the checksummed format 2" in result.stderr
    # What the issue saw: flipped bytes inside format-1 records pass unnoticed (when they keep
    # the record's counts in range); format 2 exists for this.
    original = FORMAT1.read_bytes()
    rng = random.Random(1)
    unnoticed = 0
    damaged = tmp_path / "old.bks"
    for _ in range(30):
        # a price or quantity byte of a record (past the counts), where any value is plausible
        record = rng.randrange(50)
        position = HEADER_SIZE + record * StoreReader(FORMAT1).dtype.itemsize + 56 + rng.randrange(96)
        flipped(original, position, 1 << rng.randrange(4), damaged)
        if cli("data", "check", str(damaged)).exit_code == 0:
            unnoticed += 1
    tally["format1_flips_unnoticed_of_30"] = unnoticed
    # Converting it gives format 2, equal snapshot for snapshot.
    converted = tmp_path / "new.bks"
    assert cli("data", "convert", str(FORMAT1), str(converted)).exit_code == 0
    assert StoreReader(converted).version == 2
    assert list(StoreReader(converted)) == list(StoreReader(FORMAT1))


# ---------------------------------------------------------------------- absurd headers


def with_header(store: Path, out: Path, change: dict[str, object], *, version: int = 2) -> Path:
    """``store`` with its header's fields changed (and, for version 2, its checksum made right again)."""
    data = bytearray(store.read_bytes())
    length = int.from_bytes(data[8:12], "little")
    meta = json.loads(data[12 : 12 + length])
    meta.update(change)
    meta["version"] = version
    header = json.dumps(meta).encode()
    head = (data[:8] + len(header).to_bytes(4, "little") + header).ljust(HEADER_SIZE - 4, b"\0")
    crc = zlib.crc32(head).to_bytes(4, "little") if version == 2 else b"\0\0\0\0"
    out.write_bytes(bytes(head + crc + data[HEADER_SIZE:]))
    return out


ABSURD = [
    ({"levels": 10**12}, "levels"),
    ({"levels": MAX_LEVELS + 1}, "levels"),
    ({"levels": -3}, "levels"),
    ({"levels": "20"}, "levels"),
    ({"levels": 2.5}, "levels"),
    ({"levels": None}, "levels"),
    ({"snapshots": 10**30}, "snapshots"),
    ({"snapshots": -1}, "snapshots"),
    ({"trades": True}, "trades"),
    ({"snapshots": 10**15}, "bytes"),
    ({"chunk": 10**9}, "chunk"),
    ({"chunk": 0}, "chunk"),
    ({"trade_chunk": 10**9}, "trade_chunk"),
]
"""Header changes and the word the error must name; format 1 has no chunk fields."""


@pytest.mark.parametrize(("change", "field", "version"),
                         [(c, f, v) for v in (1, 2) for c, f in ABSURD if v == 2 or "chunk" not in f])
def test_an_absurd_store_header_is_one_line_naming_the_file_and_field(
    store: Path, tmp_path: Path, tally: Figures, change: dict[str, object], field: str, version: int,
) -> None:
    bad = with_header(store, tmp_path / "bad.bks", change, version=version)
    one_line(cli("data", "check", str(bad)), 1, str(bad), field)
    one_line(backtest(bad), 1, str(bad), field)
    one_line(cli("data", "convert", str(bad), str(tmp_path / "out.jsonl")), 1, str(bad), field)
    tally.add("absurd_headers_refused")


def test_a_header_that_is_not_an_object_or_overruns_its_space_is_refused(store: Path, tmp_path: Path) -> None:
    data = bytearray(store.read_bytes())
    for length, body in ((2, b"[]"), (0xFFFFFFFF, b""), (4, b"null")):
        head = (data[:8] + length.to_bytes(4, "little") + body).ljust(HEADER_SIZE - 4, b"\0")
        bad = tmp_path / "bad.bks"
        bad.write_bytes(bytes(head + zlib.crc32(head).to_bytes(4, "little") + data[HEADER_SIZE:]))
        one_line(cli("data", "check", str(bad)), 1, str(bad), "unreadable store header")


def test_a_store_writer_refuses_an_absurd_depth(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="levels"):
        StoreWriter(tmp_path / "deep.bks", levels=MAX_LEVELS + 1)
    result = cli("data", "generate", str(tmp_path / "g.bks"), "--levels", str(10**9))
    assert result.exit_code == 2 and "Traceback" not in result.stderr


# ---------------------------------------------------------------------- gzip bombs and deep lines


def hostile_jsonl(path: Path, good: list[bytes], bomb_bytes: int, depth: int) -> None:
    """Good lines 1-2, a bomb line 3 (``bomb_bytes`` of spaces), a deep line 4, then the rest."""
    with gzip.GzipFile(path, "wb", mtime=0, compresslevel=9) as out:
        out.writelines(good[:2])
        piece = b" " * (1 << 20)
        for _ in range(bomb_bytes >> 20):
            out.write(piece)
        out.write(b"\n")
        out.write(b'{"ts":1700000000001,"ticker":{"last":1,"bid":1,"ask":2},"orderbook":'
                  + b"[" * depth + b"]" * depth + b"}\n")
        out.writelines(good[2:])


@pytest.fixture(scope="module")
def good_lines() -> list[bytes]:
    return gzip.decompress(FORMAT1.with_suffix(".jsonl.gz").read_bytes()).splitlines(keepends=True)


MEASURE = """
import re, sys
from botkit.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
with open("/proc/self/status") as status:  # this program's own peak (ru_maxrss counts the forking parent's)
    print("peak_kb", re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1), file=sys.stderr)
sys.exit(code)
"""


def test_a_gzip_bomb_line_and_a_deep_line_are_reported_in_bounded_memory(
    tmp_path: Path, good_lines: list[bytes], tally: Figures,
) -> None:
    bomb = 256 << 20
    depth = 1_000_000
    path = tmp_path / "hostile.jsonl.gz"
    hostile_jsonl(path, good_lines, bomb, depth)
    proc = subprocess.run([sys.executable, "-c", MEASURE, "data", "check", str(path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert f"{path}:3: the line is {bomb + 1:,} bytes long, over the {MAX_LINE_BYTES:,}-byte limit" in proc.stderr
    assert f"{path}:4: the line nests lists or objects deeper than {MAX_NESTING} levels" in proc.stderr
    assert "50 good snapshot(s), 2 bad" in proc.stdout
    rss_mb = int(proc.stderr.split("peak_kb")[-1].split()[0]) / 1024
    assert rss_mb < 128, rss_mb  # the line alone is 256 MiB; a data check of a good file peaks at ~55 MB
    tally["gzip_bomb_file_kb"] = round(path.stat().st_size / 1024)
    tally["gzip_bomb_line_mib"] = bomb >> 20
    tally["gzip_bomb_check_peak_rss_mb"] = round(rss_mb)
    tally["deep_line_levels"] = depth


def test_convert_and_backtest_skip_the_hostile_lines_or_stop_when_strict(
    tmp_path: Path, good_lines: list[bytes],
) -> None:
    path = tmp_path / "hostile.jsonl.gz"
    hostile_jsonl(path, good_lines, 16 << 20, 100_000)
    result = cli("data", "convert", str(path), str(tmp_path / "out.bks"))
    assert result.exit_code == 0, result.stderr[-2000:]
    assert "50 snapshot(s) written" in result.stderr and "2 unreadable line(s) skipped" in result.stderr
    assert f"{path}:3: the line is" in result.stderr and f"{path}:4: the line nests" in result.stderr
    assert list(StoreReader(tmp_path / "out.bks")) == list(JsonlReader(FORMAT1.with_suffix(".jsonl.gz")))
    one_line(cli("data", "convert", "--strict", str(path), str(tmp_path / "strict.bks")), 1, f"{path}:3:")
    result = backtest(path)
    assert result.exit_code == 0, result.stderr[-2000:]
    assert re.search(r"^unreadable lines skipped\s+2\s*$", result.stdout, re.M), result.stdout
    one_line(backtest(path, "--strict"), 1, f"{path}:3:", "bytes long")


def test_a_line_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    """The bound is on the line, not a guess: 8 MiB of line (newline apart) is read; one more byte is not."""
    for extra, readable in ((0, True), (1, False)):
        path = tmp_path / f"edge{extra}.jsonl"
        line = b'{"ts":1,"ticker":{"last":1,"bid":1,"ask":2},"orderbook":{"bid":[],"ask":[]}}'
        path.write_bytes(line.ljust(MAX_LINE_BYTES + extra) + b"\n" + line + b"\n")
        reader = JsonlReader(path)
        assert len(list(reader)) == (2 if readable else 1)
        assert reader.bad_lines == (0 if readable else 1)


# ---------------------------------------------------------------------- --report


@pytest.fixture
def market(tmp_path: Path) -> Path:
    return generate(tmp_path / "market.bks", 300, levels=3, seed=5)


def test_an_existing_report_is_refused_before_the_run_and_overwritten_with_force(
    market: Path, tmp_path: Path, tally: Figures,
) -> None:
    report = tmp_path / "report"
    assert backtest(market, "--report", str(report)).exit_code == 0
    first = (report / "report.json").read_bytes()
    (report / "report.json").write_text("kept")
    result = backtest(market, "--report", str(report))
    one_line(result, 2, "--report", str(report), "--force")
    assert result.stdout == ""  # refused up front: no run, no table
    assert (report / "report.json").read_text() == "kept"
    result = backtest(market, "--report", str(report), "--force")
    assert result.exit_code == 0, result.stderr[-2000:]
    assert (report / "report.json").read_bytes() == first
    # An empty directory (made beforehand) holds no report: used as it is.
    (tmp_path / "empty").mkdir()
    assert backtest(market, "--report", str(tmp_path / "empty")).exit_code == 0
    # A sweep's --report is held to the same rule.
    sweep = ("--sweep", "grid.step=2,5", "--workers", "1")
    one_line(backtest(market, *sweep, "--report", str(report)), 2, "--report", "--force")
    tally.add("report_dirs_refused", 2)


def test_a_report_path_that_is_a_file_is_refused(market: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("x")
    result = backtest(market, "--report", str(target))  # click's own check
    assert result.exit_code == 2 and "is a file" in result.stderr and result.stdout == ""
    one_line(backtest(market, "--report", str(target / "inside")), 2, "--report")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on a read-only file system (a real one: root ignores permission bits)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                             capture_output=True, check=False).returncode == 0
    if not mounted:
        folder.chmod(0o555)
        probe = folder / "probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("no read-only file system available (not root, and permissions do not bind)")
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_a_read_only_report_directory_is_refused_before_the_run(
    market: Path, read_only_dir: Path, tally: Figures,
) -> None:
    for target in (read_only_dir, read_only_dir / "new" / "report"):
        result = backtest(market, "--report", str(target))
        one_line(result, 2, "--report", "cannot write in", str(read_only_dir))
        assert result.stdout == ""
    tally.add("report_dirs_refused", 2)


def test_reading_a_damaged_store_in_python_raises_only_data_file_errors(store: Path, tmp_path: Path) -> None:
    """The Python API: opening or iterating a damaged store, strict, raises DataFileError, nothing else."""
    original = store.read_bytes()
    rng = random.Random(7)
    damaged = tmp_path / "damaged.bks"
    for _ in range(100):
        flipped(original, rng.randrange(len(original)), rng.randrange(1, 256), damaged)
        with pytest.raises(DataFileError, match=re.escape(str(damaged))):
            list(StoreReader(damaged, strict=True))


def test_record_counts_out_of_range_are_skipped_not_used_as_indexes(tmp_path: Path) -> None:
    """A format-1 store has no checksum: a record whose counts point outside the file is caught anyway."""
    reader = StoreReader(FORMAT1)
    size = reader.dtype.itemsize
    fields = reader.dtype.fields
    assert fields is not None
    data = bytearray(FORMAT1.read_bytes())
    for record, field, value in ((3, "nbid", 99), (7, "ntrades", -5), (11, "trade_end", 10**9), (13, "flags", 6)):
        offset = HEADER_SIZE + record * size + fields[field][1]
        width = fields[field][0].itemsize
        data[offset : offset + width] = value.to_bytes(width, "little", signed=True)
    damaged = tmp_path / "counts.bks"
    damaged.write_bytes(bytes(data))
    result = cli("data", "check", str(damaged))
    assert result.exit_code == 1
    for record in (3, 7, 11, 13):
        assert f"{damaged}: snapshot {record}: its record's counts or time are out of range" in result.stderr
    assert "46 good snapshot(s), 4 bad" in result.stdout
    one_line(backtest(damaged, "--strict"), 1, "snapshot 3:")


def test_a_chunk_listing_more_trades_than_a_chunk_may_is_skipped(
    store: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trades a chunk of snapshots lists are bounded (what reading them holds in memory)."""
    from botkit.data import store as store_module

    monkeypatch.setattr(store_module, "MAX_CHUNK_TRADES", 3)
    reader = StoreReader(store)
    assert list(reader) == []
    assert reader.bad_lines == 300
    with pytest.raises(DataFileError, match=r"snapshots 0-15 \(chunk 0\) list trades 0-\d+, more than the 3 "):
        list(StoreReader(store, strict=True))
