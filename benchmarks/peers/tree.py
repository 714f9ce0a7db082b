"""Another commit's botkit, beside this checkout's, for a before/after in one run of a benchmark.

Two runs of one benchmark minutes apart differ by up to 30 % on a shared machine, so a change is
measured against the commit before it in the same run: ``git archive REF`` is extracted into a
temporary folder, and the children that should run that commit get it first on ``PYTHONPATH``
(this checkout's editable install is found after it) and a working directory of their own, so
that no ``./strategies`` folder is loaded twice.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def extracted(ref: str) -> Iterator[Path]:
    """The tree of commit ``ref`` of this repository, in a temporary folder removed afterwards."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=False)
    if archive.returncode:
        raise SystemExit(f"git archive {ref}: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="botkit-bench-ref-") as folder:
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        yield Path(folder)
