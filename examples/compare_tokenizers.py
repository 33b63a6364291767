"""Compare DNA tokenizations with a linear model on a real GUE task.

A notebook-style script (each ``# %%`` block is a cell). It reads GUE
``prom_core_tata`` (human core promoters with or without a TATA box) from
``../shared/data`` or ``--data``, tunes the k of a k-mer bag-of-words inside
``GridSearchCV``, and scores k-mers, BPE and single nucleotides on the test split
with the Matthews correlation the GUE benchmark reports.

    python examples/compare_tokenizers.py [--data PATH/TO/gue] [--task prom/prom_core_tata]
"""

# %%
import argparse
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import matthews_corrcoef
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer, read_sequence_csv

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gue")
parser.add_argument("--task", default="prom/prom_core_tata")
args = parser.parse_args()

X_train, y_train = read_sequence_csv(args.data / args.task / "train.csv")
X_test, y_test = read_sequence_csv(args.data / args.task / "test.csv")
print(f"{args.task}: {len(X_train)} training and {len(X_test)} test sequences of {len(X_train[0])} nt")

# %% Tune k inside the pipeline: the tokenizer is a step like any other.
pipeline = Pipeline([
    ("tokenizer", KmerTokenizer(output="counts")),
    ("classifier", LogisticRegression(max_iter=3000)),
])
search = GridSearchCV(
    pipeline,
    {"tokenizer__k": [3, 4, 5, 6], "classifier__C": [0.05, 0.5]},
    scoring="matthews_corrcoef",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)
print(f"best k-mer setting: {search.best_params_}, cross-validated MCC {search.best_score_:.3f}")

# %% The same classifier on each tokenization, scored on the test split.
C = search.best_params_["classifier__C"]
tokenizers = {
    f"{search.best_params_['tokenizer__k']}-mers, overlapping": KmerTokenizer(k=search.best_params_["tokenizer__k"], output="counts"),
    "6-mers, non-overlapping": KmerTokenizer(k=6, stride=6, output="counts"),
    "BPE, 1024 tokens": BPETokenizer(vocab_size=1024, output="counts"),
    "single nucleotides": CharTokenizer(output="counts"),
}
for name, tokenizer in tokenizers.items():
    model = Pipeline([("tokenizer", tokenizer), ("classifier", LogisticRegression(C=C, max_iter=3000))])
    model.fit(X_train, y_train)
    print(f"{name:28s} test MCC {matthews_corrcoef(y_test, model.predict(X_test)):.3f}")

# %% What the best model looks at: the k-mers with the largest weights.
best = search.best_estimator_
names = best["tokenizer"].get_feature_names_out()
weights = best["classifier"].coef_[0]
print("k-mers for class 1:", " ".join(names[weights.argsort()[::-1][:8]]))
print("k-mers for class 0:", " ".join(names[weights.argsort()[:8]]))
