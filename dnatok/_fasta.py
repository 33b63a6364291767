"""Reading and writing FASTA files, plain or gzip-compressed.

:func:`read_fasta` streams records one at a time: only the lines of the current
record are held in memory, so a multi-gigabyte genome can be cut into windows
record by record. Compression is detected from the file's first bytes, not from its
name. :func:`write_fasta` writes to a temporary file next to the target and renames
it into place, so a reader never sees a half-written file.
"""

import contextlib
import gzip
import os
import secrets
import zlib

__all__ = ["read_fasta", "write_fasta"]

_GZIP_MAGIC = b"\x1f\x8b"


def _open_binary(path, stack):
    """Open ``path`` for binary reading, decompressing it when it is gzip."""
    raw = stack.enter_context(open(path, "rb"))
    magic = raw.read(2)
    raw.seek(0)
    if magic == _GZIP_MAGIC:
        # gzip.GzipFile reads multi-member files too (bgzip, concatenated .gz)
        return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


def _decode(data, path, what, first_line=1):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        where = _where_not_utf8(path, first_line)
        raise ValueError(
            f"{path}: {what} is not valid UTF-8 text"
            + (f"; the first bad byte is on {where}" if where else "")
            + ". DNA files are ASCII text: is this a FASTA file? If it is, convert it to ASCII or UTF-8."
        ) from None


def _decode_sequence(buffer, path, header_line):
    return _decode(buffer, path, f"the sequence of the record at line {header_line}", header_line)


def _split_lines(raw):
    """The lines in one chunk of a binary line iterator, which ends lines at LF only.

    A CRLF ending is one line break; a lone CR (old Mac files) is one too, so a
    CR-only file, one "line" to the binary reader, is split here.
    """
    if b"\r" not in raw:
        return (raw,)
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    return raw.split(b"\r")


def _lines(handle, path):
    """Numbered lines of a binary file, ending at LF, CRLF or a lone CR."""
    line_number = 0
    try:
        for raw in handle:
            for line in _split_lines(raw):
                line_number += 1
                yield line_number, line
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ValueError(_damaged_gzip_message(path, line_number, error)) from None


def _damaged_gzip_message(path, line_number, error):
    return (
        f"{path}: the compressed data ends or breaks after line {line_number} ({error}); "
        f"the file is truncated or damaged. Download or copy it again."
    )


def _find_invalid_utf8(path, first_line=1):
    """Where the first byte that is not UTF-8 lies, from line ``first_line`` on.

    Only called to explain a decoding error, so it reads the file again rather than
    slowing the normal read with bookkeeping. A UTF-8 character never contains the
    byte of LF or CR, so decoding line by line finds exactly the bytes that a whole
    decode rejects.

    Returns
    -------
    (line_number, byte_offset, bad_bytes, compressed) or None
        ``byte_offset`` counts from the start of the file (of the decompressed data
        when ``compressed``); ``None`` if no such byte is found (or the file cannot
        be read that far).
    """
    try:
        with contextlib.ExitStack() as stack:
            handle = _open_binary(path, stack)
            compressed = isinstance(handle, gzip.GzipFile)
            line_number, offset = 0, 0
            for raw in handle:
                start = offset
                for line in _split_lines(raw):
                    line_number += 1
                    if line_number >= first_line:
                        try:
                            line.decode("utf-8")
                        except UnicodeDecodeError as error:
                            bad = line[error.start : error.end]
                            return line_number, start + error.start, bad, compressed
                    start += len(line) + 1  # the CR after it (a CRLF ends the chunk)
                offset += len(raw)
    except (OSError, EOFError, zlib.error):
        pass
    return None


def _where_not_utf8(path, first_line=1):
    """``"line N (b'\\xff' at byte offset X)"`` for an error message, or ``None``."""
    found = _find_invalid_utf8(path, first_line)
    if found is None:
        return None
    line_number, offset, bad, compressed = found
    data = " of the decompressed data" if compressed else ""
    return f"line {line_number} ({bad!r} at byte offset {offset}{data})"


