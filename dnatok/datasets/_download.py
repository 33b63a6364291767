"""Downloads for the dataset fetchers: retried, checked and atomic; and the cache they fill.

Every download streams to a unique temporary file in the destination folder,
checks the byte count the server announced and the SHA-256 where one is known, and
is renamed into place only when complete. Archives are extracted by
:func:`~dnatok.datasets._archive.extract_zip`, checked and bounded.
"""

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request

import numpy as np

__all__ = [
    "TransientDownloadError",
    "cache_lock",
    "check_checksum",
    "check_retries",
    "download",
    "read_record",
    "record_mismatch",
    "remove_leftovers",
    "sha256",
    "swap_in",
    "write_record",
]

_CHUNK_SIZE = 1 << 20
_TIMEOUT_SECONDS = 60


class TransientDownloadError(OSError):
    """A download failure that may succeed on retry (truncated body, 5xx, reset)."""


def check_retries(n_retries, delay):
    if isinstance(n_retries, bool) or not isinstance(n_retries, (int, np.integer)) or n_retries < 0:
        raise ValueError(f"n_retries must be a non-negative integer; got {n_retries!r}.")
    if isinstance(delay, bool) or not isinstance(delay, (int, float, np.number)) or not delay >= 0:
        raise ValueError(f"delay must be a non-negative number of seconds; got {delay!r}.")


def check_checksum(checksum):
    if checksum is None:
        return None
    normalized = str(checksum).strip().lower()
    if len(normalized) != 64 or any(c not in "0123456789abcdef" for c in normalized):
        raise ValueError(
            f"checksum must be a SHA-256 hex digest (64 hexadecimal characters); got "
            f"{checksum!r}. Compute one with `sha256sum <archive>`."
        )
    return normalized


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url, archive_path, expected_sha256, *, n_retries, delay, mirror_hint):
    """Download ``url`` to ``archive_path`` atomically, checking its SHA-256; returns the SHA-256."""
    folder, archive_name = os.path.split(archive_path)
    # A unique temporary name in the destination folder: parallel downloads do not
    # clash, and os.replace below is atomic because it stays on one file system.
    handle, partial_path = tempfile.mkstemp(prefix=f".{archive_name}.", suffix=".part", dir=folder)
    os.close(handle)
    try:
        actual_sha256 = _download_with_retries(url, partial_path, n_retries=n_retries, delay=delay, mirror_hint=mirror_hint)
        if expected_sha256 is not None and actual_sha256 != expected_sha256:
            raise OSError(
                f"SHA-256 checksum mismatch for {url}: expected {expected_sha256}, got "
                f"{actual_sha256}. The download is corrupted or the archive changed "
                f"upstream, so it was deleted. Try again; if you trust the new archive, "
                f"pass checksum={actual_sha256!r}."
            )
        os.replace(partial_path, archive_path)
        return actual_sha256
    finally:
        if os.path.exists(partial_path):
            os.remove(partial_path)


def _download_with_retries(url, path, *, n_retries, delay, mirror_hint):
    for attempts_left in range(n_retries, -1, -1):
        try:
            return _download_once(url, path, mirror_hint)
        except TransientDownloadError as error:
            if attempts_left == 0:
                raise OSError(
                    f"Could not download {url} after {n_retries + 1} attempt(s): {error}. "
                    f"Check your network connection, or {mirror_hint}."
                ) from error
            time.sleep(delay)


