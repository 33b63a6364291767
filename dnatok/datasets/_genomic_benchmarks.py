"""Fetching the Genomic Benchmarks datasets (Grešová et al. 2023) into a local cache.

Upstream (the ``genomic-benchmarks`` package) publishes each dataset as one zip
archive, ``<name>_v<version>.zip``, in Zenodo record 16605299 (earlier releases
used Google Drive). The archive holds one folder per dataset::

    <name>/train/<class_name>/<id>.txt
    <name>/test/<class_name>/<id>.txt

with one sequence per file, no header and no trailing newline.

The fetcher downloads an archive once into ``<data_home>/genomic_benchmarks/``,
checks its SHA-256 where one is known, checks every member and bounds the
extraction (:class:`~dnatok.datasets.ArchiveLimits`), extracts it into
``<data_home>/genomic_benchmarks/<name>_v<version>/`` and deletes the archive.
Every step writes to a temporary name in the same folder and renames it into place
only when complete, so an interrupted or failed download never leaves something
that looks like a cached dataset. ``<name>_v<version>.archive.json`` beside the
folder records the archive it came from (URL, size, SHA-256): a call that asks for
another archive (``checksum=``, ``base_url=``) downloads it and swaps it in
atomically instead of reading the cached copy of a different one.
"""

import difflib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch

from ._archive import ArchiveLimits, check_limits, extract_zip
from ._download import (
    cache_lock,
    check_checksum,
    check_retries,
    download,
    read_record,
    record_mismatch,
    remove_leftovers,
    sha256,
    swap_in,
    write_record,
)
from ._home import get_data_home

__all__ = [
    "fetch_genomic_benchmark",
    "list_genomic_benchmarks",
    "DEFAULT_BASE_URL",
    "BASE_URL_ENV",
]

#: Folder that holds the upstream archives (Zenodo record 16605299).
DEFAULT_BASE_URL = "https://zenodo.org/records/16605299/files"
#: Environment variable that replaces :data:`DEFAULT_BASE_URL`, e.g. for a mirror.
BASE_URL_ENV = "DNATOK_GENOMIC_BENCHMARKS_URL"

_CACHE_SUBFOLDER = "genomic_benchmarks"
# beside each dataset folder: which archive it was extracted from
_RECORD_SUFFIX = ".archive.json"
_SUBSETS = ("train", "test", "all")
_SPLITS = ("train", "test")
_MIRROR_HINT = (
    f"set base_url= (or ${BASE_URL_ENV}) to a mirror: the folder that holds <name>_v<version>.zip"
)
_CITATION = (
    "Grešová K., Martinek V., Čechák D., Šimeček P., Alexiou P. (2023). Genomic "
    "benchmarks: a collection of datasets for genomic sequence classification. "
    "BMC Genomic Data 24, 25. https://doi.org/10.1186/s12863-023-01123-8"
)
_UPSTREAM = "https://github.com/ML-Bioinfo-CEITEC/genomic_benchmarks"
# One file per sequence: the largest dataset (human_ensembl_regulatory) has about
# 290,000, beyond the GUE default of 100,000 members.
_DEFAULT_LIMITS = ArchiveLimits(max_members=1_000_000)


@dataclass(frozen=True)
class _GenomicBenchmark:
    """What is known about one upstream dataset without downloading it."""

    class_names: tuple
    description: str
    version: int = 0
    # SHA-256 of <name>_v<version>.zip. Upstream publishes none, and this package is
    # built without network access, so none is recorded: a download is checked for
    # its announced size only, unless the caller passes ``checksum=``.
    sha256: str | None = None


