"""Reading labelled sequence tables such as the GUE benchmark CSV files.

GUE stores each split as ``train.csv``, ``dev.csv`` and ``test.csv`` with the header
``sequence,label``. :func:`read_sequence_csv` reads that layout with the standard
library ``csv`` module, so the package needs no pandas.
"""

import contextlib
import csv
import io
import os

import numpy as np

from ._fasta import _open_binary

__all__ = ["read_sequence_csv"]


def read_sequence_csv(path, *, sequence_column="sequence", label_column="label"):
    """Read sequences and labels from a CSV file with a header row.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file, plain or gzip-compressed (detected from its magic bytes). The
        first row names the columns; other columns are ignored.
    sequence_column : str, default="sequence"
        Column holding the DNA sequences. They are returned as written (case
        kept, no validation of the alphabet).
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
        missing (the message lists the columns present), a row is too short, or a
        sequence or label cell is empty (the message names the row: row 1 is the
        first row after the header).

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
    with contextlib.ExitStack() as stack:
        binary = _open_binary(path, stack)
        # utf-8-sig drops a byte-order mark (spreadsheet exports); newline="" is
        # what the csv module needs to handle quoted fields and CRLF itself
        text = stack.enter_context(io.TextIOWrapper(binary, encoding="utf-8-sig", newline=""))
        reader = csv.reader(text)
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
            if not sequence:
                raise ValueError(
                    f"{path}: empty {sequence_column!r} cell in row {row_number} "
                    f"(line {reader.line_num})."
                )
            sequences.append(sequence)
            if label_index is not None:
                label = row[label_index]
                if not label.strip():
                    raise ValueError(
                        f"{path}: empty {label_column!r} cell in row {row_number} "
                        f"(line {reader.line_num}). Fill or drop unlabelled rows, or "
                        f"pass label_column=None to read sequences only."
                    )
                labels.append(label)
    if not sequences:
        raise ValueError(f"{path} has a header but no data rows.")
    if label_column is None:
        return sequences, None
    return sequences, _labels_array(labels)


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
