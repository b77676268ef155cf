"""Fewer labels: training recipes that learn from the unlabeled pool, at fixed label budgets.

Each (arm, budget, trial) trains one classifier from scratch on ``budget`` labeled
pool volumes and scores it on the test set. The labeled sets are nested and paired:
trial ``t`` draws one permutation of the pool (seed ``t``) and every arm and budget
of that trial labels its first ``budget`` volumes, so arms differ only in the
recipe. Rows are appended to a JSON-lines file as they finish; a rerun skips the
rows already there (the run is resumable after a kill). Pretrained encoders are
cached per (pretraining config, trial) in ``<out>.encoders/``.

Usage::

    python benchmarks/fewer_labels.py --snr 0.1 --arms today,rotations \\
        --budgets 20,50,100 --trials 3 --out benchmarks/results/fewer-labels/explore.jsonl

    python benchmarks/fewer_labels.py --report benchmarks/results/fewer-labels/explore.jsonl

One torch thread per process (``--threads``); the seconds recorded are wall time
of the fit on this machine, shared with whatever else ran.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

#: Mean Teacher on the pool: two unlabeled volumes per labeled one, at least 500 steps
MEAN_TEACHER = dict(
    semi=True, unlabeled_method="mean-teacher", unlabeled_ratio=2, min_steps=500,
    unlabeled_weight=3.0,
)  # fmt: skip

#: the arms of the measurement (docs/benchmarks.md, "Fewer labels"), declared before it ran
FINAL = {
    # today's recipe: the benchmark page's (width 16, 20 epochs AdamW cosine, half turns)
    "today": dict(augment=True),
    # + pretraining: SimCLR on the pool, the encoder fine-tuned gently (lr 1e-4; the last
    # layer 3e-3); exploration (explore-snr01.jsonl) chose it over a frozen encoder,
    # full-rate fine-tuning and a linear probe
    "pretrained": dict(pretrain="simclr", min_steps=400, encoder_lr=1e-4),
    # + semi-supervised: Mean Teacher on the pool, from scratch
    "semi": dict(MEAN_TEACHER),
    # + both: the pretrained encoder, fine-tuned gently, with Mean Teacher on the pool
    "both": dict(MEAN_TEACHER, pretrain="simclr", encoder_lr=1e-4),
    # + embedding cold start: the pretrained arm, its labels chosen by ProbCover / TypiClust
    "pretrained-probcover": dict(
        pretrain="simclr", min_steps=400, encoder_lr=1e-4, cold_start="probcover"
    ),
    "pretrained-typiclust": dict(
        pretrain="simclr", min_steps=400, encoder_lr=1e-4, cold_start="typiclust"
    ),
    # references outside the declared family: the encoder frozen (the last layer trained),
    # and logistic regression on the frozen embedding
    "pretrained-frozen": dict(pretrain="simclr", min_steps=400, freeze_encoder=True),
    "probe": dict(pretrain="simclr", probe=True),
    # the goal's "50 labels (5 per class)": budget / 10 labels drawn in each class
    "pretrained-balanced": dict(pretrain="simclr", min_steps=400, encoder_lr=1e-4, balanced=True),
    "probe-balanced": dict(pretrain="simclr", probe=True, balanced=True),
}
#: arms compared with "today" in the declared family (the others are references)
FAMILY = ("pretrained", "semi", "both", "pretrained-probcover", "pretrained-typiclust")

ARMS = {
    # exploration (explore-snr01.jsonl), before the declaration
    # today's recipe, trained for at least 400 optimizer steps (20 epochs of 50 labels is 80)
    "today-long": dict(augment=True, min_steps=400),
    # any 3D rotation with the wedge re-imposed, instead of half turns only
    "rotations": dict(augment="rotations"),
    "rotations-long": dict(augment="rotations", min_steps=400),
    "rotations-xlong": dict(augment="rotations", min_steps=1000),
    # semi-supervised on the whole pool (its other volumes are the unlabeled set)
    "fixmatch": dict(semi=True, unlabeled_method="fixmatch", unlabeled_ratio=2, min_steps=500),
    "fixmatch-t80": dict(
        semi=True,
        unlabeled_method="fixmatch",
        unlabeled_ratio=2,
        min_steps=500,
        pseudo_label_threshold=0.8,
    ),
    "mean-teacher": dict(MEAN_TEACHER),
    # fine-tuned from the self-supervised encoder of the pool, at the classifier's rate / 1e-3
    "pretrained-lr3e-3": dict(pretrain="simclr", min_steps=400),
    "pretrained-lr1e-3": dict(pretrain="simclr", min_steps=400, lr=1e-3),
    "pretrained-enclr1e-4": dict(pretrain="simclr", min_steps=400, encoder_lr=1e-4),
    # logistic regression on BYOL's embedding (self-distillation against SimCLR's contrast)
    "probe-byol": dict(pretrain="byol", probe=True),
    # the pretrained arm, its encoder pretrained on 20,000 unlabeled particles: the pool's
    # 2,000 (same labels, same test set) and 18,000 more from the simulator
    "pretrained-pool20k": dict(pretrain="simclr-pool20k", min_steps=400, encoder_lr=1e-4),
}

ARMS.update(FINAL)

#: pretraining configurations (SubtomogramEmbedder parameters) by name
PRETRAIN = {
    "simclr": dict(method="simclr", max_epochs=30),
    "byol": dict(method="byol", max_epochs=30),
    # as many optimizer steps as "simclr" (3 epochs of 20,000 = 30 of 2,000), 10x the particles
    "simclr-pool20k": dict(method="simclr", max_epochs=3),
}
#: extra unlabeled particles of a pretraining configuration (added to the pool's own)
EXTRA_UNLABELED = {"simclr-pool20k": 18000}


def _extra_unlabeled(snr, n):
    """``n`` more particles like the pool's: another draw of the simulator (seed 1).

    The same classes, SNR and imaging as the pool (seed 0), other particles and poses;
    only their volumes are used, never their labels or their test split.
    """
    from skcryoal.datasets import fetch_simulated

    data = fetch_simulated(
        "quick", n_train_per_class=n // 10, n_test_per_class=1, snr=snr, random_state=1
    )
    return data.X_train


#: the imbalanced set: fig1-imbalanced-cpu's pool (the real set's imbalance, 1512 volumes)
#: with a test set of 2001 in the same proportions (its own 271 is too small to compare on)
IMBALANCED = dict(
    n_train_per_class=[306, 189, 158, 140, 133, 126, 119, 116, 113, 112],
    n_test_per_class=[405, 250, 209, 186, 176, 167, 157, 154, 149, 148],
)


#: the bundled real structures (issue 23's replication): ``--data`` name -> benchmark preset
#: whose simulated data (real complexes as classes; among 60% junk) is used as it is
REAL_PRESETS = {
    "real-structures": "real-structures-cpu",
    "candidate-cleaning": "candidate-cleaning-cpu",
}


def _load(snr, data="balanced"):
    from skcryoal.datasets import fetch_simulated

    if data == "imbalanced":
        data = fetch_simulated("imbalanced10-snr005", **IMBALANCED, snr=snr)
    elif data in REAL_PRESETS:
        from skcryoal.benchmark import get_preset

        preset = get_preset(REAL_PRESETS[data])
        if snr != preset.data_params["snr"]:
            raise ValueError(
                f"--data {data} is {preset.name}'s data at SNR {preset.data_params['snr']}; "
                f"got --snr {snr:g}: leave --snr out or give that value"
            )
        data = fetch_simulated(preset.dataset, **preset.data_params)
    else:
        data = fetch_simulated("quick", n_train_per_class=200, n_test_per_class=100, snr=snr)
    return np.asarray(data.X_train), np.asarray(data.y_train), data.X_test, np.asarray(data.y_test)


def _epochs(spec, n_labeled, batch_size=16):
    steps_per_epoch = max(1, n_labeled // batch_size)
    epochs = spec.get("max_epochs", 20)
    if "min_steps" in spec:
        epochs = max(epochs, math.ceil(spec["min_steps"] / steps_per_epoch))
    return epochs


def _classifier(spec, n_labeled, seed, width, classes=None):
    from skcryoal import CryoNetClassifier

    params = dict(
        module__width=width,
        max_epochs=_epochs(spec, n_labeled),
        batch_size=16,
        reg_lambda=spec.get("reg_lambda", 0.0),
        augment=spec.get("augment", True),
        classes=np.arange(10) if classes is None else np.asarray(classes),
        random_state=seed,
    )
    for key in (
        "unlabeled_weight", "unlabeled_ratio", "pseudo_label_threshold", "unlabeled_method",
        "lr", "freeze_encoder", "encoder_lr",
    ):  # fmt: skip
        if key in spec:
            params[key] = spec[key]
    return CryoNetClassifier(**params)


def pretrained_encoder(name, X_pool, folder, width, seed=0, snr=None):
    """Fit (or resume, or load) the pool's encoder of a pretraining configuration.

    A configuration in ``EXTRA_UNLABELED`` trains on the pool and that many more
    simulated particles at ``snr``.
    """
    from skcryoal.pretraining import SubtomogramEmbedder

    folder.mkdir(parents=True, exist_ok=True)
    if name in EXTRA_UNLABELED:
        X_pool = np.concatenate([X_pool, _extra_unlabeled(snr, EXTRA_UNLABELED[name])])
    emb = SubtomogramEmbedder(
        **PRETRAIN[name], width=width, random_state=seed, progress=False,
        checkpoint=folder / f"{name}-w{width}-seed{seed}.pt",
    )  # fmt: skip
    t0 = time.perf_counter()
    emb.fit(X_pool)
    seconds = sum(h["seconds"] for h in emb.history_)
    return emb, seconds, time.perf_counter() - t0


def _scores(y_test, pred, classes):
    """Accuracy, macro-F1 and each class's recall (in the order of ``classes``)."""
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    recall = recall_score(y_test, pred, labels=classes, average=None, zero_division=0)
    return dict(
        accuracy=float(accuracy_score(y_test, pred)),
        macro_f1=float(f1_score(y_test, pred, labels=classes, average="macro", zero_division=0)),
        recall=[round(float(r), 4) for r in recall],
    )


