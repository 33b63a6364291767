"""Tests of FASTA/CSV reading and writing and of genome windowing.

Small synthetic files in ``tmp_path`` pin the format edge cases; the real genomes
and GUE tables in ``../shared/data`` (``shared_data`` fixture) pin the counts that
the README documents and exercise exclusion against a brute-force check.
"""

import csv
import gzip
import os
import random
import re
import types
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnatok import _windows, genome_windows, read_fasta, read_sequence_csv, reverse_complement, write_fasta

MULTI_LINE_FASTA = (
    ">chr1 first record\n"
    "ACGTACGTAC\n"
    "acgtnnnnNN\n"
    "\n"
    "GG\n"
    ">chr2\n"
    "NNNNtttt\n"
    ">empty\n"
    ">chr3\tdescription with tab\n"
    "A\n"
)
MULTI_LINE_RECORDS = [
    ("chr1", "ACGTACGTACacgtnnnnNNGG"),
    ("chr2", "NNNNtttt"),
    ("empty", ""),
    ("chr3", "A"),
]


def _write_bytes(path, data):
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- read_fasta


def test_read_fasta_multi_line_case_and_n_runs_kept(tmp_path):
    path = _write_bytes(tmp_path / "genome.fa", MULTI_LINE_FASTA.encode())
    assert list(read_fasta(path)) == MULTI_LINE_RECORDS


def test_read_fasta_full_header(tmp_path):
    path = _write_bytes(tmp_path / "genome.fa", MULTI_LINE_FASTA.encode())
    names = [name for name, _ in read_fasta(path, full_header=True)]
    assert names == ["chr1 first record", "chr2", "empty", "chr3\tdescription with tab"]


def test_read_fasta_accepts_str_and_pathlike(tmp_path):
    path = _write_bytes(tmp_path / "genome.fa", MULTI_LINE_FASTA.encode())
    assert list(read_fasta(str(path))) == list(read_fasta(Path(path)))


def test_read_fasta_is_a_lazy_generator(tmp_path):
    path = _write_bytes(tmp_path / "genome.fa", MULTI_LINE_FASTA.encode())
    records = read_fasta(path)
    assert isinstance(records, types.GeneratorType)
    assert next(records) == MULTI_LINE_RECORDS[0]
    records.close()


@pytest.mark.parametrize("name", ["genome.fa", "genome.fa.gz", "genome.txt"])
def test_read_fasta_detects_gzip_from_magic_bytes_not_name(tmp_path, name):
    # compressed content under any name, and plain content under a .gz name
    compressed = _write_bytes(tmp_path / f"z_{name}", gzip.compress(MULTI_LINE_FASTA.encode()))
    plain = _write_bytes(tmp_path / f"p_{name}", MULTI_LINE_FASTA.encode())
    assert list(read_fasta(compressed)) == MULTI_LINE_RECORDS
    assert list(read_fasta(plain)) == MULTI_LINE_RECORDS


def test_read_fasta_multi_member_gzip(tmp_path):
    # bgzip and `cat a.gz b.gz` produce several gzip members in one file
    halves = MULTI_LINE_FASTA[:30].encode(), MULTI_LINE_FASTA[30:].encode()
    data = gzip.compress(halves[0]) + gzip.compress(halves[1])
    path = _write_bytes(tmp_path / "genome.fa.gz", data)
    assert list(read_fasta(path)) == MULTI_LINE_RECORDS


def test_read_fasta_windows_line_endings_and_blank_lines(tmp_path):
    text = "\r\n\r\n" + MULTI_LINE_FASTA.replace("\n", "\r\n") + "\r\n\r\n"
    path = _write_bytes(tmp_path / "crlf.fa", text.encode())
    assert list(read_fasta(path)) == MULTI_LINE_RECORDS


def test_read_fasta_old_mac_line_endings(tmp_path):
    # CR only: the binary reader sees one line; every record must still come out whole
    path = _write_bytes(tmp_path / "cr.fa", MULTI_LINE_FASTA.replace("\n", "\r").encode())
    assert list(read_fasta(path)) == MULTI_LINE_RECORDS
    path = _write_bytes(tmp_path / "cr.fa", b">chr1\rACGT\rACGT\r>chr2\rTTTT\r")
    assert list(read_fasta(path)) == [("chr1", "ACGTACGT"), ("chr2", "TTTT")]


