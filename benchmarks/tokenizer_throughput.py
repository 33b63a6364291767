"""Tokenizer throughput on the real GUE sequences, each against its reference.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.tokenizer_throughput

It reads every GUE training split in ../shared/data/gue (176,762 sequences,
14.9 Mb), times each tokenizer and its reference in the same run (best of
several calls after a warm-up), and rewrites the "tokenizer-throughput" section of
RESULTS.md:

- KmerTokenizer(k=6) ids and counts against sklearn's CountVectorizer with
  character 6-grams (the same counts, checked here);
- CharTokenizer ids;
- the physical ceiling: a numpy copy of as many bytes as KmerTokenizer reads
  (one per base) plus writes (int32 ids and a bool mask);
- BPETokenizer transform and fit against HF tokenizers used directly to make
  the same padded id matrix and to train the same model.
"""

import argparse
import glob

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from benchmarks._report import SHARED_DATA, best_time, write_section
from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer, read_sequence_csv


def load_gue():
    paths = sorted(glob.glob(str(SHARED_DATA / "gue" / "*" / "*" / "train.csv")))
    if not paths:
        raise SystemExit(f"No GUE data under {SHARED_DATA / 'gue'}; see ../shared/data/README.md")
    sequences = []
    for path in paths:
        sequences += read_sequence_csv(path, label_column=None)[0]
    return sequences


def raw_hf_padded(tokenizer, sequences):
    """What a user of HF tokenizers writes to get padded ids and a mask."""
    encodings = tokenizer.encode_batch_fast(sequences)
    input_ids = np.array([encoding.ids for encoding in encodings], dtype=np.int32)
    return input_ids, input_ids != tokenizer.padding["pad_id"]


def raw_hf_train(sequences, vocab_size):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split("N", behavior="isolated")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, show_progress=False,
        special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"],
        initial_alphabet=list("ACGT"), limit_alphabet=4,
    )
    tokenizer.train_from_iterator(sequences, trainer, length=len(sequences))
    return tokenizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--bpe-repeats", type=int, default=9)
    parser.add_argument("--bpe-fit-repeats", type=int, default=3)
    parser.add_argument("--bpe-fit-sequences", type=int, default=50_000)
    args = parser.parse_args()

    sequences = load_gue()
    n_bases = sum(map(len, sequences))
    rate = lambda seconds: n_bases / seconds / 1e6  # noqa: E731  (Mb/s)
    rows = []

    kmer = KmerTokenizer(k=6)
    kmer_ids = best_time(lambda: kmer.transform(sequences), args.repeats)
    Xt = kmer.transform(sequences)
    kmer_counts_tokenizer = KmerTokenizer(k=6, output="counts")
    kmer_counts = best_time(lambda: kmer_counts_tokenizer.transform(sequences), args.repeats)
    reference = CountVectorizer(analyzer="char", ngram_range=(6, 6), lowercase=False)
    count_vectorizer = best_time(lambda: reference.fit_transform(sequences), repeats=1, warmup=0)
    # same counts, or the comparison means nothing
    ours = kmer_counts_tokenizer.transform(sequences)
    names = list(kmer_counts_tokenizer.get_feature_names_out())
    columns = [names.index(name) for name in reference.get_feature_names_out()]
    assert (ours[:, columns] != reference.transform(sequences)).nnz == 0

    char = CharTokenizer()
    char_ids = best_time(lambda: char.transform(sequences), args.repeats)

    moved = n_bases + Xt["input_ids"].nbytes + Xt["attention_mask"].nbytes
    source, target = np.ones(moved, dtype=np.uint8), np.empty(moved, dtype=np.uint8)
    copy = best_time(lambda: np.copyto(target, source), 4 * args.repeats)

    rows += [
        ("KmerTokenizer(k=6) ids", kmer_ids, f"{count_vectorizer / kmer_ids:.0f}x CountVectorizer; {copy / kmer_ids:.1%} of copy ceiling"),
        ("KmerTokenizer(k=6) counts", kmer_counts, f"{count_vectorizer / kmer_counts:.0f}x CountVectorizer"),
        ("CountVectorizer char 6-grams (reference)", count_vectorizer, "1x"),
        ("CharTokenizer ids", char_ids, ""),
        (f"numpy copy of {moved / 1e6:.0f} MB (ceiling for k-mer ids)", copy, ""),
    ]

    fit_sequences = sequences[: args.bpe_fit_sequences]
    bpe = BPETokenizer(vocab_size=4096)
    # HF tokenizers runs on all cores and its times scatter by tens of percent from
    # call to call here: interleave ours and the reference, keep each one's best
    fit_times, raw_fit_times = [], []
    for _ in range(args.bpe_fit_repeats):
        fit_times.append(best_time(lambda: bpe.fit(fit_sequences), repeats=1, warmup=0))
        raw_fit_times.append(best_time(lambda: raw_hf_train(fit_sequences, 4096), repeats=1, warmup=0))
    bpe_fit, raw_fit = min(fit_times), min(raw_fit_times)
    raw = bpe._padding_tokenizer()
    assert np.array_equal(raw_hf_padded(raw, sequences)[0], bpe.transform(sequences)["input_ids"])
    bpe_times, raw_times = [], []
    for _ in range(args.bpe_repeats):
        bpe_times.append(best_time(lambda: bpe.transform(sequences), repeats=1, warmup=0))
        raw_times.append(best_time(lambda: raw_hf_padded(raw, sequences), repeats=1, warmup=0))
    bpe_encode, raw_encode = min(bpe_times), min(raw_times)
    fit_rate = sum(map(len, fit_sequences)) / 1e6
    rows += [
        ("BPETokenizer(4096) transform", bpe_encode, f"{bpe_encode / raw_encode - 1:+.1%} vs raw tokenizers"),
        ("HF tokenizers encode_batch_fast + np.array (reference)", raw_encode, ""),
    ]

    lines = [
        "## Tokenizers",
        "",
        f"All GUE training splits: {len(sequences):,} sequences, {n_bases / 1e6:.1f} Mb. "
        f"Best of {args.repeats} after a warm-up (CountVectorizer: one run; BPE: best of "
        f"{args.bpe_repeats} transforms and {args.bpe_fit_repeats} fits, interleaved with the reference).",
        "",
        "| what | seconds | Mb/s | against the reference |",
        "| --- | ---: | ---: | --- |",
    ]
    lines += [f"| {name} | {seconds:.3f} | {rate(seconds):,.1f} | {note} |" for name, seconds, note in rows]
    lines += [
        f"| BPETokenizer(4096) fit, {len(fit_sequences):,} sequences | {bpe_fit:.2f} | {fit_rate / bpe_fit:.2f} | {bpe_fit / raw_fit - 1:+.1%} vs raw tokenizers |",
        f"| HF tokenizers train_from_iterator (reference) | {raw_fit:.2f} | {fit_rate / raw_fit:.2f} | |",
    ]
    write_section("tokenizer-throughput", "\n".join(lines))


if __name__ == "__main__":
    main()
