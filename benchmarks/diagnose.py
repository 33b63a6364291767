"""Why did single-nucleotide models not learn? The experiments behind the answer.

Run from the repository root, with nothing else busy on the machine:

    python -m benchmarks.diagnose

Each row trains one configuration and records the training loss per epoch, the
validation accuracy and MCC, the share of validation sequences predicted as the
positive class, and for MxDNA the gradient norm of each part (router, experts,
assembly, nucleotide and token layers, embedding, stem, and the rest: head, decoder, norms; mean over the last epoch's batches)
and the expert usage (share of nucleotides read by each unit length) per epoch.

Data: the embedded demo task (its training split cut 75/25 into train and
validation; the demo's test split is not read), and GUE prom_core_tata (train,
scored on dev; test is not read).

Rewrites the "diagnose" section of RESULTS.md.
"""

import time

import numpy as np
import torch
from sklearn.metrics import matthews_corrcoef
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback

from benchmarks._report import SHARED_DATA, write_section
from dnatok import CharTokenizer, KmerTokenizer, read_sequence_csv
from dnatok.nn import SequenceClassificationModel
from estimators import MxDNAClassifier, SequenceClassifier

PARTS = ("router", "experts", "assembly", "nucleotide_layers", "token_layers", "embedding", "stem", "rest")


class WideEmbedding(SequenceClassificationModel):
    """The default model with N(0, 1) embeddings instead of std 0.02 (an experiment)."""

    def __init__(self, vocab_size, **kwargs):
        super().__init__(vocab_size, **kwargs)
        torch.nn.init.normal_(self.encoder.embedding.weight, std=1.0)


class Instruments(Callback):
    """Gradient norm per part (mean over an epoch's batches) and expert usage per epoch."""

    def __init__(self, probe):
        self.probe = probe

    def on_train_begin(self, net, **kwargs):
        self.gradients_, self.usage_ = [], []

    def on_epoch_begin(self, net, **kwargs):
        self.sums_, self.count_ = {}, 0

    def on_grad_computed(self, net, named_parameters, **kwargs):
        squares = {}
        for name, parameter in named_parameters:
            if parameter.grad is None:
                continue
            part = next((p for p in PARTS[:-1] if p in name), "rest")  # rest: head, decoder, norms
            squares[part] = squares.get(part, 0.0) + parameter.grad.float().pow(2).sum().item()
        for part, value in squares.items():
            self.sums_[part] = self.sums_.get(part, 0.0) + value**0.5
        self.count_ += 1

    def on_epoch_end(self, net, **kwargs):
        self.gradients_.append({p: v / max(self.count_, 1) for p, v in self.sums_.items()})
        encoder = getattr(net.module_, "encoder", None)
        if hasattr(encoder, "tokenize"):
            was_training = net.module_.training
            net.module_.eval()
            with torch.no_grad():
                ids = torch.as_tensor(self.probe["input_ids"][:256])
                out = encoder.tokenize(ids, torch.as_tensor(self.probe["attention_mask"][:256]))
            net.module_.train(was_training)
            experts = out.unit_expert[out.unit_expert >= 0]
            counts = torch.bincount(experts, minlength=encoder.tokenization.n_experts).float()
            nucleotides = counts * torch.arange(1, len(counts) + 1)
            self.usage_.append((nucleotides / nucleotides.sum()).tolist())


def demo_data():
    from dnatok._demo import split_demo_data

    X_train, _, y_train, _, _ = split_demo_data((), 0.25, 0)
    X_fit, X_valid, y_fit, y_valid = train_test_split(X_train, y_train, test_size=0.25, random_state=1,
                                                      stratify=y_train)
    return list(X_fit), np.asarray(y_fit), list(X_valid), np.asarray(y_valid)


def tata_data():
    folder = SHARED_DATA / "gue" / "prom" / "prom_core_tata"
    X_fit, y_fit = read_sequence_csv(folder / "train.csv")
    X_valid, y_valid = read_sequence_csv(folder / "dev.csv")
    return X_fit, np.asarray(y_fit), X_valid, np.asarray(y_valid)