def test_read_fasta_truncated_gzip_names_the_file(tmp_path):
    data = gzip.compress((">chr1\n" + "ACGT" * 50_000 + "\n").encode())
    path = _write_bytes(tmp_path / "cut.fa.gz", data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.fa\.gz: the compressed data ends or breaks after line \d+ .* "
                                         r"the file is truncated or damaged\. Download or copy it again\.$"):
        list(read_fasta(path))


def test_read_fasta_tolerates_no_final_newline_and_trailing_spaces(tmp_path):
    path = _write_bytes(tmp_path / "g.fa", b">a  \nACGT \nTT")
    assert list(read_fasta(path)) == [("a", "ACGTTT")]


def test_read_fasta_empty_file_has_no_records(tmp_path):
    path = _write_bytes(tmp_path / "empty.fa", b"\n\n")
    assert list(read_fasta(path)) == []


def test_read_fasta_not_fasta_names_path_and_line(tmp_path):
    path = _write_bytes(tmp_path / "table.csv", b"\n\nsequence,label\nACGT,1\n")
    message = f"{path} is not a FASTA file: line 3 does not start with '>' (found 'sequence,label')"
    with pytest.raises(ValueError, match=re.escape(message)):
        list(read_fasta(path))


def test_read_fasta_not_fasta_inside_gzip(tmp_path):
    path = _write_bytes(tmp_path / "table.csv.gz", gzip.compress(b"ACGT\n"))
    with pytest.raises(ValueError, match=r"is not a FASTA file: line 1 does not start with '>'"):
        list(read_fasta(path))


def test_read_fasta_binary_garbage_is_a_clear_error(tmp_path):
    path = _write_bytes(tmp_path / "bad.fa", b">x\nAC\xff\xfeGT\n")
    message = r"bad\.fa: the sequence of the record at line 1 is not valid UTF-8"
    with pytest.raises(ValueError, match=message):
        list(read_fasta(path))



def test_read_fasta_not_utf8_names_line_and_byte(tmp_path):
    data = b">chr1\n" + b"ACGTACGT\n" * 3_000 + b">chr2 ok\nACGT\nAC\xe9GT\n"
    offset = data.index(b"\xe9")
    plain = _write_bytes(tmp_path / "latin1.fa", data)
    message = (f"{plain}: the sequence of the record at line 3002 is not valid UTF-8 text; the first bad byte is "
               f"on line 3004 (b'\\xe9' at byte offset {offset}). DNA files are ASCII text: is this a FASTA file?")
    with pytest.raises(ValueError, match=re.escape(message)):
        list(read_fasta(plain))
    compressed = _write_bytes(tmp_path / "latin1.fa.gz", gzip.compress(data))
    message = f"on line 3004 (b'\\xe9' at byte offset {offset} of the decompressed data)"
    with pytest.raises(ValueError, match=re.escape(message)):
        list(read_fasta(compressed))
    header = _write_bytes(tmp_path / "header.fa", b">chr1\nACGT\n>caf\xe9\nACGT\n")
    with pytest.raises(ValueError, match=r"the header at line 3 is not valid UTF-8 text; the first bad byte is on "
                                         r"line 3 \(b'\\xe9' at byte offset 15\)"):
        list(read_fasta(header))


def test_read_fasta_crlf_lines_are_counted_once(tmp_path):
    path = _write_bytes(tmp_path / "crlf.fa", b">chr1\r\nACGT\r\nAC\xffGT\r\n")
    with pytest.raises(ValueError, match=r"first bad byte is on line 3 \(b'\\xff' at byte offset 15\)"):
        list(read_fasta(path))
    path = _write_bytes(tmp_path / "table.csv", b"\r\n\r\nsequence,label\r\nACGT,1\r\n")
    with pytest.raises(ValueError, match="line 3 does not start with '>'"):
        list(read_fasta(path))
    # a lone CR is a line break too, also mixed with CRLF
    path = _write_bytes(tmp_path / "mixed.fa", b">a\rAC\r\nGT\r>b\r\nTT\n")
    assert list(read_fasta(path)) == [("a", "ACGT"), ("b", "TT")]

def test_read_fasta_missing_file_fails_at_call(tmp_path):
    with pytest.raises(FileNotFoundError, match="FASTA file not found"):
        read_fasta(tmp_path / "missing.fa")


# ---------------------------------------------------------------- write_fasta


