"""``skcryoal benchmark``: learning curves of active-learning strategies (the paper's Fig. 1-4)."""

import argparse
import json
import math
from pathlib import Path

import numpy as np

from ..utils._atomic import atomic_write_text
from . import _pools
from ._common import CLIError, positive_float, positive_int, snr_value

NAME = "benchmark"
HELP = (
    "Compare active-learning strategies: run the paper's protocol (cold re-training each "
    "cycle unless --warm-start, evaluation on a held-out test set, several trials) on "
    "simulated data, your own "
    "labeled subtomograms, a labeled particle set or a copick project, and write "
    "results.csv, learning_curve.png, auc.png, win_tie_loss.png and summary.md (paired "
    "comparisons with 95-percent intervals over trials; the primary endpoint, declared in "
    "config.json before the run, with nominal and Holm-adjusted verdicts). An interrupted run "
    "resumes when the same command is run again."
)

_EPILOG = """\
strategy specs (comma-separated in --strategies):
  [label=]name[:key=value[:key=value...]]
    name         one of: {names}
    key=value    a strategy parameter, e.g. ema:distance=mse, ema:order=lowest:subsample=500
    clf.key=...  a classifier parameter for this strategy, e.g. noema=ema:clf.reg_lambda=0
    semi=true    train with the unlabeled pool (semi-supervised variant)
    label=       the curve's name (default: the spec)

budgets (--initial, --step, --final): an integer is a count of volumes, a number with a
decimal point or a percent sign a fraction of the pool (0.1 or 10%).

your data: --table is a table of labeled subtomogram files (rlnImageName), or a particle
set (RELION 5/4/3, Warp/M, pytom coordinates; always so with --tomograms, --tomogram-dir
or --tomogram) whose labeled particles are cut once, at --size voxels, into
OUT/extracted/ (MRC files + particles.star, reused when the run resumes; --test-table
likewise into OUT/extracted-test/). Labels: skcryoalLabelText or skcryoalLabel, or the
column named by --label-column; particles without one are left out. --copick CONFIG
reads a copick project instead: the truth picks (--truth-user/--truth-session) are the
pool and test set, their object names the labels.

examples:
  skcryoal benchmark --preset quick --out bench-quick
  skcryoal benchmark --preset fig2-lambda-cpu --trials 1 --out bench-lambda
  skcryoal benchmark --preset candidate-cleaning-cpu --size 16 --voxel-size 24 --out bench-clean
  skcryoal benchmark --table particles.star --test-fraction 0.2 \\
      --strategies ema,entropy,random --initial 10% --step 5% --final 30% --out bench-mine
  skcryoal benchmark --table particles.star --tomograms tomograms.star --size 32 \\
      --voxel-size 10 --strategies ema,random --out bench-relion5
  skcryoal benchmark --copick copick.json --truth-user curation --size 32 \\
      --objects ribosome,apoferritin --out bench-copick
  skcryoal benchmark --list-presets
"""


def budget_value(text):
    """Argparse type: an int count, or a fraction (``0.1``) or percentage (``10%``)."""
    raw = text.strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100.0
        elif any(c in raw for c in ".eE"):
            value = float(raw)
        else:
            count = int(raw)
            if count < 1:
                raise ValueError
            return count
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a count (e.g. 100), a fraction (0.1) or a percentage (10%), got {text!r}"
        ) from None
    if not math.isfinite(value) or not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"a fraction must lie in (0, 1], got {text!r}")
    return value


def _fraction(text):
    value = budget_value(text)
    if isinstance(value, int):
        raise argparse.ArgumentTypeError(f"expected a fraction such as 0.2 or 20%, got {text!r}")
    if value >= 1.0:
        raise argparse.ArgumentTypeError(f"the test fraction must be below 1, got {text!r}")
    return value


