"""Named benchmark configurations: the README's quick run and the paper's experiments.

Every paper experiment exists at the paper's size (for a GPU) and as a
``-cpu`` variant sized for a 2-core machine: 10 (or 50) classes, a pool of
3000 volumes, ResNet3D width 16, 20 epochs of AdamW with cosine decay, and
no VAAL (its VAE training at query time costs minutes per query on a CPU).
Two more, CPU-sized, simulate the bundled real structures: as classes
(``real-structures-cpu``), and among junk boxes (``candidate-cleaning-cpu``).
"""

from dataclasses import dataclass, field, replace

#: training throughput (volumes/s, 32^3, 2 CPU cores) measured per ResNet3D width
#: (width 16: 150-400/s depending on the load; the middle is used)
CPU_THROUGHPUT = {16: 250.0, 32: 45.0, 64: 12.0}
_GPU_NOTE = (
    "GPU run; the authors report 1.2-16 h per strategy for the whole 3-trial run on one "
    "RTX 2080Ti (EMA 1.6 h, VAAL 16 h); far too slow for a CPU (use the -cpu variant)"
)


@dataclass(frozen=True)
class BenchmarkPreset:
    """A complete benchmark configuration.

    Parameters
    ----------
    name : str
    description : str
    dataset : str
        A simulator preset of :func:`skcryoal.datasets.fetch_simulated`.
    data_params : dict
        Overrides of the simulator preset (``n_classes``, ``snr``...).
    strategies : tuple of str
        Strategy specs (see :func:`parse_strategy_spec`).
    initial, step, final : float or int
        Budget schedule (fractions of the pool or counts).
    n_trials : int
    classifier : dict
        Parameters of :class:`ClassifierFactory`.
    ceiling : bool
        Train on the full pool too.
    semi_supervised : bool
    gpu : bool
        Meant for a GPU.
    primary_endpoint : {"auc_after_first", "auc"}, default="auc_after_first"
        The primary endpoint, declared before the run (``skcryoal benchmark``
        records it in ``config.json``): by default the normalized
        learning-curve area over the budgets after the shared first one. Its
        family is each strategy against random (every pair without random),
        with Holm's correction; the per-budget cells are secondary. See
        :func:`declare_primary_endpoint`.
    primary_metric : {"accuracy", "macro_f1"}, default="accuracy"
        The metric of the primary endpoint.
    pretrain : dict or None, default=None
        Self-supervised pretraining on the pool before the first cycle:
        parameters of :class:`~skcryoal.pretraining.SubtomogramEmbedder`
        (``method``, ``max_epochs``...; its width is the classifier's), or
        None for none (see :func:`run_campaign`'s ``pretrain``).
    """

    name: str
    description: str
    dataset: str
    data_params: dict = field(default_factory=dict)
    strategies: tuple = ("ema", "entropy", "random")
    initial: float = 0.10
    step: float = 0.05
    final: float = 0.40
    n_trials: int = 3
    classifier: dict = field(default_factory=dict)
    ceiling: bool = False
    semi_supervised: bool = False
    gpu: bool = False
    primary_endpoint: str = "auc_after_first"
    primary_metric: str = "accuracy"
    pretrain: dict = None


# wedge-preserving augmentation: +18 points of test accuracy at 300 labels, SNR 0.1
# (benchmarks/results/stability); the paper presets train without, as the authors did
_CPU_CLASSIFIER = dict(
    width=16, max_epochs=20, batch_size=16, recipe="adamw-cosine", device="auto", augment=True
)
# the paper's EMA coefficient, exactly (the CPU presets use the default "auto" horizon)
_PAPER_CLASSIFIER = dict(
    width=64, max_epochs=100, batch_size=128, recipe="sgd-paper", device="auto", ema_decay=0.999
)
_SUB = ":subsample=12000"
_PAPER_STRATEGIES = (
    "ema" + _SUB,
    "ema-authors=ema:clf.ema_mode=authors:clf.ema_decay=0.999" + _SUB,
    "mc_dropout" + _SUB,
    "coreset" + _SUB,
    "vaal" + _SUB,
    "ll4al" + _SUB,
    "random",
)

#: the measured recipe of learning from the unlabeled pool (docs/benchmarks.md, "Fewer
#: labels"): SimCLR on the pool, then fits of at least 400 steps fine-tuning it gently
PRETRAIN_RECIPE = dict(method="simclr", max_epochs=30)
_PRETRAINED_CLASSIFIER = dict(_CPU_CLASSIFIER, min_steps=400)

