"""MxDNA's training step against the char transformer's, where users run them.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.step_cost [--pretrain-seconds 60]

1. Step ratios. One fine-tuning step (forward, backward, fused AdamW, subnormals
   flushed as the training loop does) of ``MxDNAClassificationModel`` against
   ``SequenceClassificationModel`` (the char transformer) of the same width
   (MxDNATokenizer's default, d_model 128, 4 heads) and the same total depth,
   batch 32, on real sequences: GUE tf/0 training sequences (101 nt) and 512-nt
   windows of the shared genomes. Steps alternate between the models (median of
   ``--steps`` each). MxDNA's cost depends on how many tokens its router makes, so
   each row says how it was routed: untrained (random routing, the shortest units)
   or pretrained (an MxDNATokenizer of that depth pretrained for
   ``--pretrain-seconds`` on the same kind of sequences, its weights copied in,
   as ``MxDNAClassifier`` does). The paper's depth (4 + 16) is measured untrained
   only: pretraining it long enough to route well does not fit in a benchmark run.
2. Where MxDNA's step goes at 101 nt: forward + backward of each part on its own
   (the stem, one nucleotide layer, the learnt tokenization, one token layer at the
   pretrained router's token count, the decoder head), and of the tokenization's
   parts in its forward pass, beside the char transformer's layer.
3. Epoch time of the default pipelines a user types on 2,000 tf/0 training
   sequences: ``CharTokenizer() + SequenceClassifier()`` against ``MxDNATokenizer()
   + MxDNAClassifier()`` (tokenizer pretrained for ``--pretrain-seconds``), with
   each of MxDNA's poolings; two epochs each, the second one's time (it includes
   the 10% validation pass).

Rewrites the "step_cost" section of RESULTS.md.
"""

import argparse
import inspect
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks._report import SHARED_DATA, wall_times, write_section
from dnatok import CharTokenizer, MxDNATokenizer, genome_windows, read_fasta, read_sequence_csv
from dnatok.nn import MxDNAClassificationModel, SequenceClassificationModel
from dnatok.nn._mxdna_selection import select_basic_units
from dnatok.training import flushing_subnormals
from estimators import MxDNAClassifier, SequenceClassifier

WIDTH = dict(d_model=128, n_heads=4)
DEFAULT_POOLING = inspect.signature(MxDNAClassificationModel).parameters["pooling"].default
BATCH = 32


def tf0_sequences(n):
    frame = read_sequence_csv(SHARED_DATA / "gue" / "tf" / "0" / "train.csv")
    return list(frame[0][:n]), np.asarray(frame[1][:n])


def genome_sequences(n, length=512):
    records = read_fasta(SHARED_DATA / "genomes" / "human_hg19_chr22_blocks.fa.gz")
    windows = genome_windows(records, length=length, max_n_fraction=0.0, uppercase=True)
    order = np.random.default_rng(0).permutation(len(windows))[:n]
    return [windows[i] for i in order]


def pretrained_tokenizer(sequences, depth, seconds):
    tokenizer = MxDNATokenizer().set_params(
        pretrainer__module__n_nucleotide_layers=depth[0], pretrainer__module__n_token_layers=depth[1],
        pretrainer__max_time=seconds, pretrainer__max_epochs=1000, pretrainer__random_state=0)
    return tokenizer.fit(sequences)


def step_times(sequences, depth, variants, steps):
    """Median step seconds of the char transformer and of each MxDNA variant, interleaved.

    ``variants`` maps a name to (pooling, pretrained tokenizer or None). Returns
    ``(char seconds, {name: (MxDNA seconds, nucleotides per unit)})``.
    """
    torch.manual_seed(0)
    tokens = CharTokenizer().transform(sequences[: BATCH * 4])
    ids = torch.as_tensor(tokens["input_ids"]).long()
    mask = torch.as_tensor(tokens["attention_mask"]).bool()
    labels = torch.randint(0, 2, (len(ids),))
    models = {"char": SequenceClassificationModel(vocab_size=9, n_classes=2, n_layers=sum(depth), max_length=4096,
                                                  **WIDTH)}
    nt_per_unit = {}
    for name, (pooling, tokenizer) in variants.items():
        model = MxDNAClassificationModel(n_classes=2, pooling=pooling, n_nucleotide_layers=depth[0],
                                         n_token_layers=depth[1], **WIDTH)
        if tokenizer is not None:  # as MxDNAClassifier starts: from the pretrained encoder
            model.encoder.load_state_dict(tokenizer.model_.encoder.state_dict())
        with torch.no_grad():
            units = model.encoder.eval().tokenize(ids, mask)
        nt_per_unit[name] = float((units.unit_length > 0).sum() / units.n_units.sum())
        models[name] = model
    optimizers = {name: torch.optim.AdamW(model.train().parameters(), lr=1e-4, fused=True)
                  for name, model in models.items()}

    def step(name, batch):
        rows = slice(batch * BATCH, (batch + 1) * BATCH)
        output = models[name](ids[rows], mask[rows])
        logits, aux = output if isinstance(output, tuple) else (output, 0.0)
        loss = F.cross_entropy(logits, labels[rows]) + 0.01 * aux
        optimizers[name].zero_grad()
        loss.backward()
        optimizers[name].step()

    times = {name: [] for name in models}
    with flushing_subnormals():
        for name in models:
            step(name, 0)  # warm-up
        for i in range(steps):
            for name in models:
                start = time.perf_counter()
                step(name, i % 4)
                times[name].append(time.perf_counter() - start)
    char = statistics.median(times.pop("char"))
    return char, {name: (statistics.median(values), nt_per_unit[name]) for name, values in times.items()}