def add_arguments(parser):
    """Add the options of ``skcryoal benchmark`` to ``parser``."""
    from ..query import available_strategies

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG.format(names=", ".join(available_strategies()))
    add = parser.add_argument
    add("--preset", default="quick", help="benchmark preset (default: quick); see --list-presets")
    add("--list-presets", action="store_true", help="list the presets with their cost and exit")
    add(
        "--out",
        metavar="DIR",
        help="output folder (default: benchmark-<preset>); the labelling campaign of each "
        "strategy and trial (queries, labels, each cycle's model record, the final model) is "
        "kept in DIR/campaigns/, to open with skcryoal.campaign.Campaign.open(folder, "
        "pool=X_pool)",
    )
    add("--dry-run", action="store_true", help="print the configuration and cost estimate only")
    add("--no-progress", action="store_true", help="no progress bars")

    data = parser.add_argument_group("data (default: the preset's simulated set)")
    data.add_argument("--dataset", help="simulator preset of skcryoal.datasets.fetch_simulated")
    data.add_argument("--n-classes", type=positive_int, help="simulated classes")
    data.add_argument("--train-per-class", type=positive_int, metavar="N", help="pool per class")
    data.add_argument("--test-per-class", type=positive_int, metavar="N", help="test per class")
    data.add_argument(
        "--size",
        type=positive_int,
        help="box edge in voxels: of simulated volumes, or of the subtomograms cut from a "
        f"particle set or copick project (default there: {_pools.DEFAULT_SIZE})",
    )
    data.add_argument("--snr", type=snr_value, help="simulated signal-to-noise ratio (inf: none)")
    data.add_argument("--data-home", metavar="DIR", help="cache of simulated sets")
    data.add_argument(
        "--table",
        metavar="FILE",
        help="your particles (STAR/CSV): labeled subtomogram files, or a labeled particle set "
        "cut into OUT/extracted (see 'your data' below)",
    )
    data.add_argument(
        "--test-table", metavar="FILE", help="a separate test table, of the same kind"
    )
    data.add_argument(
        "--test-fraction",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="stratified test split of --table without --test-table (default: 0.2)",
    )
    data.add_argument("--label-column", help="label column of the tables")
    _pools.add_arguments(parser, size=False, simulated=True)

    camp = parser.add_argument_group("campaign (default: the preset's)")
    camp.add_argument("--strategies", metavar="SPECS", help="comma-separated strategy specs")
    camp.add_argument("--initial", type=budget_value, metavar="B", help="initial labeled set")
    camp.add_argument("--step", type=budget_value, metavar="B", help="labels added per cycle")
    camp.add_argument("--final", type=budget_value, metavar="B", help="final budget")
    camp.add_argument("--trials", type=positive_int, metavar="N", help="trials")
    camp.add_argument("--seed", type=int, default=0, help="campaign seed (default: 0)")
    camp.add_argument(
        "--semi-supervised", action="store_true", help="train with the unlabeled pool too"
    )
    ceiling = camp.add_mutually_exclusive_group()
    ceiling.add_argument(
        "--ceiling",
        dest="ceiling",
        action="store_true",
        default=None,
        help="also train once on the whole pool (full supervision)",
    )
    ceiling.add_argument("--no-ceiling", dest="ceiling", action="store_false")
    camp.add_argument(
        "--warm-start",
        type=positive_int,
        metavar="EPOCHS",
        help="cheaper cycles: train cycle 0 from scratch, every later cycle from the previous "
        "cycle's model for EPOCHS epochs with a fresh learning-rate schedule (default: every "
        "cycle from scratch, the paper's protocol). Trials pair up with a cold run of the "
        "same --seed",
    )
    camp.add_argument(
        "--primary-endpoint",
        choices=("auc_after_first", "auc"),
        help="the primary endpoint, declared in config.json before the run (default: the "
        "preset's, auc_after_first: the normalized learning-curve area over the budgets after "
        "the shared first one; auc: over every budget). It is tested on each strategy against "
        "random with Holm's correction; the per-budget cells are secondary",
    )
    camp.add_argument(
        "--primary-metric",
        choices=("accuracy", "macro_f1"),
        help="the metric of the primary endpoint (default: the preset's, accuracy)",
    )
    camp.add_argument(
        "--subsample",
        type=positive_int,
        metavar="N",
        help="score a fresh random subset of N unlabeled volumes in each query, for every "
        "strategy (the authors scored 12000 of 24000; default: the whole unlabeled pool)",
    )

    pre = parser.add_argument_group("learning from the unlabeled pool (default: the preset's)")
    pre.add_argument(
        "--pretrain",
        choices=("simclr", "byol", "none"),
        help="pretrain an encoder on the whole pool without labels before the first cycle "
        "(SubtomogramEmbedder, checkpointed in the --out folder after every epoch); every "
        "cycle's classifier fine-tunes it gently (encoder lr 1e-4), and typiclust and "
        "probcover select on its embedding; seeded 0 whatever --seed, so that runs with "
        "other seeds (more trials) share the encoder. none: the paper's recipe, from scratch",
    )
    pre.add_argument(
        "--pretrain-epochs", type=positive_int, metavar="N", help="pretraining epochs (30)"
    )
    pre.add_argument(
        "--min-steps",
        type=positive_int,
        metavar="N",
        help="train each cycle for at least N optimizer steps (more epochs on small labeled "
        "sets); the measured fine-tuning of a pretrained encoder used 400",
    )

    clf = parser.add_argument_group("classifier (default: the preset's)")
    clf.add_argument("--epochs", type=positive_int, help="epochs per cycle")
    clf.add_argument("--width", type=positive_int, help="ResNet3D width (64: ResNet-18)")
    clf.add_argument("--batch-size", type=positive_int, help="training batch size")
    clf.add_argument("--recipe", choices=("adamw-cosine", "sgd-paper"), help="optimizer recipe")
    clf.add_argument("--lr", type=positive_float, help="learning rate (overrides the recipe's)")
    clf.add_argument("--device", help="auto (cuda if available), cpu, cuda, cuda:1...")
    clf.add_argument(
        "--regularize-baselines",
        action="store_true",
        default=None,
        help="train the baselines and the ceiling with the EMA regularizer too (default: plain "
        "cross-entropy, as in the paper), so that curves differ by the selection rule alone",
    )
    clf.add_argument(
        "--augment",
        action="store_true",
        default=None,
        help="train with wedge-preserving augmentation (180-degree turns about the axes, "
        "shifts of up to 2 voxels; CryoNetClassifier(augment=True))",
    )


