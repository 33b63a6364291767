"""GUE, the Genome Understanding Evaluation of DNABERT-2 (Zhou et al., ICLR 2024).

28 classification tasks in 7 groups, each a folder of three CSV files
(``sequence,label``, a header row)::

    GUE/<group>/<task>/train.csv
    GUE/<group>/<task>/dev.csv
    GUE/<group>/<task>/test.csv

Upstream distributes them as one zip archive (``GUE.zip``); see :data:`GUE_URLS`
for where it lives. The fetcher downloads the archive once into
``<data_home>/gue/``, checks its size and SHA-256 (where known), checks every
member and bounds the extraction (:class:`~dnatok.datasets.ArchiveLimits`),
extracts it to a temporary folder and renames the ``GUE`` folder into place only
when complete, then deletes the archive. ``<data_home>/gue/GUE.archive.json``
records which archive the folder came from, so that an archive asked for by
``archive=`` or ``checksum=`` is never mistaken for another one cached. A user who
downloaded the archive (or unpacked it) passes it as ``archive=``.
"""

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._tables import read_sequence_csv
from ._archive import check_limits, extract_zip
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
)
from ._home import get_data_home

__all__ = ["GUE_TASKS", "GUE_URLS", "fetch_gue", "list_gue_tasks", "published_gue_scores"]

#: Task path -> what it is. The paths are the archive's folders below ``GUE/``.
GUE_TASKS = {
    **{f"EMP/{mark}": f"yeast epigenetic mark {mark} (histone occupancy / modification), 500 bp"
       for mark in ("H3", "H3K14ac", "H3K36me3", "H3K4me1", "H3K4me2", "H3K4me3", "H3K79me3", "H3K9ac", "H4", "H4ac")},
    "prom/prom_300_all": "human promoter detection, 300 bp, TATA and non-TATA",
    "prom/prom_300_notata": "human promoter detection, 300 bp, non-TATA",
    "prom/prom_300_tata": "human promoter detection, 300 bp, TATA",
    "prom/prom_core_all": "human core promoter detection, 70 bp, TATA and non-TATA",
    "prom/prom_core_notata": "human core promoter detection, 70 bp, non-TATA",
    "prom/prom_core_tata": "human core promoter detection, 70 bp, TATA",
    **{f"tf/{i}": f"human transcription-factor binding site {i} (ENCODE ChIP-seq), 100 bp" for i in range(5)},
    **{f"mouse/{i}": f"mouse transcription-factor binding site {i} (ENCODE ChIP-seq), 100 bp" for i in range(5)},
    "splice/reconstructed": "human splice site prediction (donor, acceptor, neither), 400 bp",
    "virus/covid": "SARS-CoV-2 variant classification (9 variants), 1,000 bp",
}
_SPLITS = ("train", "dev", "test")
_SUBSETS = (*_SPLITS, "all")

#: Where the GUE archive is published. ``fetch_gue`` downloads ``url=`` (or
#: ``$DNATOK_GUE_URL``) and otherwise the first of these.
#:
#: The authors link the archive from the DNABERT-2 README (github.com/MAGICS-LAB/DNABERT_2)
#: on Google Drive, https://drive.google.com/file/d/1GRtbzTe3UXYF1oW27ASNhYX3SZ16D7N2,
#: which serves large files only through a confirmation page: download it in a browser
#: (or with ``gdown``) and pass ``archive=``. The default is a copy of the same
#: ``GUE.zip`` (upstream layout, about 400 MB) on the Hugging Face hub, kept by a user,
#: not by the authors; other copies there (``dnagpt/GUE``: the CSV files in the upstream
#: layout; ``leannmlindsey/GUE``: renamed folders) can be downloaded and passed as
#: ``archive=`` folders where the layout matches.
GUE_URLS = (
    "https://huggingface.co/datasets/mtapiapacheco/GUE-benchmarks/resolve/main/GUE.zip",
)
URL_ENV = "DNATOK_GUE_URL"
_MIRROR_HINT = (
    f"pass url= (or set ${URL_ENV}) to a copy of GUE.zip, or download it yourself "
    f"(the DNABERT-2 README links it) and pass archive="
)
_CACHE_SUBFOLDER = "gue"
# beside the GUE folder: which archive it was extracted from
_RECORD_NAME = "GUE.archive.json"
_CITATION = (
    "Zhou Z., Ji Y., Li W., Dutta P., Davuluri R., Liu H. (2024). DNABERT-2: Efficient "
    "Foundation Model and Benchmark For Multi-Species Genomes. ICLR 2024. "
    "https://github.com/MAGICS-LAB/DNABERT_2"
)