# Names, versions and class folders as listed by upstream's cloud cache
# (src/genomic_benchmarks/loc2seq/cloud_caching.py) and datasets/*/metadata.yaml.
_GENOMIC_BENCHMARKS = {
    "demo_coding_vs_intergenomic_seqs": _GenomicBenchmark(
        ("coding_seqs", "intergenomic_seqs"),
        "Human protein-coding transcript sequences versus random intergenomic "
        "sequences (a demo dataset).",
    ),
    "demo_human_or_worm": _GenomicBenchmark(
        ("human", "worm"),
        "Random sequences of the human genome versus random sequences of the "
        "C. elegans genome (a demo dataset).",
    ),
    "drosophila_enhancers_stark": _GenomicBenchmark(
        ("negative", "positive"),
        "Drosophila melanogaster enhancers (Stark lab) versus negative sequences.",
    ),
    "dummy_mouse_enhancers_ensembl": _GenomicBenchmark(
        ("negative", "positive"),
        "A small set of mouse enhancers from Ensembl versus negative sequences, "
        "meant for tests.",
    ),
    "human_enhancers_cohn": _GenomicBenchmark(
        ("negative", "positive"),
        "Human enhancers from Cohn et al. (2018) versus negative sequences.",
    ),
    "human_enhancers_ensembl": _GenomicBenchmark(
        ("negative", "positive"),
        "Human enhancers from Ensembl versus negative sequences.",
    ),
    "human_ensembl_regulatory": _GenomicBenchmark(
        ("enhancer", "ocr", "promoter"),
        "Human regulatory elements from the Ensembl regulatory build: enhancers, "
        "open chromatin regions (ocr) and promoters.",
    ),
    "human_nontata_promoters": _GenomicBenchmark(
        ("negative", "positive"),
        "Human non-TATA promoters versus non-promoter sequences, all 251 bp long.",
    ),
    "human_ocr_ensembl": _GenomicBenchmark(
        ("negative", "positive"),
        "Human open chromatin regions from Ensembl versus negative sequences.",
    ),
}


def list_genomic_benchmarks():
    """Return the names of the Genomic Benchmarks datasets that can be fetched.

    Returns
    -------
    names : list of str
        Sorted dataset names, each a valid ``name`` for
        :func:`fetch_genomic_benchmark`.

    Examples
    --------
    >>> from dnatok.datasets import list_genomic_benchmarks
    >>> "human_nontata_promoters" in list_genomic_benchmarks()
    True
    """
    return sorted(_GENOMIC_BENCHMARKS)