_SIMULATOR_OPTIONS = ("dataset", "n_classes", "train_per_class", "test_per_class", "size", "snr")


def _pool_size(preset_name, overrides):
    from ..datasets._presets import _resolve, _sizes

    resolved = _resolve(preset_name, overrides)
    return _sizes(resolved)[0], resolved["size"]


def _estimate_line(preset):
    from ..benchmark import budget_schedule, estimate_training_seconds

    n_pool, size = _pool_size(preset.dataset, preset.data_params)
    schedule = budget_schedule(n_pool, preset.initial, preset.step, preset.final)
    seconds = estimate_training_seconds(
        n_pool,
        schedule,
        len(preset.strategies),
        preset.n_trials,
        preset.classifier["max_epochs"],
        preset.classifier["width"],
        size,
        ceiling=preset.ceiling,
        min_steps=preset.classifier.get("min_steps"),
        batch_size=preset.classifier.get("batch_size", 16),
        pretrain_epochs=(preset.pretrain or {}).get("max_epochs", 30) if preset.pretrain else 0,
    )
    where = "GPU preset; " if preset.gpu else ""
    if preset.pretrain:
        where += f"pretraining {preset.pretrain.get('max_epochs', 30)} epochs, then "
    return (
        f"{where}pool {n_pool}, labels {schedule[0]}..{schedule[-1]} in {len(schedule)} cycles, "
        f"{len(preset.strategies)} strategies x {preset.n_trials} trial(s); "
        f"CPU training estimate ~{seconds / 3600:.1f} h on 2 cores"
        if seconds > 5400
        else f"{where}pool {n_pool}, labels {schedule[0]}..{schedule[-1]} in {len(schedule)} "
        f"cycles, {len(preset.strategies)} strategies x {preset.n_trials} trial(s); CPU training "
        f"estimate ~{seconds / 60:.0f} min on 2 cores"
    )


def _list_presets():
    from ..benchmark._presets import PRESETS

    for name, preset in PRESETS.items():
        print(f"{name}\n    {preset.description}\n    {_estimate_line(preset)}")
    return 0