_BASE = {
    "quick": BenchmarkPreset(
        name="quick",
        description=(
            "README's first run, the recommended recipe: an encoder pretrained without labels "
            "on 1000 simulated volumes (10 classes, 32^3, SNR 0.1; SimCLR, 30 epochs), then "
            "active learning from 20 random labels to 80 by 30, EMA vs TypiClust vs random, "
            "fits of at least 400 steps (width 16), 1 trial, with the full-pool ceiling "
            "(--pretrain none: from scratch; the paper's recipe is quick-paper)"
        ),
        dataset="quick",
        data_params=dict(n_train_per_class=100, n_test_per_class=40, snr=0.1),
        strategies=("ema", "typiclust", "random"),
        initial=20,
        step=30,
        final=80,
        n_trials=1,
        classifier=_PRETRAINED_CLASSIFIER,
        ceiling=True,
        pretrain=PRETRAIN_RECIPE,
    ),
    "quick-paper": BenchmarkPreset(
        name="quick-paper",
        description=(
            "The paper's recipe, from scratch (the README's first run before pretraining "
            "became the default): EMA vs entropy vs random on 1000 simulated volumes (10 "
            "classes, 32^3, SNR 0.5), 100 -> 300 labels by 50, 1 trial, width 16, 15 epochs, "
            "with the full-pool ceiling; 60000 volume-epochs of training, 4-7 minutes on 2 idle "
            "CPU cores (150-400 volumes/s)"
        ),
        dataset="quick",
        data_params=dict(n_train_per_class=100, n_test_per_class=40, snr=0.5),
        strategies=("ema", "entropy", "random"),
        initial=100,
        step=50,
        final=300,
        n_trials=1,
        classifier=dict(_CPU_CLASSIFIER, max_epochs=15),
        ceiling=True,
    ),
    "medium": BenchmarkPreset(
        name="medium",
        description=(
            "The CPU comparison: EMA, entropy, core-set and random on 3000 simulated volumes "
            "(10 classes, 32^3, SNR 0.5), 5% -> 25% of the pool by 5%, 3 trials, width 16, "
            "20 epochs, with the full-pool ceiling; about an hour on 2 CPU cores"
        ),
        dataset="quick",
        data_params=dict(n_train_per_class=300, n_test_per_class=60, snr=0.5),
        strategies=("ema", "entropy", "coreset", "random"),
        initial=0.05,
        step=0.05,
        final=0.25,
        n_trials=3,
        classifier=_CPU_CLASSIFIER,
        ceiling=True,
    ),
}


# The bundled real complexes (skcryoal.datasets.list_structures), 88 kDa to 2.1 MDa. At
# 12 A a 32^3 box is 384 A across: the largest (3JB9, 162 A from its centre) stays inside
# even when shifted by max_shift (2 voxels), with no more voxels to train on than at 10 A,
# where 3JB9 needs 33 voxels and the 70S ribosome would be cut by its shifts.
_REAL_VOXEL_SIZE = 12.0
_REAL_STRUCTURES = ("3KPR", "6MSM", "4V1W", "4V5D-30S", "3JB9", "4V5D-50S", "4V5D")
# What template matching for large complexes picks up: the 70S ribosome, its free 50S
# subunit, the spliceosome and apoferritin (the small 3KPR and 6MSM are rarely matched).
_CLEANING_STRUCTURES = ("4V5D", "4V5D-50S", "3JB9", "4V1W")

_REAL = {
    "real-structures-cpu": BenchmarkPreset(
        name="real-structures-cpu",
        description=(
            "The seven bundled real complexes as classes (3KPR, 6MSM, 4V1W, 4V5D-30S, 3JB9, "
            "4V5D-50S, 4V5D: 88 kDa to the 2.1 MDa 70S ribosome; list_structures()), 286 "
            "train + 143 test each (pool 2002, test 1001), 32^3 at 12 A (the spliceosome "
            "and the shifted ribosome fit), SNR 0.1; EMA vs entropy vs random from 100 "
            "random labels to 500 by 100, 3 trials, width 16, 20 epochs AdamW, with the "
            "full-pool ceiling, from scratch"
        ),
        dataset="quick",
        data_params=dict(
            templates=list(_REAL_STRUCTURES),
            n_train_per_class=286,
            n_test_per_class=143,
            voxel_size=_REAL_VOXEL_SIZE,
            snr=0.1,
        ),
        strategies=("ema", "entropy", "random"),
        initial=100,
        step=100,
        final=500,
        n_trials=3,
        classifier=_CPU_CLASSIFIER,
        ceiling=True,
    ),
    "candidate-cleaning-cpu": BenchmarkPreset(
        name="candidate-cleaning-cpu",
        description=(
            "Cleaning template-matching candidates: four real complexes (70S ribosome 4V5D, "
            "its 50S subunit, spliceosome 3JB9, apoferritin 4V1W; 200 train + 100 test each) "
            "and 60% junk labelled 'not a particle' (gold, membrane, ice, empty, carbon "
            "edge, off-centre and edge-cut boxes: pool 2000, test 1000), 32^3 at 12 A, SNR "
            "0.1; EMA vs entropy vs random from 100 random labels to 500 by 100, 3 trials, "
            "width 16, 20 epochs AdamW, with the full-pool ceiling, from scratch; primary "
            "metric macro-F1 (accuracy rewards calling everything junk)"
        ),
        dataset="quick",
        data_params=dict(
            templates=list(_CLEANING_STRUCTURES),
            n_train_per_class=200,
            n_test_per_class=100,
            voxel_size=_REAL_VOXEL_SIZE,
            snr=0.1,
            junk=0.6,
        ),
        strategies=("ema", "entropy", "random"),
        initial=100,
        step=100,
        final=500,
        n_trials=3,
        classifier=_CPU_CLASSIFIER,
        ceiling=True,
        primary_metric="macro_f1",
    ),
}


