"""Helpers shared by the benchmark scripts: timing, machine description, RESULTS.md.

Each script owns one section of ``benchmarks/RESULTS.md``, between
``<!-- name:start -->`` and ``<!-- name:end -->``, and rewrites only that section,
so the scripts can be rerun independently. The sections of removed scripts are left
as they are: no script writes their names.
"""

import datetime
import os
import platform
import re
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
SHARED_DATA = Path(
    os.environ.get("DNATOK_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
).resolve()


def wall_times(function, repeats=5, warmup=1):
    """Wall times (s) of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def best_time(function, repeats=5, warmup=1):
    """Smallest wall time of ``repeats`` calls after ``warmup`` untimed ones."""
    return min(wall_times(function, repeats, warmup))


def machine():
    """One line: CPU model, cores, memory, Python and key library versions."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kib = int(next(line.split()[1] for line in handle if line.startswith("MemTotal")))
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    import numpy
    import sklearn
    import tokenizers
    import torch

    return (
        f"{model}, {os.cpu_count()} cores{memory}; Python {sys.version.split()[0]}, numpy "
        f"{numpy.__version__}, scikit-learn {sklearn.__version__}, tokenizers "
        f"{tokenizers.__version__}, torch {torch.__version__}"
    )


def write_section(name, body):
    """Replace (or append) section ``name`` of RESULTS.md with ``body``."""
    # the scripts run as modules (python -m benchmarks.NAME): argv[0] is the module's file
    command = " ".join(["python -m", f"benchmarks.{Path(sys.argv[0]).stem}", *sys.argv[1:]])
    today = datetime.date.today().isoformat()
    section = (
        f"<!-- {name}:start -->\n{body.strip()}\n\n"
        f"Command: `{command}` \nMachine: {machine()} \nDate: {today}\n<!-- {name}:end -->"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nWritten by the scripts in this folder; rerun a script to refresh its section.\n"
    pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)
    print(section)