def _refuse_simulator_options(args, prog, why, options=_SIMULATOR_OPTIONS):
    given = [o for o in options if getattr(args, o) is not None]
    if given:
        raise CLIError(
            f"{prog}: error: {why}; the simulator options "
            f"{', '.join('--' + o.replace('_', '-') for o in given)} do not apply"
        )


def _particle_set_data(args, spec, prog):
    """The data section of the configuration for a particle set or a copick project."""
    without_size = tuple(o for o in _SIMULATOR_OPTIONS if o != "size")
    _refuse_simulator_options(args, prog, "a particle set gives your data", without_size)
    test_spec = None
    if args.test_table:
        if spec["kind"] == "copick":
            raise CLIError(
                f"{prog}: error: --test-table does not go with --copick; the test set is split "
                "off the truth picks (--test-fraction)"
            )
        # the same kind as --table: a particle set, with the same tomograms and options
        test_spec = _pools.spec_from_args(
            args, args.test_table, prog, what="--test-table", forced=True, size_is_ours=False
        )
    return dict(
        particle_set=spec,
        test_particle_set=test_spec,
        test_fraction=None if test_spec else args.test_fraction,
    )


def _config(args, prog):
    from ..benchmark import get_preset, parse_strategy_spec
    from ..benchmark._specs import split_strategy_list

    try:
        preset = get_preset(args.preset)
    except ValueError as exc:
        raise CLIError(f"{prog}: error: {exc}") from None
    strategies = (
        split_strategy_list(args.strategies) if args.strategies else list(preset.strategies)
    )
    if not strategies:
        raise CLIError(f"{prog}: error: --strategies lists no strategy")
    for spec in strategies:
        try:
            parse_strategy_spec(spec)
        except ValueError as exc:
            raise CLIError(f"{prog}: error: --strategies: {exc}") from None
    classifier = dict(preset.classifier)
    for option, key in (
        ("epochs", "max_epochs"),
        ("width", "width"),
        ("batch_size", "batch_size"),
        ("recipe", "recipe"),
        ("lr", "lr"),
        ("device", "device"),
        ("regularize_baselines", "regularize_baselines"),
        ("augment", "augment"),
        ("min_steps", "min_steps"),
    ):
        if getattr(args, option) is not None:
            classifier[key] = getattr(args, option)
    pretrain = None if preset.pretrain is None else dict(preset.pretrain)
    if args.pretrain == "none":
        pretrain = None
    elif args.pretrain is not None:
        pretrain = dict(pretrain or {}, method=args.pretrain)
    if args.pretrain_epochs is not None:
        if pretrain is None:
            raise CLIError(f"{prog}: error: --pretrain-epochs needs --pretrain (simclr or byol)")
        pretrain["max_epochs"] = args.pretrain_epochs
    if pretrain is not None:
        pretrain.setdefault("max_epochs", 30)
        # one encoder whatever --seed: runs of other seeds (more trials) share it
        pretrain.setdefault("random_state", 0)
    simulated_voxel_size = None
    if args.table is None and args.copick is None and args.voxel_size is not None:
        # no particle set: --voxel-size sizes the simulated volumes
        simulated_voxel_size = args.voxel_size
        args = argparse.Namespace(**dict(vars(args), voxel_size=None))
    particles = _pools.spec_from_args(args, args.table, prog, what="--table", size_is_ours=False)
    if particles is not None:
        data = _particle_set_data(args, particles, prog)
    elif args.table:
        data = dict(
            table=str(Path(args.table).resolve()),
            test_table=str(Path(args.test_table).resolve()) if args.test_table else None,
            test_fraction=None if args.test_table else args.test_fraction,
            label_column=args.label_column,
        )
        _refuse_simulator_options(args, prog, "--table reads your data")
    else:
        if args.test_table:
            raise CLIError(f"{prog}: error: --test-table needs --table")
        overrides = dict(preset.data_params)
        for option, key in (
            ("n_classes", "n_classes"),
            ("train_per_class", "n_train_per_class"),
            ("test_per_class", "n_test_per_class"),
            ("size", "size"),
            ("snr", "snr"),
        ):
            if getattr(args, option) is not None:
                overrides[key] = getattr(args, option)
        if simulated_voxel_size is not None:
            overrides["voxel_size"] = simulated_voxel_size
        if args.n_classes is not None and overrides.get("templates") is not None:
            raise CLIError(
                f"{prog}: error: --n-classes does not go with the preset {preset.name!r}, "
                f"whose classes are the bundled structures {', '.join(overrides['templates'])}; "
                "leave it out, or choose a preset of built-in classes (e.g. --preset quick)"
            )
        if args.n_classes is not None:
            # per-class lists of an imbalanced preset have the old number of classes
            for key in ("n_train_per_class", "n_test_per_class"):
                if (
                    isinstance(overrides.get(key), (list, tuple))
                    and getattr(args, key.replace("n_", "", 1)) is None
                ):
                    overrides[key] = int(np.mean(overrides[key]))
        data = dict(dataset=args.dataset or preset.dataset, overrides=overrides)
    from ..benchmark import declare_primary_endpoint

    labels = [parse_strategy_spec(spec).label for spec in strategies]
    primary = declare_primary_endpoint(
        labels,
        metric=args.primary_metric or preset.primary_metric,
        endpoint=args.primary_endpoint or preset.primary_endpoint,
    )
    return dict(
        preset=preset.name,
        data=data,
        strategies=strategies,
        initial=args.initial if args.initial is not None else preset.initial,
        step=args.step if args.step is not None else preset.step,
        final=args.final if args.final is not None else preset.final,
        trials=args.trials or preset.n_trials,
        seed=args.seed,
        semi_supervised=bool(args.semi_supervised or preset.semi_supervised),
        ceiling=preset.ceiling if args.ceiling is None else args.ceiling,
        classifier=classifier,
        warm_start_epochs=args.warm_start,
        subsample=args.subsample,
        pretrain=pretrain,
        primary_endpoint=primary,
    )


