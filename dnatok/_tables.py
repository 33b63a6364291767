"""Reading labelled sequence tables such as the GUE benchmark CSV files.

GUE stores each split as ``train.csv``, ``dev.csv`` and ``test.csv`` with the header
``sequence,label``. :func:`read_sequence_csv` reads that layout with the standard
library ``csv`` module, so the package needs no pandas.
"""

import contextlib
import csv
import gzip
import io
import os
import sys
import threading
import zlib

import numpy as np

from ._fasta import _damaged_gzip_message, _open_binary, _where_not_utf8

__all__ = ["read_sequence_csv"]

# pandas.read_csv's default missing-value spellings (its STR_NA_VALUES), lowercased:
# the cells that pandas reads as NaN. In the sequence column every one of them is
# refused, whatever its case: "nan", "NaN" and "NA" are IUPAC letters, but a
# sequence table never holds a 2-3 nt sequence of mostly unknown bases, while
# str() of a missing float ("nan") and R's write.csv ("NA") write them for a missing
# value all the time, upper-cased along with the sequences or not.
_MISSING_SPELLINGS = frozenset({
    "", "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan",
    "<na>", "n/a", "na", "nan", "null", "none",
})
# In the label column these may be class names ("None", "null" allele, "NA" for
# not applicable): they count as missing only when every other label is a number.
_MISSING_UNLESS_CLASSES = frozenset({"na", "n/a", "null", "none"})
_LONGEST_SPELLING = 16  # longer cells (padding included) are never compared
_SHOWN_ROWS = 5  # rows named in an error message; the count covers the rest

# the csv module's field size limit is process-wide: raised for the first of any
# concurrent reads and put back after the last
_field_limit_lock = threading.Lock()
_field_limit_users = 0
_field_limit_saved = None


def read_sequence_csv(path, *, sequence_column="sequence", label_column="label"):
    """Read sequences and labels from a CSV file with a header row.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file, plain or gzip-compressed (detected from its magic bytes), in
        UTF-8 (or ASCII). The first row names the columns; other columns are
        ignored.
    sequence_column : str, default="sequence"
        Column holding the DNA sequences. They are returned as written (case
        kept, no validation of the alphabet), whatever their length (a
        chromosome-scale cell is read whole: the ``csv`` module's 131,072
        character field limit is lifted while reading).
    label_column : str or None, default="label"
        Column holding the labels; ``None`` reads sequences only (e.g. for an
        unlabelled file).

    Returns
    -------
    sequences : list of str
    labels : ndarray of shape (n_rows,) or None
        An int64 array when every label is an integer (``0``, ``1``, ``-3``),
        otherwise an object array of the labels as written (str). ``None`` when
        ``label_column`` is ``None``.

    Raises
    ------
    ValueError
        If the file is empty or has a header but no data rows, a column is
        missing (the message lists the columns present), a row is too short, a
        sequence or label cell is missing (see Notes), the file is not UTF-8
        text (the message gives the line and byte offset), or a gzip file is
        truncated or damaged. The message names the file and the row: row 1 is
        the first row after the header; the line counts the header too.

    Notes
    -----
    Missing values are refused, never read as data. In the sequence column a cell
    is missing when it is empty or blank, or is, in any case and after
    surrounding spaces, one of the spellings that ``pandas.read_csv`` reads as
    NaN by default: ``nan``, ``-nan``, ``NA``, ``N/A``, ``<NA>``, ``#N/A``,
    ``#N/A N/A``, ``#NA``, ``NULL``, ``None``, ``1.#IND``, ``-1.#IND``,
    ``1.#QNAN``, ``-1.#QNAN``. ``nan`` and ``NA`` are made of IUPAC letters,
    so a genuine 2-3 nt sequence ``NA`` or ``NAN`` cannot be read from a file;
    such sequences (almost all unknown bases) do not occur in sequence tables,
    whereas pandas writes ``nan`` and R writes ``NA`` for a missing value.

    In the label column a cell is missing when it is blank or is ``nan``,
    ``-nan``, ``<NA>``, ``#N/A``, ``#N/A N/A``, ``#NA`` or a ``1.#IND``/
    ``1.#QNAN`` spelling (in any case): none is a plausible class name. ``NA``,
    ``N/A``, ``NULL`` and ``None`` can be class names ("None" for no binding, a
    "null" allele), so they count as missing only when every other label is a
    number.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write("sequence,label\\nACGT,1\\nTTGA,0\\n")
    >>> sequences, labels = read_sequence_csv(path)
    >>> sequences, labels.tolist()
    (['ACGT', 'TTGA'], [1, 0])
    """
    path = os.fspath(path)
    reader = None
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_unlimited_csv_fields())
            binary = _open_binary(path, stack)
            # utf-8-sig drops a byte-order mark (spreadsheet exports); newline="" is
            # what the csv module needs to handle quoted fields and CRLF itself
            text = stack.enter_context(io.TextIOWrapper(binary, encoding="utf-8-sig", newline=""))
            reader = csv.reader(text)
            sequences, labels = _read_rows(reader, path, sequence_column, label_column)
    except UnicodeDecodeError:
        where = _where_not_utf8(path)
        raise ValueError(
            f"{path} is not UTF-8 text{f' at {where}' if where else ''}; DNA tables are ASCII text. Is "
            f"this the right file? A spreadsheet export in another encoding (Latin-1, "
            f"UTF-16 'Unicode text') must be saved again as 'CSV UTF-8'."
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        line_number = 0 if reader is None else reader.line_num
        raise ValueError(_damaged_gzip_message(path, line_number, error)) from None
    if label_column is None:
        return sequences, None
    return sequences, _labels_array(labels)


def _read_rows(reader, path, sequence_column, label_column):
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path} is empty: expected a header row such as 'sequence,label'.")
    sequence_index = _column_index(header, sequence_column, path, "sequence_column")
    label_index = (
        None
        if label_column is None
        else _column_index(header, label_column, path, "label_column")
    )
    needed = max(sequence_index, -1 if label_index is None else label_index) + 1
    sequences, labels = [], []
    missing_sequences, missing_labels, maybe_missing_labels = _Cells(), _Cells(), _Cells()
    present_labels = set()
    row_number = 0
    for row in reader:
        if not row:  # blank line
            continue
        row_number += 1
        if len(row) < needed:
            raise ValueError(
                f"{path}: row {row_number} (line {reader.line_num}) has {len(row)} "
                f"fields, fewer than the header's {len(header)}."
            )
        sequence = row[sequence_index]
        # a real sequence is longer than any spelling and fails isspace at its first base
        if (len(sequence) <= _LONGEST_SPELLING or sequence.isspace()) and _spelling(sequence) in _MISSING_SPELLINGS:
            missing_sequences.add(row_number, reader.line_num, sequence)
        sequences.append(sequence)
        if label_index is not None:
            label = row[label_index]
            if label not in present_labels:  # few distinct labels: each is looked at once
                spelling = _spelling(label)
                if spelling in _MISSING_UNLESS_CLASSES:
                    maybe_missing_labels.add(row_number, reader.line_num, label)
                elif spelling in _MISSING_SPELLINGS:
                    missing_labels.add(row_number, reader.line_num, label)
                else:
                    present_labels.add(label)
            labels.append(label)
    if not sequences:
        raise ValueError(f"{path} has a header but no data rows.")
    if missing_sequences:
        raise ValueError(missing_sequences.message(
            path, sequence_column,
            "Drop those rows or fill in their sequences: missing values are not read as "
            "DNA ('nan' and 'NA' would be IUPAC letters).",
        ))
    if maybe_missing_labels and _numbers_apart_from(labels, _MISSING_UNLESS_CLASSES):
        missing_labels.merge(maybe_missing_labels)  # among numbers, "NA" is no class name
    if missing_labels:
        raise ValueError(missing_labels.message(
            path, label_column,
            "Fill or drop unlabelled rows, or pass label_column=None to read sequences only.",
        ))
    return sequences, labels