def _paper(name, description, dataset, strategies=_PAPER_STRATEGIES, **kwargs):
    return BenchmarkPreset(
        name=name,
        description=description,
        dataset=dataset,
        strategies=strategies,
        classifier=_PAPER_CLASSIFIER,
        gpu=True,
        **kwargs,
    )


_PAPER_PRESETS = [
    _paper(
        "paper",
        "The authors' settings (REFERENCE.md section 2): 50 classes, pool 24000, SNR 0.05, "
        "10% -> 40% by 5%, ResNet-18 (width 64), 100 epochs SGD lr 0.1 momentum 0.9 wd 5e-4, "
        "lr x0.1 at epoch 80, batch 128, 12000 scored per query, 3 trials, all strategies",
        "paper-snr005",
    ),
    _paper("fig1-snrinf", "Fig. 1: strategy comparison, 50 classes, SNR inf", "paper-snrinf"),
    _paper("fig1-snr005", "Fig. 1: strategy comparison, 50 classes, SNR 0.05", "paper-snr005"),
    _paper("fig1-snr003", "Fig. 1: strategy comparison, 50 classes, SNR 0.03", "paper-snr003"),
    _paper(
        "fig1-imbalanced",
        "Fig. 1 (real-data stand-in): 10 classes imbalanced like the real set (320..876 per "
        "class), SNR 0.05, budgets 10% -> 30%",
        "imbalanced10-snr005",
        final=0.30,
    ),
    _paper(
        "fig2-distance",
        "Fig. 2 left: KL vs MSE selection distance, 50 classes, SNR 0.03",
        "paper-snr003",
        strategies=("ema" + _SUB, "ema-mse=ema:distance=mse" + _SUB),
    ),
    _paper(
        "fig2-lambda",
        "Fig. 2 right: regularizer weight lambda in {0 (noema), 0.01, 0.03, 0.1, 0.3}, "
        "50 classes, SNR 0.05",
        "paper-snr005",
        strategies=tuple(
            f"{label}=ema:clf.reg_lambda={lam}{_SUB}"
            for label, lam in (
                ("noema", 0),
                ("lambda0.01", 0.01),
                ("lambda0.03", 0.03),
                ("lambda0.1", 0.1),
                ("lambda0.3", 0.3),
            )
        ),
    ),
    _paper(
        "fig3-semi",
        "Fig. 3 left: supervised vs semi-supervised (unlabeled pool in the regularizer), "
        "50 classes, SNR 0.03",
        "paper-snr003",
        strategies=("ema" + _SUB, "ema-semi=ema:semi=true" + _SUB),
    ),
    _paper(
        "fig3-lowest",
        "Fig. 3 right: highest vs lowest deviation selection, 50 classes, SNR 0.05",
        "paper-snr005",
        strategies=("ema" + _SUB, "ema-lowest=ema:order=lowest" + _SUB),
    ),
    _paper(
        "fig4-10classes-snr005",
        "Fig. 4 bottom: the Fig. 1 comparison on 10 classes, SNR 0.05 (50 classes: fig1-snr005)",
        "paper10-snr005",
    ),
    _paper(
        "fig4-10classes-snr003",
        "Fig. 4 top: the Fig. 1 comparison on 10 classes, SNR 0.03 (50 classes: fig1-snr003)",
        "paper10-snr003",
    ),
    _paper(
        "timing",
        "Appendix table: training and query time per strategy, 50 classes, SNR 0.05, 1 trial "
        "(see train_seconds and query_seconds in summary.md)",
        "paper-snr005",
        n_trials=1,
    ),
]