def _median_ms(function):
    return statistics.median(wall_times(function, repeats=20, warmup=3)) * 1e3


def parts(sequences, tokenizer):
    """Forward + backward milliseconds of each part of the pretrained 1+2 MxDNA classifier, batch 32."""
    tokens = CharTokenizer().transform(sequences[:BATCH])
    ids = torch.as_tensor(tokens["input_ids"]).long()
    mask = torch.as_tensor(tokens["attention_mask"]).bool()
    model = MxDNAClassificationModel(n_classes=2, pooling="decoder", n_nucleotide_layers=1, n_token_layers=2, **WIDTH)
    model.encoder.load_state_dict(tokenizer.model_.encoder.state_dict())
    model.train()
    encoder, tokenization = model.encoder, model.encoder.tokenization
    B, length = ids.shape
    grid = torch.arange(length).expand(B, length)
    special = encoder.special_tokens_mask(ids)
    eligible = mask & ~special
    with torch.no_grad():
        states = encoder._nucleotide_states(ids, mask, special)[0]
        out = tokenization(states, mask, special, gather_tokens=True)
    x = states.clone().requires_grad_()
    tokens_in = out.hidden.clone().requires_grad_()
    token_positions, token_present = out.token_positions, out.token_present
    memory = torch.cat((tokens_in, x), 1)
    memory_positions = torch.cat((token_positions, grid), 1)
    memory_mask = torch.cat((token_present, mask), 1)

    def backward(output):
        (output[0] if isinstance(output, tuple) else output).square().mean().backward()

    results = {
        "convolution stem": _median_ms(lambda: backward(encoder.stem(x, mask))),
        "one layer over the nucleotides (both models)": _median_ms(
            lambda: backward(encoder.nucleotide_layers[0](x, grid, mask))),
        "learnt tokenization": _median_ms(
            lambda: backward(tokenization(x, mask, special, gather_tokens=True).hidden)),
        f"one token layer ({token_positions.shape[1]} token slots)": _median_ms(
            lambda: backward(encoder.token_layers[0](tokens_in, token_positions, token_present))),
        "decoder head ([CLS] query over tokens + nucleotides)": _median_ms(
            lambda: backward(model.decoder(tokens_in[:, :1], torch.zeros(B, 1, dtype=torch.long), memory_mask,
                                           memory, memory_positions))),
    }
    # the tokenization's forward, part by part
    h = tokenization.norm(x)
    scores = tokenization.route(h, special)
    units = select_basic_units(scores.detach(), eligible)
    probabilities = scores.float().softmax(-1)
    is_centre = units.unit_expert >= 0
    with torch.no_grad():
        forward = {
            "norm + router (with jitter)": _median_ms(lambda: tokenization.route(tokenization.norm(x), special)),
            "unit selection": _median_ms(lambda: select_basic_units(scores, eligible)),
            "expert mixture": _median_ms(lambda: tokenization.mix_experts(h, units.covering_expert, probabilities)),
            "deformable assembly": _median_ms(
                lambda: tokenization.assembly(x, mask, is_centre, token_positions)),
        }
    return results, forward