@pytest.mark.parametrize("name", ["out.fa", "out.fa.gz"])
@pytest.mark.parametrize("line_width", [1, 3, 60, None])
def test_write_then_read_round_trip(tmp_path, name, line_width):
    path = tmp_path / name
    assert write_fasta(MULTI_LINE_RECORDS, path, line_width=line_width) == len(MULTI_LINE_RECORDS)
    assert list(read_fasta(path)) == MULTI_LINE_RECORDS
    with open(path, "rb") as handle:
        assert (handle.read(2) == b"\x1f\x8b") == name.endswith(".gz")


def test_write_fasta_wraps_lines(tmp_path):
    path = tmp_path / "out.fa"
    write_fasta([("r1 some description", "ACGTACGTAC"), ("r2", "")], path, line_width=4)
    assert path.read_text() == ">r1 some description\nACGT\nACGT\nAC\n>r2\n"


def test_write_fasta_gzip_is_reproducible(tmp_path):
    first, second = tmp_path / "a.fa.gz", tmp_path / "b" / "a.fa.gz"
    second.parent.mkdir()
    write_fasta(MULTI_LINE_RECORDS, first)
    write_fasta(MULTI_LINE_RECORDS, second)
    assert first.read_bytes() == second.read_bytes()


def test_write_fasta_is_atomic(tmp_path):
    path = tmp_path / "out.fa"
    write_fasta([("old", "AAAA")], path)

    def failing_records():
        yield ("new", "CCCC")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_fasta(failing_records(), path)
    # the old file is intact and no temporary file is left behind
    assert list(read_fasta(path)) == [("old", "AAAA")]
    assert os.listdir(tmp_path) == ["out.fa"]


def test_write_fasta_rejects_bad_input(tmp_path):
    path = tmp_path / "out.fa"
    with pytest.raises(ValueError, match="line_width must be a positive integer or None, got 0"):
        write_fasta(MULTI_LINE_RECORDS, path, line_width=0)
    with pytest.raises(ValueError, match="Record 1 .* contains a line break"):
        write_fasta([("a", "AC"), ("b\nc", "GT")], path)
    with pytest.raises(ValueError, match="Record 0 is not a \\(name, sequence\\) pair"):
        write_fasta(["AC"], path)
    assert os.listdir(tmp_path) == []


@settings(max_examples=25, deadline=None)
@given(
    records=st.lists(
        st.tuples(
            st.text("abcXYZ019_:.-|>", min_size=0, max_size=12),
            st.text("ACGTNacgtn", min_size=0, max_size=150),
        ),
        max_size=6,
    ),
    line_width=st.one_of(st.none(), st.integers(1, 80)),
    compressed=st.booleans(),
)
def test_write_read_round_trip_property(tmp_path_factory, records, line_width, compressed):
    path = tmp_path_factory.mktemp("fasta") / ("out.fa.gz" if compressed else "out.fa")
    write_fasta(records, path, line_width=line_width)
    assert list(read_fasta(path)) == records


# ---------------------------------------------------------------- read_sequence_csv