def _cpu_variant(preset):
    n_classes = 50 if preset.dataset.startswith("paper-") else 10
    imbalanced = preset.dataset.startswith("imbalanced")
    if imbalanced:
        # the real set's imbalance, scaled to a pool of about 1500
        data = dict(
            n_train_per_class=[306, 189, 158, 140, 133, 126, 119, 116, 113, 112],
            n_test_per_class=[55, 34, 28, 25, 24, 23, 21, 21, 20, 20],
        )
    else:
        data = dict(
            n_classes=n_classes,
            n_train_per_class=3000 // n_classes,
            n_test_per_class=10 if n_classes == 50 else 50,
        )
    # no VAAL (minutes per query on a CPU) and no authors' mean model (a 1000-step
    # horizon is longer than a CPU-sized fit: it reproduces nothing there)
    strategies = tuple(
        s.replace(_SUB, "")
        for s in preset.strategies
        if not s.split(":")[0].endswith("vaal") and not s.startswith("ema-authors")
    )
    return replace(
        preset,
        name=preset.name + "-cpu",
        description=preset.description.split(" (REFERENCE")[0]
        + f" -- CPU-sized: pool {sum(data['n_train_per_class']) if imbalanced else 3000}"
        + (" (imbalanced)" if imbalanced else f" ({n_classes} classes)")
        + ", width 16, 20 epochs AdamW, no VAAL",
        data_params=data,
        strategies=strategies,
        classifier=_CPU_CLASSIFIER,
        gpu=False,
    )


PRESETS = dict(_BASE)
for _p in _PAPER_PRESETS:
    PRESETS[_p.name] = _p
    PRESETS[_p.name + "-cpu"] = _cpu_variant(_p)
PRESETS.update(_REAL)


def get_preset(name):
    """Return a benchmark preset by name.

    Parameters
    ----------
    name : str
        See :func:`list_benchmark_presets`.

    Returns
    -------
    preset : BenchmarkPreset

    Examples
    --------
    >>> from skcryoal.benchmark import get_preset
    >>> get_preset("quick").strategies
    ('ema', 'typiclust', 'random')
    >>> get_preset("quick-paper").pretrain is None
    True
    """
    import difflib

    if name not in PRESETS:
        close = difflib.get_close_matches(str(name), sorted(PRESETS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        raise ValueError(
            f"unknown benchmark preset {name!r}{hint} Valid presets: {', '.join(PRESETS)}."
        )
    return PRESETS[name]


def list_benchmark_presets():
    """Return the benchmark presets with a one-line description each.

    Returns
    -------
    presets : dict of str to str

    Examples
    --------
    >>> from skcryoal.benchmark import list_benchmark_presets
    >>> "quick" in list_benchmark_presets()
    True
    """
    return {name: p.description for name, p in PRESETS.items()}


def estimate_training_seconds(
    n_pool,
    schedule,
    n_strategies,
    n_trials,
    epochs,
    width,
    size=32,
    ceiling=False,
    *,
    min_steps=None,
    batch_size=16,
    pretrain_epochs=0,
):
    """Estimate the CPU training time of a campaign (2 cores), queries not included.

    From measured training throughputs (``CPU_THROUGHPUT``, 32^3 volumes,
    the nearest measured width), scaled with the number of voxels; a rough
    guide (the measured rate of width 16 varies 150-400 volumes/s with load).

    Parameters
    ----------
    n_pool : int
    schedule : list of int
        Labeled volumes per cycle (:func:`budget_schedule`).
    n_strategies, n_trials, epochs, width, size : int
    ceiling : bool, default=False
    min_steps : int or None, default=None
        The classifier's ``min_steps``: a cycle trains at least this many
        batches of ``batch_size``.
    batch_size : int, default=16
    pretrain_epochs : int, default=0
        Epochs of self-supervised pretraining on the pool (two views of each
        volume per epoch).

    Returns
    -------
    seconds : float

    Examples
    --------
    >>> from skcryoal.benchmark import estimate_training_seconds
    >>> round(estimate_training_seconds(1000, [100, 200], 1, 1, 10, width=16))
    12
    """
    widths = sorted(CPU_THROUGHPUT)
    nearest = min(widths, key=lambda w: abs(w - width))
    rate = CPU_THROUGHPUT[nearest] * (32 / size) ** 3
    least = 0 if min_steps is None else min_steps * batch_size
    volumes = n_strategies * n_trials * sum(max(n * epochs, least) for n in schedule)
    if ceiling:
        volumes += n_trials * max(n_pool * epochs, least)
    volumes += 2 * n_pool * pretrain_epochs
    return volumes / rate