def list_gue_tasks():
    """The 28 GUE task paths, each a valid ``task`` for :func:`fetch_gue`.

    Examples
    --------
    >>> from dnatok.datasets import list_gue_tasks
    >>> len(list_gue_tasks()), "prom/prom_core_tata" in list_gue_tasks()
    (28, True)
    """
    return list(GUE_TASKS)


def fetch_gue(
    task=None,
    *,
    subset="train",
    data_home=None,
    archive=None,
    download_if_missing=True,
    url=None,
    checksum=None,
    return_X_y=False,
    n_retries=3,
    delay=1.0,
    limits=None,
):
    """Load a GUE task (or all of them), downloading the benchmark on first use.

    Parameters
    ----------
    task : str or None, default=None
        A task path, e.g. ``"tf/0"``, ``"prom/prom_core_tata"``, ``"EMP/H3K4me3"``
        (see :func:`list_gue_tasks`); None loads every task found.
    subset : {"train", "dev", "test", "all"}, default="train"
        Which split; ``"all"`` is train, then dev, then test.
    data_home : str or path-like, default=None
        Cache folder, see :func:`get_data_home`.
    archive : str or path-like, default=None
        A GUE archive you downloaded (``GUE.zip``) or a folder in its layout (with
        or without the top ``GUE/`` folder); a folder is read in place. A zip is
        checked and extracted into the cache, which records the zip's SHA-256
        (``<data_home>/gue/GUE.archive.json``): the same zip again is not extracted
        again, and a different one replaces the cached copy atomically (extracted
        beside it, then swapped in; a refused zip leaves the cache as it was). No
        network is used. Without ``archive``, whatever is cached is used, unless
        ``checksum`` asks for another archive.
    download_if_missing : bool, default=True
        If False, raise an OSError instead of downloading.
    url : str, default=None
        URL of ``GUE.zip``; None means ``$DNATOK_GUE_URL`` if set, else the first
        of :data:`GUE_URLS`. ``file://`` URLs work too.
    checksum : str, default=None
        Expected SHA-256 of the archive (64 hex digits), checked on download and on
        a local ``archive`` zip. Without ``archive``, the cached copy is used only if
        its record says it was extracted from an archive with this SHA-256; else
        the archive is downloaded, checked and swapped in atomically (with
        ``download_if_missing=False``, an OSError says what the cache holds).
    return_X_y : bool, default=False
        Return ``(sequences, labels)`` instead of a Bunch.
    n_retries : int, default=3
        Retries of a download that failed in a way that may be temporary.
    delay : float, default=1.0
        Seconds between retries.
    limits : ArchiveLimits, default=None
        How far the zip may expand (in all, per member, in members, compression
        ratio) before it is refused; None is ``ArchiveLimits()``. Raise a limit to
        extract a larger archive you trust.

    Returns
    -------
    dataset : Bunch, or (list of str, ndarray) with ``return_X_y``
        ``data`` (sequences), ``target`` (labels), ``task``, ``subset``,
        ``DESCR``. With ``task=None``, a dict from task path to one of these.

    Raises
    ------
    ValueError
        An unknown task or subset, a malformed checksum or ``limits``.
    UnsafeArchiveError
        The zip was refused (a ValueError and an OSError): a member with an
        absolute or ``..`` path, a symbolic link, an encrypted member, a
        compression method other than stored or deflate, a header that lies about
        a member's size, or more than ``limits`` allow. The message names the
        member and the limit to raise.
    OSError
        The download failed, the checksum did not match, the archive is not a
        zip in the GUE layout, the task is missing from the data, or (with
        ``download_if_missing=False``) GUE is not cached or the cached copy is not
        from the archive ``checksum`` names.

    Examples
    --------
    >>> from dnatok.datasets import fetch_gue
    >>> X, y = fetch_gue("prom/prom_core_tata", subset="dev", return_X_y=True)  # doctest: +SKIP
    >>> tasks = fetch_gue(archive="GUE.zip", subset="test")  # every task  # doctest: +SKIP
    """
    if task is not None and task not in GUE_TASKS:
        import difflib

        close = difflib.get_close_matches(str(task), list(GUE_TASKS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown GUE task {task!r}.{hint} Tasks: {', '.join(GUE_TASKS)}.")
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}.")
    check_retries(n_retries, delay)
    expected_sha256 = check_checksum(checksum)
    root = gue_folder(data_home=data_home, archive=archive, download_if_missing=download_if_missing,
                      url=url, expected_sha256=expected_sha256, n_retries=n_retries, delay=delay, limits=limits)
    if task is not None:
        return _load(root, task, subset, return_X_y)
    found = [t for t in GUE_TASKS if (root / t).is_dir()]
    if not found:
        raise OSError(f"{root} holds no GUE task folder (<group>/<task>/train.csv).")
    return {t: _load(root, t, subset, return_X_y) for t in found}


def gue_folder(*, data_home=None, archive=None, download_if_missing=True, url=None, expected_sha256=None,
               n_retries=3, delay=1.0, limits=None):
    """The folder that holds ``<group>/<task>/{train,dev,test}.csv``, fetching it if needed.

    Parameters are those of :func:`fetch_gue` (``expected_sha256`` is its checked
    ``checksum``). A folder ``archive`` is returned as it is; a zip ``archive`` is
    extracted into the cache unless the cache records that it holds this zip
    (the same SHA-256), replacing a cached copy of another archive, or of an
    unrecorded one, atomically. Without ``archive``, a cached folder is returned
    as it is (with ``expected_sha256``: only if its record has that SHA-256),
    else GUE is downloaded.
    """
    limits = check_limits(limits)
    identity = None
    if archive is not None:
        archive = Path(archive)
        if archive.is_dir():
            return archive / "GUE" if (archive / "GUE").is_dir() else archive
        if not archive.is_file():
            raise OSError(f"archive={str(archive)!r} is neither a GUE zip file nor a folder.")
        identity = _local_identity(archive)
        if expected_sha256 is not None:
            identity["sha256"] = sha256(archive)
            if identity["sha256"] != expected_sha256:
                raise OSError(f"SHA-256 checksum mismatch for {archive}: expected {expected_sha256}, got "
                              f"{identity['sha256']}.")
    cache = Path(get_data_home(data_home)) / _CACHE_SUBFOLDER
    root = cache / "GUE"
    record_path = cache / _RECORD_NAME

    def cached():
        # it only ever appears by an atomic rename of a complete extraction; a zip or a
        # checksum asks for one archive, and only the record can say the folder holds it
        if not root.is_dir():
            return False
        if archive is not None:
            return _holds(record_path, identity, archive)
        return record_mismatch(read_record(record_path), expected_sha256) is None

    if cached():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with cache_lock(cache, "GUE") as locked:  # one process at a time; a second finds it cached
        if cached():
            return root
        if locked:  # without a lock the leftovers could be another process's work
            remove_leftovers(cache, ".GUE.")  # .part downloads and staging of a killed fetch
        if archive is not None:
            if identity["sha256"] is None:
                identity["sha256"] = sha256(archive)
            _extract(archive, root, source=str(archive), delete=False, record=identity, limits=limits)
            return root
        source = (url or os.environ.get(URL_ENV) or GUE_URLS[0]).rstrip("/")
        zip_path = cache / "GUE.zip"
        # a complete archive left by a fetch killed while extracting saves a download
        digest = None
        if zip_path.is_file() and expected_sha256 is not None:
            digest = sha256(zip_path)
            if digest != expected_sha256:
                zip_path.unlink()
                digest = None
        if not zip_path.is_file():
            if not download_if_missing and root.is_dir():
                mismatch = record_mismatch(read_record(record_path), expected_sha256)
                raise OSError(
                    f"The GUE cached in {cache} {mismatch}, and download_if_missing=False. Call again "
                    f"with download_if_missing=True to download the archive with that checksum from "
                    f"{source} in its place, pass archive= (that GUE.zip), or leave out checksum= to "
                    f"use the cached copy."
                )
            if not download_if_missing:
                raise OSError(
                    f"GUE is not in the cache folder {cache} and download_if_missing=False. Call "
                    f"again with download_if_missing=True to download it from {source}, or pass "
                    f"archive= (a GUE.zip or folder you have)."
                )
            digest = download(source, str(zip_path), expected_sha256, n_retries=n_retries, delay=delay,
                              mirror_hint=_MIRROR_HINT)
        try:
            record = {"sha256": digest or sha256(zip_path), "size": zip_path.stat().st_size, "url": source,
                      "expected_sha256": expected_sha256}
            _extract(zip_path, root, source=source, delete=True, record=record, limits=limits)
        finally:  # extracted, or refused: either way the archive has served
            if zip_path.exists():
                zip_path.unlink()
    return root


def _local_identity(archive):
    """What the cache record says of a local zip; ``sha256`` is filled in when it is needed."""
    status = archive.stat()
    return {"sha256": None, "size": status.st_size, "path": str(archive.resolve()), "mtime_ns": status.st_mtime_ns}


def _holds(record_path, identity, archive):
    """Whether the cache record says that the GUE folder was extracted from ``archive``.

    The same file (path, size and modification time) as recorded is not hashed
    again; any other is, and matches on its SHA-256 (stored in ``identity``).
    """
    record = read_record(record_path)
    if record is None or not isinstance(record.get("sha256"), str):
        return False  # nothing recorded (a cache from before the record): extract again
    if identity["sha256"] is None:
        if all(record.get(key) == identity[key] for key in ("path", "size", "mtime_ns")):
            return True
        identity["sha256"] = sha256(archive)
    return record["sha256"] == identity["sha256"]


def _extract(archive, root, *, source, delete, record, limits):
    """Extract a GUE zip so that ``root`` (with its record) appears complete or not at all.

    A ``root`` already there is replaced: the new copy is extracted and checked
    beside it first, so a refused or broken archive leaves the cache as it was.
    """
    cache = root.parent
    staging = Path(tempfile.mkdtemp(prefix=".GUE.staging.", dir=cache))
    try:
        try:
            extract_zip(archive, staging, source=source, limits=limits)
        except zipfile.BadZipFile as error:
            raise OSError(
                f"{source} is not a valid zip file ({error}); "
                + ("it was deleted. Try again, or pass archive= with a copy you trust." if delete else
                   "download GUE.zip again.")
            ) from error
        extracted = staging / "GUE" if (staging / "GUE").is_dir() else staging
        if not any((extracted / t / "train.csv").is_file() for t in GUE_TASKS):
            raise OSError(
                f"{source} is not in the GUE layout: expected GUE/<group>/<task>/train.csv "
                f"(e.g. GUE/tf/0/train.csv)."
            )
        swap_in(extracted, root, cache / _RECORD_NAME, record, prefix=".GUE.")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _load(root, task, subset, return_X_y):
    folder = root / task
    splits = _SPLITS if subset == "all" else (subset,)
    missing = [s for s in splits if not (folder / f"{s}.csv").is_file()]
    if missing:
        raise OSError(f"GUE task {task!r} has no {', '.join(s + '.csv' for s in missing)} in {folder}.")
    data, target = [], []
    for split in splits:
        sequences, labels = read_sequence_csv(folder / f"{split}.csv")
        data.extend(sequences)
        target.extend(labels.tolist())
    target = np.asarray(target)
    if return_X_y:
        return data, target
    description = (
        f"GUE {task}: {GUE_TASKS[task]}.\nSubset {subset!r}: {len(data)} sequences, "
        f"{len(np.unique(target))} classes. Scored by Matthews correlation on the test split.\n\n"
        f"Reference: {_CITATION}\n"
    )
    return Bunch(data=data, target=target, task=task, subset=subset, DESCR=description)


def published_gue_scores():
    """Published per-task test scores of DNABERT-2 and Nucleotide Transformer (2.5B, multi-species).

    From Table 6 of the DNABERT-2 paper (the data file ``gue_published.csv`` in this
    package names the source and how the numbers were checked). Scores are
    fractions (the paper's values / 100): Matthews correlation, except
    ``virus/covid`` (F1). A model without a published value for a task has None.

    Returns
    -------
    scores : dict
        ``{task: {"metric": "mcc" or "f1", "DNABERT-2": float, "NT-2500M-multi": float or None}}``

    Examples
    --------
    >>> published_gue_scores()["prom/prom_core_tata"]["DNABERT-2"]
    0.7417
    """
    import csv
    from importlib import resources

    text = resources.files("dnatok.datasets").joinpath("data", "gue_published.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))

    def fraction(cell):
        return None if cell == "" else round(float(cell) / 100, 6)

    return {row["task"]: {"metric": row["metric"], "DNABERT-2": fraction(row["dnabert2"]),
                          "NT-2500M-multi": fraction(row["nt_2500m_multi"])} for row in rows}