def fetch_genomic_benchmark(
    name,
    *,
    subset="train",
    data_home=None,
    download_if_missing=True,
    version=None,
    base_url=None,
    checksum=None,
    return_X_y=False,
    n_retries=3,
    delay=1.0,
    limits=None,
):
    """Load a Genomic Benchmarks dataset, downloading it on first use.

    The Genomic Benchmarks (Grešová et al. 2023) are DNA sequence classification
    datasets: each class is a kind of genomic region (promoter, enhancer, ...) and
    each sample is one sequence. The first call downloads the dataset archive into
    ``data_home``; later calls read the cached copy without touching the network.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"human_nontata_promoters"``. See
        :func:`list_genomic_benchmarks` for all names.
    subset : {"train", "test", "all"}, default="train"
        Which split to load. ``"all"`` returns the training sequences followed by
        the test sequences.
    data_home : str or path-like, default=None
        Cache folder, see :func:`get_data_home`. Defaults to ``$DNATOK_DATA`` or
        ``~/dnatok_data``.
    download_if_missing : bool, default=True
        If False, raise an OSError instead of downloading a dataset that is not
        cached.
    version : int, default=None
        Dataset version. None means the version this package knows (0 for all
        datasets at the time of writing). Another version is fetched as
        ``<name>_v<version>.zip`` with no known checksum.
    base_url : str, default=None
        URL of the folder holding the archives; the archive URL is
        ``<base_url>/<name>_v<version>.zip``. None means ``$DNATOK_GENOMIC_BENCHMARKS_URL``
        if set, else :data:`DEFAULT_BASE_URL` (Zenodo). ``file://`` URLs work too.
        A base URL you name (here or in the environment variable) is checked
        against the URL the cached copy was downloaded from (recorded in
        ``<data_home>/genomic_benchmarks/<name>_v<version>.archive.json``): a
        copy from elsewhere (or cached before dnatok recorded its source) is
        downloaded again and replaced atomically (not extracted again where it
        has the same SHA-256). With neither, whatever is cached is used.
    checksum : str, default=None
        Expected SHA-256 (64 hex digits) of the archive. Overrides the checksum
        this package knows. Checked on download, and against the cached copy's
        record: a copy of another archive (or an unrecorded one) is downloaded
        again and replaced atomically.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    n_retries : int, default=3
        How many times to retry a download that failed in a way that may be
        temporary (connection reset, truncated body, HTTP 5xx).
    delay : float, default=1.0
        Seconds to wait between retries.
    limits : ArchiveLimits, default=None
        How far the archive may expand before it is refused; None is
        ``ArchiveLimits(max_members=1_000_000)`` (one member per sequence).

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : list of str
            The DNA sequences.
        target : ndarray of shape (n_samples,), dtype int64
            The labels: ``target_names[target[i]]`` is the class of ``data[i]``.
        target_names : list of str
            The class folder names, sorted. The same for every subset.
        DESCR : str
            Description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        If ``name``, ``subset``, ``version``, ``checksum`` or ``limits`` is not valid.
    UnsafeArchiveError
        If the archive was refused (a ValueError and an OSError): a member with an
        absolute or ``..`` path, a symbolic link, an encrypted member, a
        compression method other than stored or deflate, a header that lies about
        a member's size, or more than ``limits`` allow. It is deleted.
    OSError
        If the dataset is not cached (or the cached copy is not from the archive
        ``checksum`` or ``base_url`` names) and ``download_if_missing`` is False,
        if the download fails, if its checksum does not match, or if the archive
        is not in the Genomic Benchmarks layout. A failed or refused download
        leaves a cached copy as it was.

    Examples
    --------
    >>> from dnatok.datasets import fetch_genomic_benchmark
    >>> promoters = fetch_genomic_benchmark("human_nontata_promoters")  # doctest: +SKIP
    >>> promoters.target_names  # doctest: +SKIP
    ['negative', 'positive']
    >>> X, y = fetch_genomic_benchmark(
    ...     "human_nontata_promoters", subset="test", return_X_y=True
    ... )  # doctest: +SKIP
    """
    benchmark = _check_name(name)
    _check_subset(subset)
    version = _check_version(version, benchmark)
    check_retries(n_retries, delay)
    expected_sha256 = check_checksum(checksum)
    limits = check_limits(limits, _DEFAULT_LIMITS)
    if expected_sha256 is None and version == benchmark.version:
        expected_sha256 = benchmark.sha256

    cache_folder = os.path.join(get_data_home(data_home), _CACHE_SUBFOLDER)
    os.makedirs(cache_folder, exist_ok=True)
    dataset_folder = _ensure_cached(
        name,
        version,
        cache_folder,
        download_if_missing=download_if_missing,
        base_url=base_url,
        expected_sha256=expected_sha256,
        n_retries=n_retries,
        delay=delay,
        limits=limits,
    )

    target_names = _class_folders(dataset_folder)
    splits = _SPLITS if subset == "all" else (subset,)
    data, target = [], []
    for split in splits:
        split_data, split_target = _read_split(os.path.join(dataset_folder, split), target_names)
        data.extend(split_data)
        target.extend(split_target)
    target = np.asarray(target, dtype=np.int64)

    if return_X_y:
        return data, target
    descr = _describe(name, version, benchmark, subset, target, target_names)
    return Bunch(data=data, target=target, target_names=target_names, DESCR=descr)


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _check_name(name):
    if isinstance(name, str) and name in _GENOMIC_BENCHMARKS:
        return _GENOMIC_BENCHMARKS[name]
    known = list_genomic_benchmarks()
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"Unknown Genomic Benchmarks dataset {name!r}.{hint} Known datasets: {', '.join(known)}."
    )