def _download_once(url, path, mirror_hint):
    """Stream ``url`` into ``path`` and return its SHA-256 hex digest."""
    digest = hashlib.sha256()
    n_bytes = 0
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_SECONDS) as response:
            expected_length = response.headers.get("Content-Length")
            with open(path, "wb") as out:
                for chunk in iter(lambda: response.read(_CHUNK_SIZE), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    n_bytes += len(chunk)
    except urllib.error.HTTPError as error:
        message = f"HTTP {error.code} {error.reason} for {url}"
        if error.code >= 500 or error.code == 429:
            raise TransientDownloadError(message) from error
        raise OSError(
            f"Could not download {url}: HTTP {error.code} {error.reason}. Check the "
            f"dataset name, or {mirror_hint}."
        ) from error
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as error:
        raise TransientDownloadError(f"{type(error).__name__}: {error}") from error
    # A server that closes the connection early ends the body without an error
    # from read(); only the byte count reveals the truncation.
    if expected_length is not None and n_bytes != int(expected_length):
        raise TransientDownloadError(
            f"connection closed after {n_bytes} of {expected_length} bytes from {url}"
        )
    return digest.hexdigest()


def read_record(path):
    """The JSON object in ``path``, or None where there is none (or it is unreadable)."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(path, record):
    """Write the JSON object ``record`` to ``path`` atomically (a temporary ``.<name>.*`` file, renamed)."""
    folder, name = os.path.split(os.fspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(record, out, indent=1, sort_keys=True)
            out.write("\n")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def record_mismatch(record, expected_sha256=None, url=None):
    """Why a cache record does not vouch for the archive asked for; None where it does.

    Parameters
    ----------
    record : dict or None
        What :func:`read_record` read beside the cached folder (None: no record).
    expected_sha256 : str or None
        The SHA-256 asked for (``checksum=``); None asks for none.
    url : str or None
        The source asked for; None asks for none.

    Returns
    -------
    reason : str or None
        Completes "the cached copy ...", for messages; None where the record says
        the cached copy came from that archive.
    """
    if expected_sha256 is None and url is None:
        return None
    if record is None:
        return "records no archive (it was cached before dnatok recorded one, or by hand)"
    if expected_sha256 is not None and record.get("sha256") != expected_sha256:
        return f"was extracted from an archive with SHA-256 {record.get('sha256')}, not {expected_sha256}"
    # the same bytes from another place are the archive asked for
    if expected_sha256 is None and url is not None and record.get("url") != url:
        return f"was downloaded from {record.get('url') or record.get('path')}, not {url}"
    return None


def swap_in(extracted, destination, record_path, record, *, prefix):
    """Move the complete, checked folder ``extracted`` to ``destination`` and record where it came from.

    A ``destination`` already there is replaced: it is renamed aside (into a
    temporary ``<prefix>retired.*`` folder beside it, which :func:`remove_leftovers`
    with that prefix deletes if the process is killed) and deleted only once the
    new copy is in place, so a failure leaves the old copy. The record is removed
    before the folder changes and written after, so a record always describes the
    folder beside it; a folder left without one (a process killed in between) is
    fetched again when an archive is asked for.

    Returns
    -------
    installed : bool
        False where, without a lock, another process put its copy in place first
        (it is kept, and that process writes its record).
    """
    cache = os.path.dirname(os.fspath(destination))
    if os.path.exists(record_path):
        os.remove(record_path)
    retired = None
    try:
        if os.path.isdir(destination):
            retired = tempfile.mkdtemp(prefix=f"{prefix}retired.", dir=cache)
            os.rename(destination, os.path.join(retired, "old"))
        try:
            os.rename(extracted, destination)
        except OSError:
            if os.path.isdir(destination):
                return False
            if retired is not None:
                os.rename(os.path.join(retired, "old"), destination)
            raise
        write_record(record_path, record)
        return True
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)


@contextlib.contextmanager
def cache_lock(folder, name):
    """Hold an exclusive lock on ``name`` in the cache ``folder`` (POSIX; a no-op elsewhere).

    One process at a time fetches a dataset: a second one waits, then finds it
    cached. Under the lock, leftovers of a killed fetch are safe to delete.
    Yields whether the lock is held (False where there are no advisory locks).
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; every step is still atomic
        yield False
        return
    with open(os.path.join(folder, f".{name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_leftovers(folder, prefix):
    """Delete temporary files and folders named ``prefix...`` (a killed fetch's).

    Call only while holding :func:`cache_lock` for the same dataset.
    """
    with os.scandir(folder) as entries:
        stale = [entry.path for entry in entries if entry.name.startswith(prefix) and not entry.name.endswith(".lock")]
    for path in stale:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
