"""Bounded, checked extraction of the zip archives the dataset fetchers download.

A fetched archive is not trusted: before anything is written, every member is
checked in the zip's central directory (its path, its type, encryption,
compression method, and sizes against :class:`ArchiveLimits`), and while each
member is decompressed the bytes actually written are held to the size its
header declares (the size that passed the limits), so a header that lies about
its size cannot get past them.
"""

import copy
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, fields
from numbers import Integral, Real

__all__ = ["ArchiveLimits", "UnsafeArchiveError", "check_limits", "extract_zip"]

_CHUNK_SIZE = 1 << 20
#: The compression ratio is checked only above this many bytes (per member, and for
#: the whole archive): a small file of repeated text compresses well and harms no one.
RATIO_MIN_SIZE = 1 << 20
# Only these are decompressed in bounded steps by zipfile (zlib's max_length); its
# bzip2 and LZMA readers decompress a whole read at once, which a bomb could blow up
# to gigabytes before a byte of it is counted.
_BOUNDED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 99: "AES encryption"}


class UnsafeArchiveError(OSError, ValueError):
    """A zip archive that dnatok refuses to extract.

    Raised for a member with an absolute or ``..`` path, a symbolic link or other
    special file, an encrypted member, a compression method whose decompression
    cannot be bounded, and an archive that expands past its :class:`ArchiveLimits`.
    Both a ValueError (the input is bad) and an OSError (as the fetchers' other
    archive errors), so ``except`` clauses written for either catch it.
    """


@dataclass(frozen=True)
class ArchiveLimits:
    """How far a zip archive may expand before the dataset fetchers refuse it.

    Each limit is checked in the archive's central directory before anything is
    extracted; while each member is decompressed, the bytes actually written are
    held to the size its header declared there. None switches a limit off. Raise a limit to extract a larger
    archive you trust, e.g. ``fetch_gue(archive="GUE.zip",
    limits=ArchiveLimits(max_total_size=16 << 30))``.

    The defaults leave ample headroom over GUE (a few hundred MB in under 100 CSV
    files, each far below 1 GiB) and over any one Genomic Benchmarks dataset, while
    a zip bomb is refused: sequence text compresses about 4-fold, deflated zeros
    about 1000-fold.

    Parameters
    ----------
    max_total_size : int or None, default=4 GiB
        Bytes all members together may expand to.
    max_member_size : int or None, default=1 GiB
        Bytes one member may expand to.
    max_members : int or None, default=100_000
        Number of members (files and folders).
    max_ratio : float or None, default=200
        How many times its compressed size a member, and the whole archive, may
        expand to; checked only above 1 MiB of expanded data (small files of
        repeated text compress well and are harmless).

    Examples
    --------
    >>> from dnatok.datasets import ArchiveLimits
    >>> ArchiveLimits().max_members
    100000
    >>> ArchiveLimits(max_total_size=16 << 30).max_total_size
    17179869184
    """

    max_total_size: int | None = 4 << 30
    max_member_size: int | None = 1 << 30
    max_members: int | None = 100_000
    max_ratio: float | None = 200

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            kind = Real if field.name == "max_ratio" else Integral
            if value is not None and (isinstance(value, bool) or not isinstance(value, kind) or not value > 0):
                what = "number" if kind is Real else "integer"
                raise ValueError(f"ArchiveLimits.{field.name} must be a positive {what} or None (no limit); got {value!r}.")


def check_limits(limits, default=None):
    """``limits`` if it is an :class:`ArchiveLimits`, ``default`` (or the defaults) if None."""
    if limits is None:
        return ArchiveLimits() if default is None else default
    if not isinstance(limits, ArchiveLimits):
        raise TypeError(
            f"limits must be a dnatok.datasets.ArchiveLimits or None; got {type(limits).__name__}: {limits!r}."
        )
    return limits


def extract_zip(path, destination, *, source, limits):
    """Extract every member of the zip ``path`` into the existing folder ``destination``.

    Parameters
    ----------
    path : str or path-like
        The zip file.
    destination : str or path-like
        An empty folder, e.g. a staging folder the caller removes on error.
    source : str
        Where the archive came from (a URL or a path), for messages.
    limits : ArchiveLimits

    Raises
    ------
    UnsafeArchiveError
        A member is unsafe or the archive expands past ``limits``; the message
        names the member, what is wrong, and the limit to raise where there is one.
        Members extracted before the refusal stay in ``destination``.
    zipfile.BadZipFile
        The file is not a zip, or a member's data is corrupt (CRC, truncation).
    """
    destination = os.path.abspath(os.fspath(destination))
    try:
        handle = zipfile.ZipFile(path)
    except NotImplementedError as error:  # e.g. a zip version newer than zipfile knows
        raise UnsafeArchiveError(f"Refusing to extract the archive from {source}: {error}.") from error
    with handle:
        members = handle.infolist()
        _check_members(members, source, limits)
        for info in members:
            target = _target(destination, info.filename, source)
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _stream_member(handle, info, target, source)