def _check_subset(subset):
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}.")


def _check_version(version, benchmark):
    if version is None:
        return benchmark.version
    # bool is an int subclass; version=True is surely a mistake
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 0:
        raise ValueError(
            f"version must be a non-negative integer or None (the known version, "
            f"{benchmark.version}); got {version!r}."
        )
    return int(version)


def _resolve_base_url(base_url):
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return str(base_url).rstrip("/")


# --------------------------------------------------------------------------
# Cache, download and extraction
# --------------------------------------------------------------------------


def _ensure_cached(
    name, version, cache_folder, *, download_if_missing, base_url, expected_sha256, n_retries, delay, limits
):
    """Return the extracted dataset folder, downloading and extracting it if needed.

    The folder only ever appears by an atomic rename of a complete extraction, and
    ``<name>_v<version>.archive.json`` beside it records the archive it came from.
    A request that names its archive (a checksum, or a base URL given as
    ``base_url=`` or ``$DNATOK_GENOMIC_BENCHMARKS_URL``) is served from the cache
    only if the record says the cache holds that archive (the same SHA-256; without
    a checksum, the same URL); otherwise the archive is downloaded and swapped in.
    A request for the default source takes whatever is cached.
    """
    stem = f"{name}_v{version}"
    dataset_folder = os.path.join(cache_folder, stem)
    record_path = os.path.join(cache_folder, stem + _RECORD_SUFFIX)
    archive_path = os.path.join(cache_folder, f"{stem}.zip")
    url = f"{_resolve_base_url(base_url)}/{stem}.zip"
    named_url = url if base_url is not None or os.environ.get(BASE_URL_ENV) else None

    def mismatch():
        """Why the cached folder is not the archive asked for; None where it is."""
        return record_mismatch(read_record(record_path), expected_sha256, named_url)

    if os.path.isdir(dataset_folder) and mismatch() is None:
        return dataset_folder

    # one process at a time: a second one waits, then finds the folder cached
    with cache_lock(cache_folder, stem) as locked:
        if os.path.isdir(dataset_folder) and mismatch() is None:
            return dataset_folder
        if locked:  # .part downloads, staging and retired folders of a killed earlier fetch
            remove_leftovers(cache_folder, f".{stem}.")
        # An archive left by an interrupted earlier call saves a download, if a checksum
        # says it is the one asked for; an unverified one could have come from anywhere.
        digest = None
        if os.path.isfile(archive_path):
            digest = None if expected_sha256 is None else sha256(archive_path)
            if digest is None or digest != expected_sha256:
                os.remove(archive_path)
        if not os.path.isfile(archive_path):
            if not download_if_missing and os.path.isdir(dataset_folder):
                raise OSError(
                    f"The cached Genomic Benchmarks dataset {name!r} (version {version}) in {cache_folder} "
                    f"{mismatch()}, and download_if_missing=False. Call again with download_if_missing=True "
                    f"to download {url} in its place, or leave out checksum= and base_url= (and "
                    f"${BASE_URL_ENV}) to use the cached copy."
                )
            if not download_if_missing:
                raise OSError(
                    f"Genomic Benchmarks dataset {name!r} (version {version}) is not in "
                    f"the cache folder {cache_folder} and download_if_missing=False. "
                    f"Call again with download_if_missing=True to download it from "
                    f"{url}, or pass the data_home that holds it."
                )
            digest = download(url, archive_path, expected_sha256, n_retries=n_retries, delay=delay,
                              mirror_hint=_MIRROR_HINT)
        try:
            record = {"sha256": digest, "size": os.path.getsize(archive_path), "url": url,
                      "expected_sha256": expected_sha256}
            cached = read_record(record_path) if os.path.isdir(dataset_folder) else None
            if cached is not None and cached.get("sha256") == digest:
                write_record(record_path, record)  # the same archive from another place: nothing to extract
            else:
                _extract(archive_path, dataset_folder, name=name, url=url, limits=limits, record=record)
        finally:  # extracted, or refused: either way the archive has served
            if os.path.exists(archive_path):
                os.remove(archive_path)
    return dataset_folder