# what must not change when a run is resumed into the same folder
# (a folder written before warm_start_epochs and subsample existed has neither: None)
_RESUME_KEYS = (
    "data",
    "initial",
    "step",
    "final",
    "seed",
    "semi_supervised",
    "classifier",
    "warm_start_epochs",
    "subsample",
    "pretrain",
)


def _has_results(out):
    from ..benchmark import read_results

    try:
        return len(read_results(out / "results.csv")) > 0
    except FileNotFoundError:
        return False
    except ValueError:  # not a results file: run_campaign says so
        return True


def _check_resume(out, config, prog):
    """Refuse to resume a folder of another configuration; return its recorded one (or None)."""
    path = out / "config.json"
    if not path.exists():
        return None
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(old, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        if not _has_results(out):
            # cut short before any cycle finished (it used to be written in place):
            # there is nothing to check against, and it is written anew
            return None
        raise CLIError(
            f"{prog}: error: cannot read {str(path)!r} ({exc}), the configuration of the "
            f"finished cycles in {str(out / 'results.csv')!r}, so they cannot be resumed; "
            "choose another --out or delete the folder"
        ) from None
    changed = [k for k in _RESUME_KEYS if json.dumps(old.get(k)) != json.dumps(config[k])]
    if changed:
        raise CLIError(
            f"{prog}: error: {str(out)!r} holds results of a different configuration "
            f"({', '.join(changed)} changed: {json.dumps({k: old.get(k) for k in changed})}); "
            "choose another --out or delete the folder"
        )
    declared = old.get("primary_endpoint")
    if isinstance(declared, dict):
        keys = ("metric", "endpoint", "alpha")
        new = config["primary_endpoint"]
        if any(json.dumps(declared.get(k)) != json.dumps(new[k]) for k in keys):
            raise CLIError(
                f"{prog}: error: {str(out)!r} declared another primary endpoint before its run "
                f"({json.dumps({k: declared.get(k) for k in keys})}); a declaration cannot "
                "change once a run has started: resume with the declared one "
                "(--primary-endpoint, --primary-metric) or choose another --out"
            )
    return old


def _declaration_time(old, config, out):
    """When the primary endpoint and its family were declared (before the run, or later)."""
    from ..benchmark import read_results

    try:
        n_done = len(read_results(out / "results.csv"))
    except (FileNotFoundError, ValueError):
        n_done = 0
    declared = old.get("primary_endpoint") if old else None
    if not isinstance(declared, dict) or "declared" not in declared:
        if n_done:
            return f"on resuming, after {n_done} finished cycle(s): not before the run"
        return "before the first cycle"
    when = declared["declared"]
    if n_done and declared.get("comparisons") != config["primary_endpoint"]["comparisons"]:
        amended = f"family amended on resuming after {n_done} finished cycle(s)"
        if amended.split(" after")[0] not in when:
            when += f"; {amended}"
    return when


def _load_data(config, args, prog, progress, out):
    data = config["data"]
    if "particle_set" in data:
        return _load_particle_set(data, config["seed"], prog, out)
    if "table" in data:
        return _load_table(
            data["table"],
            data["test_table"],
            data["test_fraction"],
            data["label_column"],
            config["seed"],
            prog,
            Path(data["table"]).name,
        )
    from ..datasets import fetch_simulated

    if progress:
        print(f"Loading simulated data {data['dataset']!r} {data['overrides']} ...", flush=True)
    try:
        bunch = fetch_simulated(
            data["dataset"], data_home=args.data_home, verbose=progress, **data["overrides"]
        )
    except (TypeError, ValueError) as exc:
        raise CLIError(f"{prog}: error: {exc}") from None
    name = data["dataset"] + "".join(f" {k}={v}" for k, v in data["overrides"].items())
    return bunch.X_train, bunch.y_train, bunch.X_test, bunch.y_test, name


def _load_particle_set(data, seed, prog, out):
    """Cut the labeled particles once into ``out/extracted`` and read them from there."""
    spec, test_spec = data["particle_set"], data["test_particle_set"]
    table = _pools.cached_extraction(spec, out / _pools.CACHE_DIR, prog, labeled_only=True)
    test_table = None
    if test_spec is not None:
        test_table = _pools.cached_extraction(
            test_spec, out / f"{_pools.CACHE_DIR}-test", prog, labeled_only=True
        )
    return _load_table(
        str(table),
        None if test_table is None else str(test_table),
        data["test_fraction"],
        None,  # the labels of the cut subtomograms are in skcryoalLabel(Text)
        seed,
        prog,
        _pools.describe(spec),
    )


def _read_table(path, label_column, prog):
    from ..io import read_subtomograms

    X, y = read_subtomograms(path, mmap=True, label_column=label_column)
    if y is None:
        raise CLIError(
            f"{prog}: error: the table {path!r} has no label column; name it with "
            "--label-column (a benchmark needs the true labels to play the annotator)"
        )
    return X, np.asarray(y)


def _load_table(table, test_table, test_fraction, label_column, seed, prog, name):
    from sklearn.model_selection import train_test_split

    from ..utils._batches import RowSubset

    X, y = _read_table(table, label_column, prog)
    if test_table:
        X_test, y_test = _read_table(test_table, label_column, prog)
        return X, y, X_test, y_test, name
    idx = np.arange(len(y))
    try:
        pool, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
    except ValueError as exc:
        raise CLIError(
            f"{prog}: error: cannot split {str(table)!r} into pool and test with "
            f"--test-fraction {test_fraction} stratified by class ({exc}); give a "
            "--test-table or another fraction"
        ) from None
    pool, test = np.sort(pool), np.sort(test)
    name = f"{name} (test fraction {test_fraction})"
    return RowSubset(X, pool), y[pool], RowSubset(X, test), y[test], name


def _check_dry_run(config, args, prog, out):
    """Refuse in --dry-run what the real run refuses before its first cycle.

    Nothing is written and nothing is trained; simulated data are not
    generated (their size follows from the parameters) and a particle set is
    not cut (its size and classes are checked by the real run only).
    """
    from ..benchmark._campaign import check_campaign

    _check_resume(out, config, prog)
    data = config["data"]
    n_pool, classes = None, [0, 1]
    try:
        if "dataset" in data:
            from ..datasets._presets import _resolve, _sizes

            n_pool, n_labels = _sizes(_resolve(data["dataset"], data["overrides"]))
            classes = list(range(n_labels))
        elif "table" in data:
            _, y_pool, _, y_test, _ = _load_data(config, args, prog, False, out)
            n_pool, classes = len(y_pool), np.unique(np.concatenate([y_pool, y_test]))
        check_campaign(n_pool, classes, config["strategies"], **_campaign_options(config))
    except (ValueError, TypeError) as exc:
        raise CLIError(f"{prog}: error: {exc}") from None


def _campaign_options(config):
    """The options that check_campaign and run_campaign take alike, from a config."""
    from ..benchmark import ClassifierFactory

    return dict(
        classifier_factory=ClassifierFactory(**config["classifier"]),
        initial=config["initial"],
        step=config["step"],
        final=config["final"],
        n_trials=config["trials"],
        random_state=config["seed"],
        warm_start_epochs=config["warm_start_epochs"],
        subsample=config["subsample"],
    )


def _class_names(config, args):
    """``{label: name}`` of simulated data (junk included), for the recall table; else None."""
    data = config["data"]
    if "dataset" not in data:
        return None
    from ..datasets import fetch_simulated

    bunch = fetch_simulated(data["dataset"], data_home=args.data_home, **data["overrides"])
    # a short column header: "0 4V5D", "4 not a particle", "2 D7 double ring"
    short = (n.split(":")[0] if ":" in n else n.split(" (")[0] for n in bunch.target_names)
    return {label: f"{label} {name}" for label, name in enumerate(short)}


def _embedder(config):
    """The unfitted SubtomogramEmbedder of a configuration's ``pretrain``, or None."""
    if config.get("pretrain") is None:
        return None
    from ..classifier._device import resolve_device
    from ..pretraining import SubtomogramEmbedder

    clf = config["classifier"]
    params = dict(width=clf.get("width", 16), random_state=config["seed"])
    params["device"] = resolve_device(clf.get("device", "cpu"))
    return SubtomogramEmbedder(**{**params, **config["pretrain"]})


def run(args):
    """Run (or resume) a benchmark campaign and write its results, plot and summary."""
    prog = args.command_prog
    if args.list_presets:
        return _list_presets()
    config = _config(args, prog)
    out = Path(args.out or f"benchmark-{config['preset']}")
    progress = not args.no_progress
    if args.dry_run:
        _check_dry_run(config, args, prog, out)
        print(json.dumps(config, indent=2))
        if "dataset" in config["data"] and config["preset"] == args.preset:
            from ..benchmark import get_preset

            print(_estimate_line(get_preset(args.preset)) + " (preset's own settings)")
        return 0
    old = _check_resume(out, config, prog)
    config["primary_endpoint"]["declared"] = _declaration_time(old, config, out)

    import matplotlib

    matplotlib.use("Agg")
    from ..benchmark import (
        read_results,
        run_campaign,
        save_evaluation_plots,
        save_learning_curves,
        summary_markdown,
    )

    X_pool, y_pool, X_test, y_test, dataset = _load_data(config, args, prog, progress, out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.json", json.dumps(config, indent=2) + "\n")
    results_file = out / "results.csv"
    try:
        results = run_campaign(
            X_pool,
            y_pool,
            X_test,
            y_test,
            config["strategies"],
            semi_supervised=config["semi_supervised"],
            ceiling=config["ceiling"],
            results_file=results_file,
            dataset=dataset,
            progress=progress,
            campaigns_dir=out / "campaigns",
            pretrain=_embedder(config),
            **_campaign_options(config),
        )
    except KeyboardInterrupt:
        n_done = len(read_results(results_file)) if results_file.exists() else 0
        raise CLIError(
            f"{prog}: interrupted; {n_done} finished cycle(s) are saved in "
            f"{str(results_file)!r}. Run the same command again to resume.",
            status=130,
        ) from None
    title = f"skcryoal benchmark {config['preset']}: {dataset}"
    save_learning_curves(results, out / "learning_curve.png", title=title)  # atomic
    auc_png, wtl_png = save_evaluation_plots(results, out, title=title)  # atomic
    primary = config["primary_endpoint"]
    text = summary_markdown(
        results,
        title=title,
        metric=primary["metric"],
        primary=primary,
        class_names=_class_names(config, args),
    )
    atomic_write_text(out / "summary.md", text)
    print(text)
    print(
        f"Wrote {results_file}, {out / 'learning_curve.png'}, {auc_png}, {wtl_png} and "
        f"{out / 'summary.md'}; "
        f"the campaigns are in {out / 'campaigns'}."
    )
    return 0