def run_one(arm, spec, budget, trial, data, width, encoders=None, snr=None):
    X_pool, y_pool, X_test, y_test = data
    classes = np.unique(np.concatenate([y_pool, y_test]))
    order = np.random.default_rng(trial).permutation(len(X_pool))
    labeled = np.sort(order[:budget])
    if spec.get("balanced"):
        per_class = budget // len(classes)
        # the first per_class volumes of each class in the trial's permutation: nested too
        labeled = np.sort(np.concatenate([order[y_pool[order] == c][:per_class] for c in classes]))
    extra = {}
    if spec.get("pretrain"):
        emb, pre_s, _ = pretrained_encoder(spec["pretrain"], X_pool, encoders, width, snr=snr)
        extra["pretrain_seconds"] = round(pre_s, 1)
    if spec.get("cold_start"):
        from skcryoal.query import get_strategy

        t0 = time.perf_counter()
        strategy = get_strategy(spec["cold_start"], embedder=emb, random_state=trial)
        labeled = np.sort(strategy(None, X_pool, n_instances=budget))
        extra["select_seconds"] = round(time.perf_counter() - t0, 2)
    extra["classes_labeled"] = int(len(np.unique(y_pool[labeled])))
    extra["n_labeled"] = int(len(labeled))
    if spec.get("probe"):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        t0 = time.perf_counter()
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        probe.fit(emb.transform(X_pool[labeled]), y_pool[labeled])
        pred = probe.predict(emb.transform(X_test))
        return dict(
            arm=arm, budget=int(budget), trial=int(trial), **_scores(y_test, pred, classes),
            fit_seconds=round(time.perf_counter() - t0, 2), epochs=0, spec=spec, **extra,
        )  # fmt: skip
    clf = _classifier(spec, budget, seed=1000 + trial, width=width, classes=classes)
    if spec.get("pretrain"):
        clf.set_params(encoder=emb.encoder_)
    t0 = time.perf_counter()
    if spec.get("semi"):
        y = np.full(len(X_pool), -1)
        y[labeled] = y_pool[labeled]
        clf.fit(X_pool, y)
    else:
        clf.fit(X_pool[labeled], y_pool[labeled])
    fit_s = time.perf_counter() - t0
    pred = clf.predict(X_test)
    return dict(
        arm=arm,
        budget=int(budget),
        trial=int(trial),
        **_scores(y_test, pred, classes),
        fit_seconds=round(fit_s, 2),
        epochs=int(clf.max_epochs),
        spec=spec,
        **extra,
    )