def _extract(archive_path, dataset_folder, *, name, url, limits, record):
    """Extract the archive's dataset folder to ``dataset_folder`` atomically, with its record.

    A ``dataset_folder`` already there (from another archive) is replaced only once
    the new copy is extracted and checked, so a refused archive leaves it as it was.
    """
    cache_folder = os.path.dirname(dataset_folder)
    stem = os.path.basename(dataset_folder)
    staging_folder = tempfile.mkdtemp(prefix=f".{stem}.", dir=cache_folder)
    try:
        try:
            extract_zip(archive_path, staging_folder, source=url, limits=limits)
        except zipfile.BadZipFile as error:
            raise OSError(
                f"The archive downloaded from {url} is not a valid zip file ({error}); "
                f"it was deleted. Check that base_url points at the Genomic Benchmarks "
                f"archives, then try again."
            ) from error
        extracted_root = _find_dataset_root(staging_folder, name)
        if extracted_root is None:
            raise OSError(
                f"The archive downloaded from {url} is not in the Genomic Benchmarks "
                f"layout: expected {name}/train/<class>/<id>.txt and "
                f"{name}/test/<class>/<id>.txt. It was deleted."
            )
        swap_in(extracted_root, dataset_folder, os.path.join(cache_folder, stem + _RECORD_SUFFIX), record,
                prefix=f".{stem}.")
    finally:
        shutil.rmtree(staging_folder, ignore_errors=True)


def _find_dataset_root(staging_folder, name):
    """Return the extracted folder that holds train/ and test/, or None."""
    candidates = [os.path.join(staging_folder, name), staging_folder]
    subfolders = _visible_subfolders(staging_folder)
    if len(subfolders) == 1:
        candidates.append(os.path.join(staging_folder, subfolders[0]))
    for candidate in candidates:
        if all(os.path.isdir(os.path.join(candidate, split)) for split in _SPLITS):
            return candidate
    return None


# --------------------------------------------------------------------------
# Reading the extracted layout
# --------------------------------------------------------------------------


def _visible_subfolders(folder):
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith((".", "__")))


def _class_folders(dataset_folder):
    # The union over both splits, so labels mean the same in train and test.
    names = set()
    for split in _SPLITS:
        names.update(_visible_subfolders(os.path.join(dataset_folder, split)))
    return sorted(names)


def _sequence_file_order(file_name):
    # Upstream ids are integers: order 2.txt before 10.txt.
    stem = file_name[: -len(".txt")]
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def _read_split(split_folder, target_names):
    data, target = [], []
    for label, class_name in enumerate(target_names):
        class_folder = os.path.join(split_folder, class_name)
        if not os.path.isdir(class_folder):
            continue
        with os.scandir(class_folder) as entries:
            file_names = [e.name for e in entries if e.name.endswith(".txt") and e.is_file()]
        file_names.sort(key=_sequence_file_order)
        for file_name in file_names:
            with open(os.path.join(class_folder, file_name), encoding="utf-8") as handle:
                data.append(handle.read().strip())
        target.extend([label] * len(file_names))
    return data, target


def _describe(name, version, benchmark, subset, target, target_names):
    counts = np.bincount(target, minlength=len(target_names))
    class_lines = "\n".join(
        f"    {label}: {class_name} ({count} sequences)"
        for label, (class_name, count) in enumerate(zip(target_names, counts))
    )
    title = f"Genomic Benchmarks: {name} (version {version})"
    return (
        f"{title}\n{'=' * len(title)}\n\n{benchmark.description}\n\n"
        f"Subset {subset!r}: {len(target)} sequences.\nClasses (label: name):\n{class_lines}\n\n"
        f"Source: {_UPSTREAM}\nReference: {_CITATION}\n"
    )
