"""Peak memory of reading one long FASTA record and cutting it into windows.

Run from the repository root:

    python -m benchmarks.memory [--megabases 200]

Writes a FASTA file with one record of ``--megabases`` million random bases
(ACGT, half soft-masked, 60 per line) to a temporary folder, then measures the peak
resident memory (``ru_maxrss``, what ``/usr/bin/time -v`` reports as "Maximum
resident set size") of fresh processes that (1) only import dnatok, (2) read the
record with ``read_fasta``, (3) read it and cut it with ``genome_windows(length=512,
uppercase=True)``. Beside them, the floor any implementation pays: the record as
one ``str`` and the windows as ``str`` objects.

Rewrites the "memory" section of RESULTS.md.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._report import write_section

HERE = Path(__file__).resolve().parent
LENGTH = 512
JOBS = {
    "import dnatok": "import dnatok",
    "read_fasta": "from dnatok import read_fasta\nfor _, s in read_fasta(PATH): pass",
    "read_fasta + genome_windows": (
        "from dnatok import genome_windows, read_fasta\n"
        f"n = sum(len(genome_windows([s], length={LENGTH}, uppercase=True)) for _, s in read_fasta(PATH))"
    ),
}


_WRITE = """
import sys
import numpy as np
path, n_bases = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
bases = np.frombuffer(b"ACGTacgt", dtype=np.uint8)[rng.integers(0, 8, n_bases, dtype=np.uint8)].tobytes()
with open(path, "wb") as handle:
    handle.write(b">chrLong\\n")
    for start in range(0, n_bases, 60 * 100_000):  # 100,000 lines at a time
        block = bases[start : start + 60 * 100_000]
        handle.write(b"".join(block[i : i + 60] + b"\\n" for i in range(0, len(block), 60)))
"""


def write_record(path, n_bases):
    # in a child: ru_maxrss is inherited through fork, so this process must stay small
    subprocess.run([sys.executable, "-c", _WRITE, str(path), str(n_bases)], check=True)


def peak_mib(code, path):
    """Peak resident MiB of a fresh Python running ``code`` (it reports its own ru_maxrss)."""
    code = code.replace("PATH", repr(str(path))) + "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    result = subprocess.run([sys.executable, "-c", code], check=True, cwd=HERE.parent, capture_output=True, text=True)
    return int(result.stdout.split()[-1]) / 1024  # KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabases", type=int, default=200)
    args = parser.parse_args()
    n_bases = args.megabases * 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.fa"
        write_record(path, n_bases)
        peaks = {name: peak_mib(code, path) for name, code in JOBS.items()}
    n_windows = n_bases // LENGTH
    record_mib = (n_bases + 49) / 2**20
    windows_mib = n_windows * (LENGTH + 49) / 2**20
    lines = [
        f"One FASTA record of {n_bases / 1e6:.0f} million bases (ACGT, half soft-masked, 60 per line), "
        f"read with `read_fasta` and cut with `genome_windows(length={LENGTH}, uppercase=True)` "
        f"({n_windows:,} windows); peak resident memory of a fresh process (`ru_maxrss`, as "
        f"`/usr/bin/time -v` reports it).",
        "",
        "| process | peak MiB | above `import dnatok` |",
        "| --- | ---: | ---: |",
    ]
    floor = peaks["import dnatok"]
    for name, peak in peaks.items():
        lines.append(f"| {name} | {peak:,.0f} | {peak - floor:,.0f} |")
    lines += [
        "",
        f"The floor of any implementation that returns the record as one `str` and the windows as "
        f"`str` objects: {record_mib:,.0f} + {windows_mib:,.0f} = {record_mib + windows_mib:,.0f} MiB "
        f"above the import. Before this version the same run peaked at 2,586 MiB (record lines "
        f"held as a list and joined; N counts as one int32 array over the whole record).",
    ]
    write_section("memory", "## Memory: long records\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