def read_fasta(path, *, full_header=False):
    """Stream the records of a FASTA file, plain or gzip-compressed.

    Parameters
    ----------
    path : str or os.PathLike
        FASTA file. Gzip compression is detected from the file's magic bytes,
        whatever its name.
    full_header : bool, default=False
        By default a record's name is its header line without the ``>``, up to the
        first whitespace (the sequence identifier, e.g. ``chrI``). With
        ``full_header=True`` the whole header line is returned instead
        (identifier and description, e.g. ``chrI some description``), stripped of
        surrounding whitespace.

    Returns
    -------
    records : generator of (str, str)
        ``(name, sequence)`` per record, in file order. The lines of a record are
        joined with no separator; case is kept (soft-masked repeats stay
        lowercase) and so are N runs. Blank lines are ignored; lines may end in
        LF, CRLF or a lone CR. A record with no sequence lines yields an empty sequence; an
        empty file yields no records.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (raised at once, not on first iteration).
    ValueError
        While iterating, if the first non-blank line does not start with ``>``
        (the file is not FASTA), the file is not UTF-8 text (the message gives the
        line and byte offset of the first offending byte), or a gzip file is
        truncated or damaged; the message names the path and line.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "two.fa")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write(">chr1 first\\nACGT\\nacNN\\n\\n>chr2\\nTTTT\\n")
    >>> list(read_fasta(path))
    [('chr1', 'ACGTacNN'), ('chr2', 'TTTT')]
    >>> next(read_fasta(path, full_header=True))[0]
    'chr1 first'
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"FASTA file not found: {path}")
    return _iter_fasta(path, full_header)


def _iter_fasta(path, full_header):
    with contextlib.ExitStack() as stack:
        handle = _open_binary(path, stack)
        header = None
        header_line = 0
        # one growing buffer per record: a 200 MB chromosome costs its bytes once
        # (a list of line chunks and their join cost about three times that)
        buffer = bytearray()
        for line_number, line in _lines(handle, path):
            line = line.strip()
            if not line:
                continue
            if line.startswith(b">"):
                if header is not None:
                    sequence, buffer = _decode_sequence(buffer, path, header_line), None
                    yield header, sequence  # the buffer is freed while the caller works
                header_line = line_number
                header = _decode(line[1:].strip(), path, f"the header at line {line_number}", line_number)
                if not full_header:
                    fields = header.split(maxsplit=1)
                    header = fields[0] if fields else ""
                buffer = bytearray()
            elif header is None:
                shown = line[:40].decode("utf-8", errors="replace")
                raise ValueError(
                    f"{path} is not a FASTA file: line {line_number} does not start "
                    f"with '>' (found {shown!r}). A FASTA file starts with a header "
                    f"line such as '>chr1'."
                )
            else:
                buffer += line
        if header is not None:
            sequence, buffer = _decode_sequence(buffer, path, header_line), None
            yield header, sequence


def write_fasta(records, path, line_width=60):
    """Write ``(name, sequence)`` records to a FASTA file, atomically.

    Parameters
    ----------
    records : iterable of (str, str)
        ``(name, sequence)`` pairs, e.g. from :func:`read_fasta`. The name becomes
        the header line after ``>`` (it may include a description after a space).
    path : str or os.PathLike
        Target file; gzip-compressed when the name ends in ``.gz``. It is written
        to a temporary file in the same folder and renamed over ``path`` only once
        complete, so an existing file is never left half-written.
    line_width : int or None, default=60
        Bases per sequence line; ``None`` writes each sequence on one line.

    Returns
    -------
    n_records : int
        Number of records written.

    Raises
    ------
    ValueError
        If ``line_width`` is not a positive integer, a record is not a pair, or a
        name or sequence contains a line break (it would corrupt the file).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.fa.gz")
    >>> write_fasta([("chr1", "ACGTACGTAC"), ("chr2", "nnAC")], path, line_width=4)
    2
    >>> list(read_fasta(path))
    [('chr1', 'ACGTACGTAC'), ('chr2', 'nnAC')]
    """
    if line_width is not None and (
        isinstance(line_width, bool) or not isinstance(line_width, int) or line_width < 1
    ):
        raise ValueError(f"line_width must be a positive integer or None, got {line_width!r}.")
    path = os.fspath(path)
    folder, basename = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{basename}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 lets the umask set the final permissions, as open() would
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "wb") as raw:
            if path.endswith(".gz"):
                # mtime=0 and the final name in the header: same input, same bytes
                with gzip.GzipFile(
                    filename=basename, mode="wb", fileobj=raw, compresslevel=6, mtime=0
                ) as compressed:
                    n_records = _write_records(records, compressed, line_width)
            else:
                n_records = _write_records(records, raw, line_width)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    return n_records


def _write_records(records, handle, line_width):
    n_records = 0
    for index, record in enumerate(records):
        try:
            # a str would unpack too ("AC" -> "A", "C"): reject it explicitly
            if isinstance(record, (str, bytes)):
                raise TypeError
            name, sequence = record
        except (TypeError, ValueError):
            raise ValueError(
                f"Record {index} is not a (name, sequence) pair: {record!r:.60}"
            ) from None
        if not isinstance(name, str) or not isinstance(sequence, str):
            raise ValueError(
                f"Record {index}: name and sequence must be str, got "
                f"{type(name).__name__} and {type(sequence).__name__}."
            )
        if "\n" in name or "\r" in name or "\n" in sequence or "\r" in sequence:
            raise ValueError(f"Record {index} ({name!r:.40}) contains a line break.")
        if line_width is None or len(sequence) <= line_width:
            body = sequence
        else:
            body = "\n".join(
                sequence[start : start + line_width]
                for start in range(0, len(sequence), line_width)
            )
        # an empty sequence gets no blank line after its header
        handle.write((f">{name}\n{body}\n" if body else f">{name}\n").encode("utf-8"))
        n_records += 1
    return n_records