def test_read_sequence_csv_gue_layout(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\nACGT,1\nttga,0\nNNAC,1\n")
    sequences, labels = read_sequence_csv(path)
    assert sequences == ["ACGT", "ttga", "NNAC"]
    assert labels.dtype == np.int64 and labels.tolist() == [1, 0, 1]


def test_read_sequence_csv_string_labels_stay_strings(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\nACGT,promoter\nTTGA,0\nGGCC,0.5\n")
    _, labels = read_sequence_csv(path)
    assert labels.dtype == object and labels.tolist() == ["promoter", "0", "0.5"]


def test_read_sequence_csv_negative_integer_labels(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\nACGT,-1\nTTGA,2\n")
    assert read_sequence_csv(path)[1].tolist() == [-1, 2]


def test_read_sequence_csv_custom_and_extra_columns(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text('id,dna,class,note\n7,ACGT,yes,"a, quoted note"\n8,TTGA,no,\n')
    sequences, labels = read_sequence_csv(path, sequence_column="dna", label_column="class")
    assert sequences == ["ACGT", "TTGA"] and labels.tolist() == ["yes", "no"]


def test_read_sequence_csv_without_labels(tmp_path):
    path = tmp_path / "unlabelled.csv"
    path.write_text("sequence\nACGT\nTTGA\n")
    assert read_sequence_csv(path, label_column=None) == (["ACGT", "TTGA"], None)


def test_read_sequence_csv_crlf_bom_blank_lines_and_gzip(tmp_path):
    text = "\ufeffsequence,label\r\nACGT,1\r\n\r\nTTGA,0\r\n"
    plain = tmp_path / "train.csv"
    plain.write_bytes(text.encode("utf-8"))
    compressed = tmp_path / "train.csv.gz"
    compressed.write_bytes(gzip.compress(text.encode("utf-8")))
    for path in (plain, compressed):
        sequences, labels = read_sequence_csv(path)
        assert sequences == ["ACGT", "TTGA"] and labels.tolist() == [1, 0]


def test_read_sequence_csv_missing_column_lists_columns(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("seq,y\nACGT,1\n")
    message = r"has no column 'sequence' .* columns present: 'seq', 'y'"
    with pytest.raises(ValueError, match=message):
        read_sequence_csv(path)
    with pytest.raises(ValueError, match=r"has no column 'label' \(pass label_column=\.\.\.\)"):
        read_sequence_csv(path, sequence_column="seq")


def test_read_sequence_csv_empty_label_names_row(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\nACGT,1\nTTGA,0\nGGCC,\n")
    with pytest.raises(ValueError, match=r"empty 'label' cell in row 3 \(line 4\)"):
        read_sequence_csv(path)


def test_read_sequence_csv_empty_sequence_and_short_row(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\n,1\n")
    with pytest.raises(ValueError, match=r"empty 'sequence' cell in row 1"):
        read_sequence_csv(path)
    path.write_text("sequence,label\nACGT,1\nTTGA\n")
    with pytest.raises(ValueError, match=r"row 2 \(line 3\) has 1 fields"):
        read_sequence_csv(path)


def test_read_sequence_csv_no_rows(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\n")
    with pytest.raises(ValueError, match="has a header but no data rows"):
        read_sequence_csv(path)
    path.write_text("")
    with pytest.raises(ValueError, match="is empty: expected a header row"):
        read_sequence_csv(path)



def test_read_sequence_csv_truncated_gzip_names_the_file(tmp_path):
    rows = "".join(f"{'ACGT' * 10},{i % 2}\n" for i in range(20_000))
    data = gzip.compress(("sequence,label\n" + rows).encode())
    path = _write_bytes(tmp_path / "cut.csv.gz", data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.csv\.gz: the compressed data ends or breaks after line \d+ \(.*\); "
                                         r"the file is truncated or damaged\. Download or copy it again\.$"):
        read_sequence_csv(path)


def test_read_sequence_csv_not_utf8_names_line_and_byte(tmp_path):
    # far past the text reader's first chunk, so the position is the file's, not the chunk's
    head = "sequence,label\n" + "ACGTACGT,1\n" * 5_000
    data = head.encode() + b"ACG\xe9T,0\nACGT,1\n"
    offset = len(head) + 3
    plain = _write_bytes(tmp_path / "latin1.csv", data)
    message = f"{plain} is not UTF-8 text at line 5002 (b'\\xe9' at byte offset {offset}); DNA tables are ASCII text. Is this the right file?"
    with pytest.raises(ValueError, match=re.escape(message)):
        read_sequence_csv(plain)
    compressed = _write_bytes(tmp_path / "latin1.csv.gz", gzip.compress(data))
    message = f"at line 5002 (b'\\xe9' at byte offset {offset} of the decompressed data)"
    with pytest.raises(ValueError, match=re.escape(message)):
        read_sequence_csv(compressed)


def test_read_sequence_csv_utf16_export_is_named(tmp_path):
    # a spreadsheet's "Unicode text" export: UTF-16 with a byte-order mark
    path = _write_bytes(tmp_path / "export.csv", "sequence,label\r\nACGT,1\r\n".encode("utf-16"))
    with pytest.raises(ValueError, match=r"export\.csv is not UTF-8 text at line 1 \(b'\\xff' at byte offset 0\);"
                                         r".* saved again as 'CSV UTF-8'\.$"):
        read_sequence_csv(path)


def test_read_sequence_csv_reads_chromosome_scale_sequences(tmp_path):
    long = "".join(random.Random(0).choice("ACGT") for _ in range(200_000))
    path = tmp_path / "chromosome.csv"
    path.write_text(f"sequence,label\n{long},1\nACGT,0\n")
    before = csv.field_size_limit()
    sequences, labels = read_sequence_csv(path)
    assert sequences == [long, "ACGT"] and labels.tolist() == [1, 0]
    gz = _write_bytes(tmp_path / "chromosome.csv.gz", gzip.compress(path.read_bytes()))
    assert read_sequence_csv(gz, label_column=None)[0][0] == long
    # the process-wide limit is put back, also after a failed read
    assert csv.field_size_limit() == before
    path.write_text(f"sequence,label\n{long},1\nnan,0\n")
    with pytest.raises(ValueError, match="missing value"):
        read_sequence_csv(path)
    assert csv.field_size_limit() == before


@pytest.mark.parametrize("cell", ["nan", "NaN", "NAN", "-nan", "NA", "na", "<NA>", "N/A", "#N/A", "None", "NULL", " nan "])
def test_read_sequence_csv_refuses_missing_sequences(tmp_path, cell):
    path = tmp_path / "train.csv"
    path.write_text(f"sequence,label\nACGT,1\n{cell},0\n")
    message = (f"{path}: missing value {cell!r} in the 'sequence' cell of row 2 (line 3). Drop those rows or fill "
               f"in their sequences")
    with pytest.raises(ValueError, match=re.escape(message)):
        read_sequence_csv(path)


def test_read_sequence_csv_refuses_the_missing_values_pandas_writes(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"sequence": ["ACGT", None, "TTGA", np.nan], "label": [1, 0, 1, 0]})
    path = tmp_path / "frame.csv"
    frame.to_csv(path, index=False)  # a missing value is written as an empty cell
    with pytest.raises(ValueError, match=r"empty 'sequence' cell in row 2 \(line 3\), and 1 more missing cells: "
                                         r"rows 4 \(line 5\)\. Drop those rows"):
        read_sequence_csv(path)
    frame.to_csv(path, index=False, na_rep="NA")  # as R writes them
    with pytest.raises(ValueError, match=r"missing value 'NA' in the 'sequence' cell of row 2 \(line 3\), "
                                         r"and 1 more missing cells: rows 4 \(line 5\)\."):
        read_sequence_csv(path)


def test_read_sequence_csv_counts_missing_rows_beyond_those_named(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\n" + "ACGT,1\nnan,0\n" * 8)
    with pytest.raises(ValueError, match=r"row 2 \(line 3\), and 7 more missing cells: rows 4 \(line 5\), "
                                         r"6 \(line 7\), 8 \(line 9\), 10 \(line 11\) and 3 more\."):
        read_sequence_csv(path)


def test_read_sequence_csv_keeps_sequences_that_only_look_like_missing_values(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\nNANA,1\nnnan,0\nNAN" + "A" * 20 + ",1\n")
    assert read_sequence_csv(path)[0] == ["NANA", "nnan", "NAN" + "A" * 20]


@pytest.mark.parametrize("cell", ["nan", "NaN", "<NA>", "#N/A", " "])
def test_read_sequence_csv_refuses_missing_labels(tmp_path, cell):
    path = tmp_path / "train.csv"
    path.write_text(f"sequence,label\nACGT,promoter\nTTGA,{cell}\n")
    shown = f"missing value {cell!r} in the 'label' cell" if cell.strip() else "empty 'label' cell"
    message = (f"{path}: {shown} of row 2 (line 3). Fill or drop unlabelled rows, or pass label_column=None"
               if cell.strip() else f"{path}: {shown} in row 2 (line 3). Fill or drop unlabelled rows")
    with pytest.raises(ValueError, match=re.escape(message)):
        read_sequence_csv(path)


def test_read_sequence_csv_na_words_are_missing_among_numbers_only(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sequence,label\nACGT,1\nTTGA,NA\nGGCC,0\nCCAA,None\nAAAA,nan\n")
    # sorted by row: "nan" (always missing) and the words that are missing among numbers
    with pytest.raises(ValueError, match=r"missing value 'NA' in the 'label' cell of row 2 \(line 3\), and 2 more "
                                         r"missing cells: rows 4 \(line 5\), 5 \(line 6\)\."):
        read_sequence_csv(path)
    # among class names, "None" and "NA" are classes
    path.write_text("sequence,label\nACGT,strong\nTTGA,None\nGGCC,NA\n")
    assert read_sequence_csv(path)[1].tolist() == ["strong", "None", "NA"]
    assert read_sequence_csv(path, label_column=None)[0] == ["ACGT", "TTGA", "GGCC"]

# ---------------------------------------------------------------- genome_windows


def test_windows_counts_and_content():
    sequence = "".join(random.Random(0).choice("ACGT") for _ in range(100))
    assert genome_windows([sequence], length=10) == [sequence[i : i + 10] for i in range(0, 91, 10)]
    assert len(genome_windows([sequence], length=10, stride=5)) == 19  # (100 - 10) // 5 + 1
    assert len(genome_windows([sequence], length=10, stride=30)) == 4  # starts 0, 30, 60, 90
    assert len(genome_windows([sequence[:25]], length=10)) == 2  # partial tail dropped
    assert genome_windows([sequence[:9]], length=10) == []
    assert genome_windows([sequence], length=100) == [sequence]


def test_windows_never_cross_records_and_accept_pairs():
    records = [("a", "AAAAAC"), "CC", ("b", "GGGGTT"), ["c", "TTTT"]]
    assert genome_windows(records, length=4, stride=2) == ["AAAA", "AAAC", "GGGG", "GGTT", "TTTT"]


def test_windows_straight_from_read_fasta(tmp_path):
    path = tmp_path / "g.fa.gz"
    write_fasta([("x", "ACGTACGTAA"), ("y", "nnnnCCCC")], path, line_width=3)
    windows = genome_windows(read_fasta(path), length=4, max_n_fraction=0.0)
    assert windows == ["ACGT", "ACGT", "CCCC"]


def test_windows_n_fraction_threshold_is_inclusive_and_case_insensitive():
    # windows of 10 with 0, 1, 2 and 10 N (either case)
    sequence = "ACGTACGTAC" + "nCGTACGTAC" + "NnGTACGTAC" + "NNNNNnnnnn"
    assert genome_windows([sequence], length=10, max_n_fraction=0.1) == [
        "ACGTACGTAC",
        "nCGTACGTAC",
    ]
    assert len(genome_windows([sequence], length=10, max_n_fraction=0.0)) == 1
    assert len(genome_windows([sequence], length=10, max_n_fraction=0.2)) == 3
    assert len(genome_windows([sequence], length=10, max_n_fraction=1.0)) == 4


def test_windows_n_fraction_matches_direct_count():
    rng = np.random.default_rng(3)
    sequence = "".join(rng.choice(list("ACGTNn"), size=2000, p=[0.2, 0.2, 0.2, 0.2, 0.1, 0.1]))
    for fraction in (0.0, 0.13, 0.29, 0.5):
        expected = [
            sequence[i : i + 37]
            for i in range(0, len(sequence) - 36, 11)
            if sequence[i : i + 37].upper().count("N") / 37 <= fraction
        ]
        assert genome_windows([sequence], length=37, stride=11, max_n_fraction=fraction) == expected


def test_windows_both_strands_and_uppercase():
    windows = genome_windows(["AAcgNNTT"], length=4, both_strands=True, max_n_fraction=1)
    assert windows == ["AAcg", "cgTT", "NNTT", "AANN"]
    windows = genome_windows(
        ["AAcgNNTT"], length=4, both_strands=True, uppercase=True, max_n_fraction=1
    )
    assert windows == ["AACG", "CGTT", "NNTT", "AANN"]


def _brute_force_windows(sequences, length, stride, max_n_fraction, exclude):
    """Windows by direct slicing and substring search, both strands, ignoring case."""
    patterns = {e.upper() for e in exclude} | {reverse_complement(e.upper()) for e in exclude}
    kept = []
    for sequence in sequences:
        for start in range(0, len(sequence) - length + 1, stride):
            window = sequence[start : start + length]
            upper = window.upper()
            if upper.count("N") / length > max_n_fraction:
                continue
            if any(pattern in upper for pattern in patterns):
                continue
            kept.append(window)
    return kept


def _random_case(rng):
    """Records with lowercase and N, and exclude sequences drawn from them (both
    strands, other case) mixed with random ones, of lengths below and above 32."""
    sequences = []
    for _ in range(rng.randint(1, 4)):
        sequence = "".join(rng.choice("ACGTACGTacgtN") for _ in range(rng.randint(0, 400)))
        sequences.append(sequence)
    length = rng.randint(5, 80)
    exclude = []
    for _ in range(rng.randint(1, 12)):
        if rng.random() < 0.8:
            size = rng.randint(max(1, length // 3), length + 5)
        else:
            size = rng.randint(33, 70)
        source = rng.choice(sequences)
        if source and rng.random() < 0.7 and len(source) >= size:
            start = rng.randint(0, len(source) - size)
            pattern = source[start : start + size]
            pattern = reverse_complement(pattern) if rng.random() < 0.5 else pattern
            exclude.append(pattern.swapcase() if rng.random() < 0.3 else pattern)
        else:
            exclude.append("".join(rng.choice("ACGT") for _ in range(size)))
    stride = rng.randint(1, length + 3)
    max_n_fraction = rng.choice([0.0, 0.1, 0.5, 1.0])
    return sequences, length, stride, max_n_fraction, exclude


def _assert_matches_brute_force(rng, n_cases):
    n_dropped = 0
    for _ in range(n_cases):
        sequences, length, stride, max_n_fraction, exclude = _random_case(rng)
        expected = _brute_force_windows(sequences, length, stride, max_n_fraction, exclude)
        got = genome_windows(
            sequences, length=length, stride=stride, max_n_fraction=max_n_fraction, exclude=exclude
        )
        assert got == expected, (sequences, length, stride, max_n_fraction, exclude)
        unfiltered = genome_windows(
            sequences, length=length, stride=stride, max_n_fraction=max_n_fraction
        )
        n_dropped += len(unfiltered) - len(got)
    assert n_dropped > 0  # the cases do exercise exclusion


def test_exclusion_matches_brute_force():
    _assert_matches_brute_force(random.Random(0), 300)


def test_exclusion_matches_brute_force_across_chunks_and_batches(monkeypatch):
    # tiny chunks and batches put hash-chunk and record-batch boundaries everywhere
    monkeypatch.setattr(_windows, "_CHUNK", 7)
    monkeypatch.setattr(_windows, "_BATCH", 50)
    _assert_matches_brute_force(random.Random(1), 150)


@pytest.mark.parametrize("length, stride", [(4, 1), (5, 3), (8, 8), (7, 20)])
def test_long_records_are_cut_in_pieces_with_the_same_windows(monkeypatch, length, stride):
    rng = random.Random(length * 100 + stride)
    records = ["".join(rng.choice("ACGTNacgt") for _ in range(rng.randint(0, 400))) for _ in range(6)]
    whole = genome_windows(records, length=length, stride=stride, max_n_fraction=0.3, uppercase=True,
                           exclude=["ACGTA", "ttt"])
    monkeypatch.setattr(_windows, "_BATCH", 23)  # every record becomes many pieces
    assert genome_windows(records, length=length, stride=stride, max_n_fraction=0.3, uppercase=True,
                          exclude=["ACGTA", "ttt"]) == whole
    assert whole == [w for r in records for w in [r[i:i + length].upper() for i in range(0, len(r) - length + 1, stride)]
                     if w.count("N") / length <= 0.3 and "ACGTA" not in w and "TTT" not in w
                     and "TACGT" not in w and "AAA" not in w]


def test_exclusion_is_exact_despite_hash_collisions(monkeypatch):
    # a hash with 4 values makes nearly every position a candidate: the exact
    # check alone must then decide
    real_hashes = _windows._kmer_hashes
    monkeypatch.setattr(
        _windows, "_kmer_hashes", lambda codes, k: real_hashes(codes, k) & np.uint64(3)
    )
    _assert_matches_brute_force(random.Random(2), 100)


def test_exclusion_on_either_strand_and_either_case():
    sequence = "TTTTTTTTTTacgtaccgatTTTTTTTTTT"
    assert genome_windows([sequence], length=10, exclude=["ACGTACCGAT"]) == ["TTTTTTTTTT"] * 2
    reverse = reverse_complement("ACGTACCGAT")
    assert genome_windows([sequence], length=10, exclude=[reverse.lower()]) == ["TTTTTTTTTT"] * 2
    # only windows that contain the whole sequence are dropped
    assert len(genome_windows([sequence], length=10, stride=1, exclude=["ACGTACCGAT"])) == 20


def test_exclusion_edge_cases():
    sequence = "ACGTACGTAC"
    # longer than a window: can never be inside one, nothing is dropped
    assert genome_windows([sequence], length=4, exclude=["ACGTACGTAC"]) == ["ACGT", "ACGT"]
    assert genome_windows([sequence], length=4, exclude=[]) == ["ACGT", "ACGT"]
    # TACG is in the record only across two windows, on neither strand of one
    assert genome_windows([sequence], length=4, exclude=iter(["TACG"])) == ["ACGT", "ACGT"]
    assert genome_windows([sequence], length=4, exclude=iter(["CGT"])) == []


def test_exclusion_non_ascii_record_keeps_positions():
    # "ß".upper() is "SS": case folding must not shift positions
    sequence = "ßacgtAAAAßACGT"
    windows = (sequence[start : start + 5] for start in range(len(sequence) - 4))
    expected = [window for window in windows if "ACGT" not in window.upper()]
    assert genome_windows([sequence], length=5, stride=1, exclude=["ACGT"]) == expected


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"length": 0}, ValueError, "length must be at least 1, got 0"),
        ({"length": 4, "stride": 0}, ValueError, "stride must be at least 1, got 0"),
        ({"length": 4.0}, TypeError, "length must be an integer, got 4.0"),
        (
            {"length": 4, "max_n_fraction": 1.5},
            ValueError,
            r"max_n_fraction must be a number in \[0, 1\], got 1.5",
        ),
        ({"length": 4, "max_n_fraction": -0.1}, ValueError, r"must be a number in \[0, 1\]"),
        ({"length": 4, "max_n_fraction": float("nan")}, ValueError, "got nan"),
        (
            {"length": 4, "exclude": "ACGT"},
            TypeError,
            "exclude must be an iterable of sequences, got a single string",
        ),
        ({"length": 4, "exclude": ["AC", ""]}, ValueError, r"exclude\[1\] is empty"),
        ({"length": 4, "exclude": ["AC", 7]}, TypeError, r"exclude\[1\] is a int, not a str"),
    ],
)
def test_windows_parameter_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        genome_windows(["ACGTACGT"], **kwargs)


def test_windows_record_errors():
    with pytest.raises(TypeError, match="got a single string. Wrap it in a list"):
        genome_windows("ACGTACGT", length=4)
    message = r"Record 1 is a int, not a sequence \(str\) or a \(name, sequence\) pair"
    with pytest.raises(TypeError, match=message):
        genome_windows(["ACGT", 5], length=4)


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def chr22_records(shared_data):
    return list(read_fasta(shared_data / "genomes" / "human_hg19_chr22_blocks.fa.gz"))


def test_real_ecoli(shared_data):
    records = list(read_fasta(shared_data / "genomes" / "ecoli_K12_MG1655.fa.gz"))
    assert [(name, len(sequence)) for name, sequence in records] == [("K-12-MG1655", 4_639_675)]
    windows = genome_windows(records, length=1000, both_strands=True)
    assert len(windows) == 2 * 4639
    assert windows[1] == reverse_complement(records[0][1][:1000])


def test_real_yeast(shared_data):
    records = list(read_fasta(shared_data / "genomes" / "yeast_S288C_chrI_chrII.fa.gz"))
    assert [name for name, _ in records] == ["chrI", "chrII"]
    assert sum(len(sequence) for _, sequence in records) == 1_043_386


def test_real_human_chr22_blocks(chr22_records):
    assert len(chr22_records) == 9627
    assert chr22_records[0][0] == "hg19_chr22:17443628-17448117"
    assert sum(len(sequence) for _, sequence in chr22_records) == 21_629_102
    assert any(any(base.islower() for base in sequence) for _, sequence in chr22_records[:50])


def test_real_gue_prom_core_tata(shared_data, gue_tata):
    path = shared_data / "gue" / "prom" / "prom_core_tata" / "train.csv"
    sequences, labels = read_sequence_csv(path)
    assert len(sequences) == 4904 and labels.dtype == np.int64
    assert set(labels.tolist()) == {0, 1}
    assert {len(sequence) for sequence in sequences} == {70}
    assert sequences == gue_tata[0] and labels.tolist() == gue_tata[1].tolist()


def test_real_chr22_windows_exclude_gue_leakage(shared_data, chr22_records):
    tata = shared_data / "gue" / "prom" / "prom_core_tata"
    evaluation = [
        sequence
        for split in ("train", "dev", "test")
        for sequence in read_sequence_csv(tata / f"{split}.csv")[0]
    ]
    all_windows = genome_windows(chr22_records, length=500, max_n_fraction=1.0)
    kept = genome_windows(chr22_records, length=500, max_n_fraction=1.0, exclude=evaluation)
    dropped = Counter(all_windows) - Counter(kept)
    assert sum(dropped.values()) == len(all_windows) - len(kept) > 0

    # independent check: every evaluation sequence is 70 bases, so a window leaks
    # exactly when one of its 70-mers (uppercased) is an evaluation sequence
    patterns = {s.upper() for s in evaluation} | {reverse_complement(s.upper()) for s in evaluation}

    def leaks(window):
        upper = window.upper()
        return any(upper[i : i + 70] in patterns for i in range(len(upper) - 69))

    assert all(leaks(window) for window in dropped)
    sample = random.Random(0).sample(kept, 1500)
    assert not any(leaks(window) for window in sample)
