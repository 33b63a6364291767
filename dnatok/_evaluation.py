"""Scoring any scikit-learn pipeline on GUE, task by task, beside the published models."""

import time

import numpy as np

from .datasets._gue import GUE_TASKS, fetch_gue, gue_folder, published_gue_scores

__all__ = ["evaluate_gue"]

#: the published models reported beside each score
PUBLISHED_MODELS = ("DNABERT-2", "NT-2500M-multi")


def evaluate_gue(
    estimator,
    tasks=None,
    *,
    param_grid=None,
    data_home=None,
    archive=None,
    limits=None,
    max_train=None,
    random_state=None,
    n_jobs=None,
    as_frame=False,
    callback=None,
):
    """Fit and score a pipeline on GUE tasks, beside DNABERT-2 and Nucleotide Transformer.

    For each task a clone of ``estimator`` is fitted on the training split (with
    ``param_grid``: one clone per candidate, the one with the best Matthews
    correlation on the dev split is kept) and scored on the test split: MCC,
    accuracy and F1 (binary, or macro over classes), with fit and predict seconds
    and the published scores of DNABERT-2 (117M) and NT-2500M-multi beside it
    (:func:`dnatok.datasets.published_gue_scores`). A task that fails is reported
    with its error, not raised.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Usually a Pipeline that starts with a dnatok tokenizer; takes a list of DNA
        strings.
    tasks : list of str, str or None, default=None
        Task paths (``"tf/0"``, ...); None is every task in the data. A task named
        more than once is evaluated once, in the order first named.
    param_grid : dict or list of dicts, default=None
        Candidate parameters (as :class:`~sklearn.model_selection.GridSearchCV`),
        chosen on the dev split. The test split is only ever scored.
    data_home, archive
        Where GUE is, as :func:`dnatok.datasets.fetch_gue` (downloaded if needed).
    limits : ArchiveLimits or None, default=None
        How far a GUE zip (``archive``, or the download) may expand before it is
        refused, as :func:`dnatok.datasets.fetch_gue`; None is the defaults.
    max_train : int or None, default=None
        Fit on at most this many training sequences (a random subset, drawn with
        ``random_state``), for quick runs on the larger tasks.
    random_state : int or None, default=None
        Sets every ``random_state`` parameter of the estimator (and picks the
        training subset), so a run is reproducible.
    n_jobs : int or None, default=None
        Tasks evaluated in parallel (joblib; -1 uses every core).
    as_frame : bool, default=False
        Return a pandas DataFrame instead of a list of dicts.
    callback : callable or None, default=None
        Called with each finished row (in task order), e.g. to print progress.

    Returns
    -------
    results : list of dict or pandas.DataFrame
        One row per task: ``task``, ``mcc``, ``accuracy``, ``f1``,
        ``fit_seconds``, ``predict_seconds``, ``n_train``, ``n_test``,
        ``best_params``, ``published_metric``, ``DNABERT-2``, ``NT-2500M-multi``,
        ``minus_DNABERT-2``, ``minus_NT-2500M-multi`` (this score minus the
        published one, on the published metric), ``error``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from dnatok import KmerTokenizer, evaluate_gue
    >>> model = make_pipeline(KmerTokenizer(output="counts"), LogisticRegression(max_iter=1000))
    >>> rows = evaluate_gue(model, ["prom/prom_core_tata"],  # doctest: +SKIP
    ...                     param_grid={"kmertokenizer__k": [4, 5, 6]})
    """
    from joblib import Parallel, delayed
    from sklearn.model_selection import ParameterGrid  # heavy: imported when used

    if isinstance(tasks, str):
        tasks = [tasks]
    root = gue_folder(data_home=data_home, archive=archive, limits=limits)
    if tasks is None:
        tasks = [t for t in GUE_TASKS if (root / t).is_dir()]
    else:  # a task named twice would be fitted twice and fill two rows
        tasks = list(dict.fromkeys(tasks))
    unknown = [t for t in tasks if t not in GUE_TASKS]
    if unknown:
        raise ValueError(f"Unknown GUE task(s) {', '.join(map(repr, unknown))}; see dnatok.datasets.list_gue_tasks().")
    if not tasks:
        raise ValueError(f"No GUE task to evaluate in {root}.")
    if param_grid is not None:
        ParameterGrid(param_grid)  # validates the grid before any fit
    published = published_gue_scores()

    def one(task):
        row = _evaluate_task(estimator, task, root, param_grid, max_train, random_state)
        row.update(_beside_published(row, published.get(task)))
        return row

    if n_jobs in (None, 1):
        rows = []
        for task in tasks:
            rows.append(one(task))
            if callback is not None:
                callback(rows[-1])
    else:
        rows = Parallel(n_jobs=n_jobs)(delayed(one)(task) for task in tasks)
        if callback is not None:
            for row in rows:
                callback(row)
    if as_frame:
        import pandas as pd

        return pd.DataFrame(rows)
    return rows


