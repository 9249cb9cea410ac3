"""How much CPU other processes took while the benchmark ran: they slow every contender.

The machine's busy time comes from /proc/stat; the benchmark's own (the runner and its
children) from getrusage; the difference is everyone else's.
"""

import os
import resource
import time
from pathlib import Path


def _machine_busy_seconds() -> float:
    # First line: cpu user nice system idle iowait irq softirq steal ... (clock ticks).
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


class OtherWork:
    """CPU seconds used by other processes from creation until `summary()`."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._machine = _machine_busy_seconds()
        self._own = _own_cpu_seconds()

    def cores(self) -> float:
        """Other processes' CPU use so far, in cores kept busy on average."""
        elapsed = time.monotonic() - self._started
        return self._seconds() / elapsed if elapsed else 0.0

    def summary(self) -> str:
        elapsed = time.monotonic() - self._started
        return f"{self._seconds():.0f} CPU s over {elapsed:.0f} s ({self.cores():.2f} cores)"

    def _seconds(self) -> float:
        machine = _machine_busy_seconds() - self._machine
        return max(machine - (_own_cpu_seconds() - self._own), 0.0)


def busy_cores_now(sample_seconds: float = 1.0) -> float:
    """Cores other processes keep busy right now, sampled over `sample_seconds`."""
    others = OtherWork()
    time.sleep(sample_seconds)
    return others.cores()