def _done(path):
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by a kill is redone
    return rows


def _repair(path):
    """Cut a last line left unfinished by a kill (it is run again)."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


def report(path):
    import pandas as pd
    from scipy import stats

    df = pd.DataFrame(_done(Path(path)))
    out = []
    for (arm, budget), g in df.groupby(["arm", "budget"]):
        acc = g["accuracy"].to_numpy()
        half = (
            stats.t.ppf(0.975, len(acc) - 1) * acc.std(ddof=1) / np.sqrt(len(acc))
            if len(acc) > 1
            else np.nan
        )
        out.append(
            dict(
                arm=arm,
                budget=budget,
                n=len(acc),
                accuracy=acc.mean(),
                ci=half,
                fit_s=g["fit_seconds"].mean(),
            )
        )
    table = pd.DataFrame(out).pivot(index="arm", columns="budget", values="accuracy")
    print(table.round(3).to_string())
    print(pd.DataFrame(out).round(3).to_string(index=False))


def labels_to_reach(budgets, accuracies, target=0.9):
    """Labels at which a curve first reaches ``target``, linearly interpolated.

    Returns ``(labels, censored)``: the first budget itself if the curve starts at or
    above the target; the largest budget and ``censored=True`` if it never reaches it.
    """
    order = np.argsort(budgets)
    b = np.asarray(budgets, dtype=float)[order]
    a = np.asarray(accuracies, dtype=float)[order]
    above = np.flatnonzero(a >= target)
    if len(above) == 0:
        return float(b[-1]), True
    k = above[0]
    if k == 0:
        return float(b[0]), False
    x0, x1, y0, y1 = b[k - 1], b[k], a[k - 1], a[k]
    return float(x0 + (target - y0) * (x1 - x0) / (y1 - y0)), False


def endpoints(rows, budgets, target=0.9, metric="accuracy"):
    """Per (arm, trial): labels to reach ``target`` (with censoring) and ``metric`` at 50.

    The endpoint columns are ``labels_to_target`` and ``<metric>_at_50``.
    """
    import pandas as pd

    df = pd.DataFrame(rows)
    out = []
    for (arm, trial), g in df.groupby(["arm", "trial"]):
        g = g.set_index("budget")
        labels, censored = np.nan, False
        # the budgets measured from the first on: a curve's first crossing needs only them,
        # its censoring (never reaching the target) needs them all
        k = next((i for i, b in enumerate(budgets) if b not in g.index), len(budgets))
        if k:
            measured = list(budgets[:k])
            labels, censored = labels_to_reach(measured, g.loc[measured, metric], target)
            if censored and k < len(budgets):
                labels, censored = np.nan, False  # not reached yet, budgets missing
        out.append(
            dict(
                arm=arm, trial=trial, labels_to_target=labels, censored=censored,
                **{f"{metric}_at_50": float(g.loc[50, metric]) if 50 in g.index else np.nan},
            )
        )  # fmt: skip
    columns = ["arm", "trial", "labels_to_target", "censored", f"{metric}_at_50"]
    return pd.DataFrame(out, columns=columns)


def final_report(
    path=None,
    reference="today",
    budgets=(20, 50, 100, 200, 300),
    target=0.9,
    *,
    rows=None,
    arms=FINAL,
    family=FAMILY,
    title=None,
    metric="accuracy",
    class_names=None,
):
    """Markdown: per-budget accuracy, the primary endpoints, paired verdicts with Holm.

    ``path``: JSON-lines file(s), comma-separated; or ``rows`` (dicts with ``arm``,
    ``budget``, ``trial``, ``accuracy``, ``fit_seconds``). ``arms`` orders the table;
    each arm of ``family`` is compared with ``reference`` on both endpoints, Holm over
    ``2 * len(family)`` comparisons. ``metric``: ``"accuracy"`` or ``"macro_f1"`` (the
    per-budget table and both endpoints). ``class_names``: a header per class of the
    per-class recall table (rows with ``recall``), in label order.
    """
    import pandas as pd
    from scipy import stats

    from skcryoal.benchmark import holm_adjust, sign_flip_test

    if rows is None:
        paths = [Path(p) for p in str(path).split(",")]
        rows = [row for p in paths for row in _done(p)]
        title = title or ", ".join(p.name for p in paths)
    df = pd.DataFrame(rows)
    budgets = list(budgets)
    lines = [f"# Fewer labels: {title}", ""]
    name = "accuracy" if metric == "accuracy" else "macro-F1"
    lines += [f"## Test {name} by labels (mean [95% t interval], trials)", ""]
    arms = [a for a in arms if a in set(df["arm"])]
    lines.append("| arm | " + " | ".join(str(b) for b in budgets) + " |")
    lines.append("|---" * (len(budgets) + 1) + "|")
    for arm in arms:
        cells = []
        for b in budgets:
            acc = df[(df["arm"] == arm) & (df["budget"] == b)][metric].to_numpy()
            if len(acc) == 0:
                cells.append("")
            elif len(acc) == 1:
                cells.append(f"{acc[0]:.3f} (1)")
            else:
                half = stats.t.ppf(0.975, len(acc) - 1) * acc.std(ddof=1) / np.sqrt(len(acc))
                m = acc.mean()
                cells.append(f"{m:.3f} [{m - half:.3f}, {m + half:.3f}] ({len(acc)})")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    ep = endpoints(rows, budgets, target, metric)
    at_50 = f"{metric}_at_50"
    lines += ["", f"## Primary endpoints (labels to {target:.0%} {name}; {name} at 50 labels)", ""]
    lines.append(
        "| arm | trials (curves / at 50) | labels to 90%: mean | median | censored "
        f"| {name} at 50 |"
    )
    lines.append("|---|---|---|---|---|---|")
    for arm in arms:
        g = ep[ep["arm"] == arm]
        full = g.dropna(subset=["labels_to_target"])
        at50 = g[at_50].dropna()
        if len(g) == 0:
            continue
        lines.append(
            f"| {arm} | {len(full)} / {len(at50)} | {full['labels_to_target'].mean():.0f} | "
            f"{full['labels_to_target'].median():.0f} | {int(full['censored'].sum())} | "
            f"{at50.mean():.3f} |"
        )
    # paired comparisons against the reference, Holm over the declared family
    comparisons = []
    ref = ep[ep["arm"] == reference].set_index("trial")
    for arm in arms:
        if arm not in family:
            continue
        g = ep[ep["arm"] == arm].set_index("trial")
        for endpoint, sign in (("labels_to_target", -1), (at_50, 1)):
            both = g[endpoint].dropna().index.intersection(ref[endpoint].dropna().index)
            trials = sorted(both)
            if len(trials) < 2:
                continue
            d = (g.loc[trials, endpoint] - ref.loc[trials, endpoint]).to_numpy(dtype=float)
            mean, sd = d.mean(), d.std(ddof=1)
            half = stats.t.ppf(0.975, len(d) - 1) * sd / np.sqrt(len(d))
            p_t = float(stats.ttest_1samp(d, 0.0).pvalue) if sd > 0 else 0.0
            flip = sign_flip_test(d)
            comparisons.append(
                dict(arm=arm, endpoint=endpoint, n=len(d), mean=mean, low=mean - half,
                     high=mean + half, p_t=p_t, p_flip=flip.p_value, better=sign * mean > 0,
                     flip_floor=min(1.0, flip.min_p_value * 2 * len(family)))
            )  # fmt: skip
    if comparisons:
        table = pd.DataFrame(comparisons)
        # Holm over the declared family: comparisons not made yet count with p = 1
        n_family = 2 * len(family)
        pad = np.ones(max(0, n_family - len(table)))
        table["p_holm"] = holm_adjust(np.r_[table["p_t"].to_numpy(), pad])[: len(table)]
        table["p_flip_holm"] = holm_adjust(np.r_[table["p_flip"].to_numpy(), pad])[: len(table)]
        lines += ["", f"## Each arm against {reference!r} (paired by trial; Holm over the "
                  f"declared family of {n_family}, {len(table)} made)", ""]  # fmt: skip
        lines.append(
            "| arm | endpoint | trials | difference [95% t] | p (t) | p Holm | p sign-flip "
            "| sign-flip Holm | verdict |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for r in table.itertuples():
            unit = "labels" if r.endpoint == "labels_to_target" else metric
            fmt = ".0f" if unit == "labels" else "+.3f"
            direction = "better" if r.better else "worse"
            if r.p_holm < 0.05 and r.p_flip_holm < 0.05:
                verdict = f"{direction}: established (t and sign-flip)"
            elif r.p_holm < 0.05:
                verdict = f"{direction}: established (t only; sign-flip floor {r.flip_floor:.2g})"
            elif r.p_t < 0.05:
                verdict = f"{direction}: suggestive"
            else:
                verdict = "not established"
            lines.append(
                f"| {r.arm} | {r.endpoint} | {r.n} | {r.mean:{fmt}} [{r.low:{fmt}}, "
                f"{r.high:{fmt}}] | {r.p_t:.2g} | {r.p_holm:.2g} | {r.p_flip:.2g} | "
                f"{r.p_flip_holm:.2g} | {verdict} |"
            )
    lines += _recall_lines(df, arms, budgets, class_names)
    seconds = df.groupby("arm")["fit_seconds"].mean()
    lines += ["", "## CPU cost: mean fit seconds per arm (one thread, shared machine)", ""]
    lines += [f"- {arm}: {seconds[arm]:.0f} s" for arm in arms if arm in seconds]
    if "query_seconds" in df:
        query = df[df["query_seconds"] > 0].groupby("arm")["query_seconds"].mean()
        lines += [f"- {arm}: {query[arm]:.1f} s per query" for arm in arms if arm in query]
    pre = df[df["pretrain_seconds"].notna()]["pretrain_seconds"] if "pretrain_seconds" in df else []
    if len(pre):
        lines.append(f"- pretraining (once per SNR, shared): {float(np.max(pre)) / 60:.1f} min")
    return "\n".join(lines) + "\n"


def _recall_lines(df, arms, budgets, class_names=None):
    """Markdown: each class's mean test recall per arm at 50 labels and the last budget."""
    if "recall" not in df or df["recall"].isna().all():
        return []
    have = df.dropna(subset=["recall"])
    n_classes = len(have["recall"].iloc[0])
    names = list(class_names) if class_names is not None else [str(k) for k in range(n_classes)]
    shown = [b for b in dict.fromkeys([50, budgets[-1]]) if b in set(have["budget"])]
    lines = ["", "## Per-class test recall (secondary; mean over trials)", ""]
    lines.append("| arm | labels | " + " | ".join(names) + " |")
    lines.append("|---" * (n_classes + 2) + "|")
    for arm in arms:
        for budget in shown:
            g = have[(have["arm"] == arm) & (have["budget"] == budget)]
            if len(g):
                mean = np.mean(np.stack(g["recall"].to_list()), axis=0)
                cells = " | ".join(f"{m:.3f}" for m in mean)
                lines.append(f"| {arm} | {budget} ({len(g)}) | {cells} |")
    return lines