def _spelling(cell):
    """The cell as compared with the missing-value spellings (a long cell never matches)."""
    if len(cell) > _LONGEST_SPELLING:
        # a blank cell of any length is missing; a sequence fails isspace at its first base
        return "" if cell.isspace() else None
    return cell.strip().lower()


class _Cells:
    """Missing cells of one column: how many, and the first few for the message."""

    def __init__(self):
        self.count = 0
        self.shown = []

    def __bool__(self):
        return self.count > 0

    def add(self, row_number, line_number, text):
        self.count += 1
        if len(self.shown) < _SHOWN_ROWS:
            self.shown.append((row_number, line_number, text))

    def merge(self, other):
        self.count += other.count
        self.shown = sorted(self.shown + other.shown)[:_SHOWN_ROWS]

    def message(self, path, column, advice):
        (row_number, line_number, text), rest = self.shown[0], self.shown[1:]
        if text.strip():
            first = f"missing value {text!r} in the {column!r} cell of row {row_number} (line {line_number})"
        else:
            first = f"empty {column!r} cell in row {row_number} (line {line_number})"
        more = ""
        if self.count > 1:
            shown = ", ".join(f"{row} (line {line})" for row, line, _ in rest)
            others = f"{shown} and {self.count - len(self.shown)} more" if self.count > len(self.shown) else shown
            more = f", and {self.count - 1} more missing cells: rows {others}"
        return f"{path}: {first}{more}. {advice}"


def _numbers_apart_from(labels, spellings):
    """Whether every label is a number, apart from those spelled as in ``spellings``."""
    for label in labels:
        if _spelling(label) in spellings:
            continue
        try:
            float(label)
        except ValueError:
            return False
    return True


@contextlib.contextmanager
def _unlimited_csv_fields():
    """Lift the csv module's field size limit (131,072 characters) while reading.

    A chromosome-scale sequence is a single field of millions of characters. The
    limit is a process-wide setting: it is raised for the first of concurrent
    reads and put back as it was after the last one.
    """
    global _field_limit_users, _field_limit_saved
    with _field_limit_lock:
        if _field_limit_users == 0:
            try:
                _field_limit_saved = csv.field_size_limit(sys.maxsize)
            except OverflowError:  # the limit is a C long: 32-bit on Windows
                _field_limit_saved = csv.field_size_limit(2**31 - 1)
        _field_limit_users += 1
    try:
        yield
    finally:
        with _field_limit_lock:
            _field_limit_users -= 1
            if _field_limit_users == 0:
                csv.field_size_limit(_field_limit_saved)


def _column_index(header, column, path, parameter):
    try:
        return header.index(column)
    except ValueError:
        raise ValueError(
            f"{path} has no column {column!r} (pass {parameter}=...); columns "
            f"present: {', '.join(map(repr, header))}."
        ) from None


def _labels_array(labels):
    try:
        return np.array([int(label) for label in labels], dtype=np.int64)
    except (ValueError, OverflowError):
        # not all integers (e.g. "promoter", "0.5"): keep the labels as written
        array = np.empty(len(labels), dtype=object)
        array[:] = labels
        return array
