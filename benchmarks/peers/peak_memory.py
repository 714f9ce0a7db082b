"""A child's peak memory, read the same way in every contender's process (either venv).

``VmHWM`` rather than ``ru_maxrss``: after a fork, ``ru_maxrss`` starts from the parent's peak.
"""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    """This process's peak resident set, in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