SMALL = dict(module__d_model=64, random_state=0)
MXDNA_SMALL = dict(module__d_model=64, module__n_token_layers=2, pretrained=None, random_state=0)
# (name, tokenizer, estimator factory); conv_kernel_size=0 is the model before the fix
EXPERIMENTS = [
    ("6-mer transformer (reference)", lambda: KmerTokenizer(k=6), lambda e: SequenceClassifier(max_epochs=e, module__conv_kernel_size=0, **SMALL)),
    ("char transformer, as before (no stem)", CharTokenizer, lambda e: SequenceClassifier(max_epochs=e, module__conv_kernel_size=0, **SMALL)),
    ("  + lr 3e-3", CharTokenizer, lambda e: SequenceClassifier(max_epochs=e, lr=3e-3, module__conv_kernel_size=0, **SMALL)),
    ("  + lr 3e-4", CharTokenizer, lambda e: SequenceClassifier(max_epochs=e, lr=3e-4, module__conv_kernel_size=0, **SMALL)),
    ("  + N(0, 1) embeddings", CharTokenizer, lambda e: SequenceClassifier(WideEmbedding, max_epochs=e, module__conv_kernel_size=0, **SMALL)),
    ("  + no dropout", CharTokenizer, lambda e: SequenceClassifier(max_epochs=e, module__dropout=0.0, module__conv_kernel_size=0, **SMALL)),
    ("  + batch 8", CharTokenizer, lambda e: SequenceClassifier(max_epochs=e, batch_size=8, module__conv_kernel_size=0, **SMALL)),
    ("  + 3x the epochs", CharTokenizer, lambda e: SequenceClassifier(max_epochs=3 * e, module__conv_kernel_size=0, **SMALL)),
    ("  + convolution stem, kernel 5", CharTokenizer, lambda e: SequenceClassifier(max_epochs=e, module__conv_kernel_size=5, **SMALL)),
    ("char transformer, convolution stem 9 (new default)", CharTokenizer, lambda e: SequenceClassifier(max_epochs=e, **SMALL)),
    ("MxDNA from scratch, paper architecture (no stem)", CharTokenizer, lambda e: MxDNAClassifier(max_epochs=e, module__conv_kernel_size=0, **MXDNA_SMALL)),
    ("  + cls_direct pooling", CharTokenizer, lambda e: MxDNAClassifier(max_epochs=e, module__conv_kernel_size=0, module__pooling="cls_direct", **MXDNA_SMALL)),
    ("  + aux_loss_weight 0", CharTokenizer, lambda e: MxDNAClassifier(max_epochs=e, aux_loss_weight=0.0, module__conv_kernel_size=0, **MXDNA_SMALL)),
    ("MxDNA from scratch, convolution stem 9 (new default)", CharTokenizer, lambda e: MxDNAClassifier(max_epochs=e, **MXDNA_SMALL)),
    ("MxDNA from scratch, stem 9 + expert gain 10 (= n_experts)", CharTokenizer, lambda e: MxDNAClassifier(max_epochs=e, module__expert_gain=10.0, **MXDNA_SMALL)),
]


def run(data, epochs, names=None):
    X_fit, y_fit, X_valid, y_valid = data
    rows = []
    for name, make_tokenizer, make_estimator in EXPERIMENTS:
        if names is not None and name not in names:
            continue
        tokenizer = make_tokenizer().fit(X_fit)
        T_fit, T_valid = tokenizer.transform(X_fit), tokenizer.transform(X_valid)
        instruments = Instruments(T_valid)
        estimator = make_estimator(epochs).set_params(callbacks=[("instruments", instruments)])
        start = time.perf_counter()
        estimator.fit(T_fit, y_fit)
        seconds = time.perf_counter() - start
        predicted = estimator.predict(T_valid)
        rows.append({
            "name": name, "seconds": seconds,
            "losses": [float(v) for v in estimator.history[:, "train_loss"]],
            "train_accuracy": float(np.mean(estimator.predict(T_fit) == y_fit)),
            "accuracy": float(np.mean(predicted == y_valid)),
            "mcc": float(matthews_corrcoef(y_valid, predicted)),
            "positive": float(np.mean(predicted == 1)),
            "gradients": instruments.gradients_[-1] if instruments.gradients_ else {},
            "usage": instruments.usage_,
        })
        print(name, {k: v for k, v in rows[-1].items() if k != "name"}, flush=True)
    return rows


def table(rows):
    lines = ["| configuration | training loss per epoch | train acc. | valid acc. | valid MCC | predicted positive | s |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        losses = " ".join(f"{v:.3f}" for v in r["losses"])
        lines.append(f"| {r['name']} | {losses} | {r['train_accuracy']:.3f} | {r['accuracy']:.3f} | "
                     f"{r['mcc']:.3f} | {r['positive']:.2f} | {r['seconds']:.0f} |")
    return lines


def mxdna_details(rows):
    lines = ["| configuration | gradient norm per part, last epoch | expert usage (nt share, lengths 1..10), first -> last epoch |",
             "| --- | --- | --- |"]
    for r in rows:
        if not r["usage"]:
            continue
        gradients = ", ".join(f"{part} {r['gradients'][part]:.3f}" for part in PARTS if part in r["gradients"])
        usage = " -> ".join(" ".join(f"{u:.2f}" for u in epoch) for epoch in (r["usage"][0], r["usage"][-1]))
        lines.append(f"| {r['name'].strip()} | {gradients} | {usage} |")
    return lines


def main():
    torch.set_num_threads(2)
    demo = run(demo_data(), epochs=6)
    tata_names = {name for name, *_ in EXPERIMENTS if not name.startswith("  ")}
    tata = run(tata_data(), epochs=4, names=tata_names)
    body = [
        "## Why single-nucleotide models did not learn (issue 7)",
        "",
        "Demo task (1,125 training sequences of 100 nt, scored on 375 held-out training sequences), "
        "d_model 64, 6 epochs unless said, batch 32, lr 1e-3, seed 0:",
        "",
        *table(demo),
        "",
        "MxDNA instruments on the demo task:",
        "",
        *mxdna_details(demo),
        "",
        "GUE prom_core_tata (4,904 training sequences, scored on the dev split; the test split is not read), "
        "4 epochs:",
        "",
        *table(tata),
        "",
        *mxdna_details(tata),
    ]
    write_section("diagnose", "\n".join(body))


if __name__ == "__main__":
    main()
