"""Datasets: synthetic DNA classification problems and fetchers for public benchmarks.

Fetched datasets are cached under :func:`get_data_home` (``~/dnatok_data`` by
default, or ``$DNATOK_DATA``) and downloaded only once.
"""

from ._archive import ArchiveLimits, UnsafeArchiveError
from ._genomic_benchmarks import fetch_genomic_benchmark, list_genomic_benchmarks
from ._gue import GUE_TASKS, GUE_URLS, fetch_gue, list_gue_tasks, published_gue_scores
from ._home import clear_data_home, get_data_home
from ._synthetic import make_motif_classification

__all__ = [
    "ArchiveLimits",
    "GUE_TASKS",
    "GUE_URLS",
    "clear_data_home",
    "fetch_genomic_benchmark",
    "fetch_gue",
    "get_data_home",
    "list_genomic_benchmarks",
    "list_gue_tasks",
    "published_gue_scores",
    "make_motif_classification",
    "UnsafeArchiveError",
]