def _evaluate_task(estimator, task, root, param_grid, max_train, random_state):
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
    from sklearn.model_selection import ParameterGrid

    row = {"task": task, "mcc": np.nan, "accuracy": np.nan, "f1": np.nan, "fit_seconds": np.nan,
           "predict_seconds": np.nan, "n_train": 0, "n_test": 0, "best_params": None, "error": None}
    try:
        X_train, y_train = fetch_gue(task, subset="train", archive=root, return_X_y=True)
        X_test, y_test = fetch_gue(task, subset="test", archive=root, return_X_y=True)
        if max_train is not None and len(X_train) > max_train:
            keep = np.sort(np.random.default_rng(random_state).choice(len(X_train), max_train, replace=False))
            X_train, y_train = [X_train[i] for i in keep], y_train[keep]
        candidates = [{}] if param_grid is None else list(ParameterGrid(param_grid))
        start = time.perf_counter()
        if len(candidates) > 1:
            X_dev, y_dev = fetch_gue(task, subset="dev", archive=root, return_X_y=True)
            fitted = [_fit(estimator, params, random_state, X_train, y_train) for params in candidates]
            dev_mcc = [matthews_corrcoef(y_dev, model.predict(X_dev)) for model in fitted]
            best = int(np.argmax(dev_mcc))
            model, row["best_params"] = fitted[best], candidates[best]
        else:
            model = _fit(estimator, candidates[0], random_state, X_train, y_train)
            row["best_params"] = candidates[0] or None
        row["fit_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        predicted = model.predict(X_test)
        row["predict_seconds"] = time.perf_counter() - start
        binary = len(np.unique(np.concatenate([y_train, y_test]))) == 2
        row.update(
            mcc=float(matthews_corrcoef(y_test, predicted)),
            accuracy=float(accuracy_score(y_test, predicted)),
            f1=float(f1_score(y_test, predicted, average="binary" if binary else "macro")),
            n_train=len(X_train), n_test=len(X_test),
        )
    except Exception as error:  # one task's failure is reported, the others still run
        row["error"] = f"{type(error).__name__}: {error}"
    return row


def _fit(estimator, params, random_state, X, y):
    from sklearn.base import clone

    model = clone(estimator).set_params(**params)
    if random_state is not None:
        set_random_states(model, random_state)
    return model.fit(X, y)


def set_random_states(estimator, seed):
    """Set every ``random_state`` parameter of an estimator (nested ones too); returns it."""
    return estimator.set_params(**{name: seed for name in estimator.get_params() if name.endswith("random_state")})


def _beside_published(row, published):
    extra = {"published_metric": None if published is None else published["metric"]}
    for model in PUBLISHED_MODELS:
        value = None if published is None else published[model]
        ours = row["f1"] if published is not None and published["metric"] == "f1" else row["mcc"]
        extra[model] = value
        extra[f"minus_{model}"] = None if value is None or not np.isfinite(ours) else round(ours - value, 6)
    return extra