def _refuse(source, message):
    return UnsafeArchiveError(f"Refusing to extract the archive from {source}: {message}")


def _raise_hint(field):
    return f"If you trust the archive, raise the limit: limits=ArchiveLimits({field}=...)."


def _check_members(members, source, limits):
    """Refuse, from the central directory alone, an archive that is unsafe or too large."""
    if limits.max_members is not None and len(members) > limits.max_members:
        raise _refuse(source, f"it has {len(members):,} members, more than the limit of {limits.max_members:,}. "
                              + _raise_hint("max_members"))
    total_size = total_compressed = 0
    for info in members:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise _refuse(source, f"unsafe member path {name!r} (absolute, or with '..'): it would land "
                                  f"outside the extraction folder.")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _refuse(source, f"member {name!r} is a symbolic link; an archive may hold only files and folders.")
        if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise _refuse(source, f"member {name!r} is a special file (mode {oct(mode)}); an archive may hold "
                                  f"only files and folders.")
        if info.flag_bits & 0x1:
            raise _refuse(source, f"member {name!r} is encrypted; only unencrypted archives are extracted. "
                                  f"Decrypt it (unzip with its password, zip again) and pass that archive.")
        if info.compress_type not in _BOUNDED_METHODS:
            raise _refuse(source, _method_message(name, info.compress_type))
        if limits.max_member_size is not None and info.file_size > limits.max_member_size:
            raise _refuse(source, f"member {name!r} expands to {info.file_size:,} bytes, more than the limit of "
                                  f"{limits.max_member_size:,} bytes per member. " + _raise_hint("max_member_size"))
        _check_ratio(source, name, info.file_size, info.compress_size, limits)
        total_size += info.file_size
        total_compressed += info.compress_size
    if limits.max_total_size is not None and total_size > limits.max_total_size:
        raise _refuse(source, f"its members expand to {total_size:,} bytes in all, more than the limit of "
                              f"{limits.max_total_size:,} bytes. " + _raise_hint("max_total_size"))
    _check_ratio(source, None, total_size, total_compressed, limits)


def _method_message(name, method):
    label = _METHOD_NAMES.get(method, "unknown")
    return (f"member {name!r} uses compression method {method} ({label}), which cannot be decompressed in bounded "
            f"steps here; only stored and deflate members are extracted. Unpack it with another tool and zip it "
            f"again with deflate (e.g. `zip -r GUE.zip GUE`).")


def _check_ratio(source, name, size, compressed, limits):
    if limits.max_ratio is None or size <= RATIO_MIN_SIZE or size <= limits.max_ratio * compressed:
        return
    what = "its members expand" if name is None else f"member {name!r} expands"
    ratio = size / compressed if compressed else float("inf")
    raise _refuse(source, f"{what} {ratio:,.0f}-fold ({size:,} bytes from {compressed:,} compressed), more than the "
                          f"limit of {limits.max_ratio:,}-fold (a zip bomb?). " + _raise_hint("max_ratio"))


def _target(destination, name, source):
    parts = [part for part in name.split("/") if part not in ("", ".")]
    target = os.path.join(destination, *parts)
    # already ruled out by the path check; a second guard costs nothing
    if os.path.commonpath([destination, os.path.abspath(target)]) != destination:
        raise _refuse(source, f"unsafe member path {name!r}: it would land outside the extraction folder.")
    return target


def _stream_member(handle, info, target, source):
    """Decompress one member into ``target``, no further than the size its header declares."""
    name, declared = info.filename, info.file_size
    # zipfile would stop the member at the size its header declares (and then fail
    # its CRC check); declared as larger, it goes on, and this loop stops it one
    # byte past the declared size, so a header that lies shows itself as such.
    probe = copy.copy(info)
    probe.file_size = declared + _CHUNK_SIZE
    try:
        reader = handle.open(probe)
    except (NotImplementedError, RuntimeError) as error:  # zipfile cannot decompress it here
        raise _refuse(source, f"member {name!r} cannot be extracted ({error}).") from error
    written = 0
    with reader, open(target, "wb") as out:
        while True:
            try:
                chunk = reader.read(min(_CHUNK_SIZE, declared + 1 - written))
            except (zlib.error, EOFError) as error:
                raise zipfile.BadZipFile(f"member {name!r} is corrupt: {error}") from error
            if not chunk:
                break
            written += len(chunk)
            # the declared sizes passed every limit in the central directory, so holding
            # each member to its declared size holds the bytes written to the limits too
            if written > declared:
                raise _refuse(source, f"member {name!r} decompresses to more than the {declared:,} bytes its header "
                                      f"declares: the header lies (a zip bomb?) or the archive is corrupt.")
            out.write(chunk)
    if written < declared:
        raise zipfile.BadZipFile(f"member {name!r} is truncated: {written:,} of the {declared:,} bytes its header "
                                 f"declares")