def class_names(data):
    """Short names of the classes of ``--data`` (real structures, junk), or None."""
    if data not in REAL_PRESETS:
        return None
    from skcryoal.benchmark import get_preset
    from skcryoal.datasets import describe_classes

    params = get_preset(REAL_PRESETS[data]).data_params
    names = describe_classes(templates=params["templates"], junk=params.get("junk", 0.0))
    return [n.split(":")[0] if ":" in n else n.split(" (")[0] for n in names]


#: the strategy comparison on the best recipe (DECLARATION.md, addendum 1)
STRATEGIES = ("random", "badge", "typiclust", "probcover", "ema", "ema-0.999")


def strategy_rows(folders):
    """Rows of ``skcryoal benchmark`` output folders for :func:`final_report`.

    Trials of folders run with different ``--seed`` are independent; each is named
    ``<seed>-<trial>``. Every strategy of a trial starts from the same initial set.
    """
    import pandas as pd

    rows = []
    for folder in str(folders).split(","):
        folder = Path(folder)
        seed = json.loads((folder / "config.json").read_text())["seed"]
        table = pd.read_csv(folder / "results.csv", keep_default_na=False)
        for r in table.itertuples():
            rows.append(
                dict(
                    arm=r.strategy, budget=int(r.n_labeled), trial=f"{seed}-{r.trial}",
                    accuracy=float(r.accuracy), macro_f1=float(r.macro_f1),
                    fit_seconds=float(r.train_seconds), query_seconds=float(r.query_seconds),
                )
            )  # fmt: skip
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--snr", type=float, default=0.1)
    parser.add_argument(
        "--data",
        choices=("balanced", "imbalanced", *REAL_PRESETS),
        default="balanced",
        help="balanced: 10 classes, pool 2000, test 1000; imbalanced: fig1-imbalanced-cpu's "
        "pool of 1512 (306..112 per class) with a test set of 2001; real-structures, "
        "candidate-cleaning: the data of the benchmark presets real-structures-cpu (7 real "
        "complexes, pool 2002, test 1001) and candidate-cleaning-cpu (4 complexes and 60%% "
        "junk, pool 2000, test 1000), at their SNR 0.1",
    )
    parser.add_argument("--arms", default="today")
    parser.add_argument("--budgets", default="20,50,100,200,300")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--first-trial", type=int, default=0)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    parser.add_argument(
        "--metric",
        choices=("accuracy", "macro_f1"),
        default="accuracy",
        help="the metric of the reports' endpoints (macro_f1 for the imbalanced set)",
    )
    parser.add_argument(
        "--family",
        help="the declared family of a --final-report, comma-separated arms compared with "
        "today (default: the first declaration's five arms)",
    )
    parser.add_argument(
        "--reference", default="today", help="the arm the family is compared with (default: today)"
    )
    parser.add_argument("--report")
    parser.add_argument(
        "--final-report",
        help="JSON-lines file(s) to summarize as markdown (comma-separated: parts run in "
        "parallel processes)",
    )
    parser.add_argument(
        "--strategy-report",
        metavar="FOLDERS",
        help="skcryoal benchmark output folders (comma-separated) to summarize as the "
        "strategy comparison on the best recipe: each strategy against random",
    )
    args = parser.parse_args(argv)
    if args.strategy_report:
        text = final_report(
            rows=strategy_rows(args.strategy_report),
            reference="random",
            budgets=[int(b) for b in args.budgets.split(",")],
            arms=STRATEGIES,
            family=STRATEGIES[1:],
            title="strategies on the pretrained recipe, " + args.strategy_report,
        )
        print(text)
        if args.out:
            Path(args.out).write_text(text)
        return 0
    if args.report:
        report(args.report)
        return 0
    if args.final_report:
        family = FAMILY if args.family is None else tuple(args.family.split(","))
        text = final_report(
            args.final_report,
            reference=args.reference,
            metric=args.metric,
            class_names=class_names(args.data),
            family=family,
        )
        print(text)
        if args.out:
            Path(args.out).write_text(text)
        return 0
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _repair(out)
    done = {(r["arm"], r["budget"], r["trial"]) for r in _done(out)}
    data = _load(args.snr) if args.data == "balanced" else _load(args.snr, args.data)
    prefix = "encoders-" if args.data == "balanced" else f"encoders-{args.data}-"
    encoders = out.parent / f"{prefix}snr{args.snr:g}"
    arms = args.arms.split(",")
    budgets = [int(b) for b in args.budgets.split(",")]
    for trial in range(args.first_trial, args.first_trial + args.trials):
        for budget in budgets:
            for arm in arms:
                if (arm, budget, trial) in done:
                    continue
                row = run_one(
                    arm, ARMS[arm], budget, trial, data, args.width, encoders, snr=args.snr
                )
                row.update(snr=args.snr, width=args.width, threads=args.threads, data=args.data)
                with out.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                print(
                    f"{arm} budget {budget} trial {trial}: acc {row['accuracy']:.3f} "
                    f"({row['fit_seconds']:.0f} s, {row['epochs']} epochs)",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