def epoch_seconds(pipeline_steps, X, y):
    """Seconds of the second training epoch (validation included) of the last step."""
    *transformers, estimator = pipeline_steps
    for transformer in transformers:
        X = transformer.fit_transform(X)
    estimator.set_params(max_epochs=2, random_state=0).fit(X, y)
    return estimator.history_[-1]["dur"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrain-seconds", type=float, default=60.0)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    torch.manual_seed(0)
    short, y = tf0_sequences(2000)
    long = genome_sequences(2000)

    rows = []
    pretrained = {}
    for length, sequences in ((101, short), (512, long)):
        for depth in ((1, 2), (4, 16)):
            routers = {"untrained": None}
            if depth == (1, 2):
                pretrained[length] = pretrained_tokenizer(sequences, depth, args.pretrain_seconds)
                routers[f"pretrained {args.pretrain_seconds:.0f} s"] = pretrained[length]
            variants = {(router, pooling): (pooling, tokenizer)
                        for router, tokenizer in routers.items() for pooling in ("decoder", "mean")}
            # the paper's depth at 512 nt takes seconds per step: fewer steps there
            steps = args.steps if sum(depth) * length < 5000 else max(3, args.steps // 3)
            char, mxdna = step_times(sequences, depth, variants, steps)
            for (router, pooling), (seconds, nt) in mxdna.items():
                row = (f"| {length} | {depth[0]}+{depth[1]} | {router} | {nt:.2f} | {pooling} | "
                       f"{seconds * 1e3:.0f} | {char * 1e3:.0f} | {seconds / char:.2f}x |")
                print(row, flush=True)
                rows.append(row)

    part_ms, forward_ms = parts(short, pretrained[101])
    for name, ms in {**part_ms, **forward_ms}.items():
        print(f"{name}: {ms:.1f} ms", flush=True)

    tokenizer = MxDNATokenizer().set_params(pretrainer__max_time=args.pretrain_seconds, pretrainer__max_epochs=1000,
                                            pretrainer__random_state=0)
    X_mx = tokenizer.fit_transform(short)
    epochs = [("CharTokenizer() + SequenceClassifier()", "",
               epoch_seconds([CharTokenizer(), SequenceClassifier()], short, y))]
    for pooling in ("decoder", "mean"):
        classifier = MxDNAClassifier(module__pooling=pooling)
        epochs.append((f"MxDNATokenizer() + MxDNAClassifier(module__pooling='{pooling}')",
                       " (the default)" if pooling == DEFAULT_POOLING else "", epoch_seconds([classifier], X_mx, y)))
    for code, note, seconds in epochs:
        print(code + note, f"{seconds:.1f} s", flush=True)

    lines = [
        "## MxDNA's step against the char transformer's",
        "",
        f"One fine-tuning step (forward, backward, fused AdamW), batch {BATCH}, d_model 128, 4 heads, both with the "
        f"9-wide convolution stem, same total depth; median of {args.steps} interleaved steps ({max(3, args.steps // 3)} at 512 nt, 4 + 16 layers), {torch.get_num_threads()} torch threads, on real sequences "
        "(101 nt: GUE tf/0 training sequences; 512 nt: windows of human chr22). nt/unit: mean nucleotides per "
        "basic unit of that router on those batches.",
        "",
        "| length (nt) | depth (nucleotide + token layers) | router | nt/unit | MxDNA pooling | MxDNA step (ms) "
        "| char step (ms) | ratio |",
        "| ---: | --- | --- | ---: | --- | ---: | ---: | ---: |",
        *rows,
        "",
        f"Where MxDNA's step goes at 101 nt (1+2 layers, router pretrained {args.pretrain_seconds:.0f} s, batch "
        f"{BATCH}): forward + backward of each part alone, median of 20. The char transformer's step is the stem "
        "plus three nucleotide layers.",
        "",
        "| part | forward + backward (ms) |",
        "| --- | ---: |",
        *(f"| {name} | {ms:.1f} |" for name, ms in part_ms.items()),
        "",
        "The tokenization's forward pass, part by part (ms): "
        + "; ".join(f"{name} {ms:.1f}" for name, ms in forward_ms.items()) + ".",
        "",
        f"Default pipelines on 2,000 tf/0 training sequences (MxDNA's tokenizer pretrained for "
        f"{args.pretrain_seconds:.0f} s), seconds of the second training epoch, validation included:",
        "",
        "| pipeline | epoch (s) | ratio |",
        "| --- | ---: | ---: |",
        *(f"| `{code}`{note} | {seconds:.1f} | {seconds / epochs[0][2]:.2f}x |" for code, note, seconds in epochs),
    ]
    write_section("step_cost", "\n".join(lines))


if __name__ == "__main__":
    main()
