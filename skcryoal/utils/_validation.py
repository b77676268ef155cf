"""Validation of subtomogram arrays and labels, with errors a user can act on."""

import numbers

import numpy as np
from sklearn.utils.multiclass import type_of_target

from ._batches import iter_batches

_SHAPE_RULE = "(n_samples, 1, D, H, W) or (n_samples, D, H, W)"
# Rows checked for finiteness at a time: bounds the temporary boolean array when
# X is a memory map far larger than RAM.
_FINITE_CHUNK = 256


class _ChannelView:
    """Read-only view of a lazy (n, D, H, W) array as (n, 1, D, H, W).

    Slicing reads only the requested rows from the wrapped object, so memory
    maps and lazy readers stay lazy.
    """

    def __init__(self, base):
        self.base = base
        self.shape = (base.shape[0], 1, *base.shape[1:])
        self.dtype = np.dtype(base.dtype)
        self.ndim = 5

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, rest = key[0], key[1:]
        else:
            rows, rest = key, ()
        out = np.asarray(self.base[rows])[..., None, :, :, :]
        return out[(slice(None),) * (out.ndim - 4) + rest] if rest else out

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.base)[:, None]
        return out if dtype is None else out.astype(dtype)


def _is_lazy_array(X):
    return (
        not isinstance(X, np.ndarray)
        and hasattr(X, "shape")
        and hasattr(X, "dtype")
        and hasattr(X, "__getitem__")
        and not hasattr(X, "detach")  # torch tensors are converted below
    )


def check_volumes(
    X,
    *,
    name="X",
    volume_shape=None,
    n_channels=1,
    min_side=None,
    check_finite=True,
    allow_empty=False,
):
    """Validate a stack of subtomograms and return it with a channel axis.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
        Volumes with axis order (z, y, x). ndarrays, memory maps and lazy array
        objects (with ``shape``, ``dtype`` and slicing) are accepted; memory maps
        and lazy arrays are not read into memory here.
    name : str, default="X"
        Name used in error messages.
    volume_shape : tuple of int or None, default=None
        Required spatial shape ``(D, H, W)``, e.g. the shape seen during ``fit``.
    n_channels : int, default=1
        Required size of the channel axis of 5-D input.
    min_side : int or None, default=None
        Smallest allowed side length.
    check_finite : bool, default=True
        Raise on NaN or infinite values. Checked in chunks of rows so a memory
        map is traversed with bounded memory.
    allow_empty : bool, default=False
        Accept ``n_samples == 0``.

    Returns
    -------
    X : ndarray or array-like of shape (n_samples, n_channels, D, H, W)
        A view of the input (no copy) with the channel axis added when needed.

    Raises
    ------
    ValueError
        For a wrong number of dimensions, channel count, spatial shape, dtype,
        an empty stack or non-finite values, with what was received.
    """
    if hasattr(X, "detach"):  # torch.Tensor
        X = X.detach().cpu().numpy()
    if not (isinstance(X, np.ndarray) or _is_lazy_array(X)):
        try:
            X = np.asarray(X)
        except Exception as exc:  # ragged lists and other non-arrays
            raise ValueError(
                f"{name} must be an array of shape {_SHAPE_RULE}; could not convert "
                f"an object of type {type(X).__name__} to an array ({exc})."
            ) from exc
    dtype = np.dtype(X.dtype)
    if dtype == np.bool_ or not (
        np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)
    ):
        raise ValueError(
            f"{name} must hold real numbers (a float or integer dtype); got dtype {dtype}. "
            "Convert it with X.astype(np.float32)."
        )
    shape = tuple(X.shape)
    if len(shape) == 4:
        if n_channels != 1:
            raise ValueError(
                f"{name} must have shape (n_samples, {n_channels}, D, H, W) for a "
                f"{n_channels}-channel model; got {shape}."
            )
        X = X[:, None] if isinstance(X, np.ndarray) else _ChannelView(X)
    elif len(shape) == 5:
        if shape[1] != n_channels:
            raise ValueError(
                f"{name} must have {n_channels} channel(s) on axis 1, i.e. shape "
                f"(n_samples, {n_channels}, D, H, W); got {shape}."
            )
    else:
        raise ValueError(f"{name} must have shape {_SHAPE_RULE}; got {shape}.")
    spatial = tuple(int(s) for s in X.shape[2:])
    if X.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: got shape {shape}; at least one volume is needed.")
    if min(spatial) < 1:
        raise ValueError(f"{name} has an empty spatial axis: got shape {shape}.")
    if volume_shape is not None and spatial != tuple(volume_shape):
        raise ValueError(
            f"{name} holds volumes of shape {spatial} but the model was fitted on "
            f"volumes of shape {tuple(volume_shape)}; resample or crop them to "
            f"{tuple(volume_shape)} first."
        )
    if min_side is not None and min(spatial) < min_side:
        raise ValueError(
            f"{name} holds volumes of shape {spatial}; every side must be at least "
            f"{min_side} voxels for this model."
        )
    if check_finite:
        assert_all_finite_chunked(X, name=name)
    return X


def assert_all_finite_chunked(X, *, name="X", offset=0):
    """Raise ``ValueError`` naming the first rows that are not finite in float32.

    The models compute in float32, so values are checked after the cast: a
    float64 value beyond the float32 range (about 3.4e38) becomes infinite and
    is reported like NaN or infinity.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Checked ``_FINITE_CHUNK`` rows at a time.
    name : str, default="X"
        Name used in the error message.
    offset : int, default=0
        Added to row numbers in the message (for a batch taken from a larger array).
    """
    if np.issubdtype(np.dtype(X.dtype), np.integer):
        return
    for start, stop, batch in iter_batches(X, _FINITE_CHUNK, dtype=None):
        with np.errstate(over="ignore", invalid="ignore"):
            flat = batch.reshape(stop - start, -1).astype(np.float32, copy=False)
        finite = np.isfinite(flat).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite) + start + offset
            raise ValueError(
                f"{name} contains NaN or infinite values in row(s) {_rows_text(bad)} (values "
                "beyond the float32 range, |x| > 3.4e38, count as infinite: the model "
                "computes in float32); remove or repair those volumes first."
            )


def assert_finite_outputs(values, *, what, offset=0, inputs=None):
    """Raise ``ValueError`` when a model output has NaN or infinite entries.

    Finite inputs of huge magnitude (say 1e30) overflow inside a network and give
    NaN logits, which would turn into silent wrong predictions (``argmax`` of
    NaN is class 0) or arbitrary query scores.

    Parameters
    ----------
    values : ndarray of shape (n_samples, ...)
        The outputs of one batch.
    what : str
        What the outputs are, for the message ("logits", "embeddings"...).
    offset : int, default=0
        Row number of the batch's first row in the whole input.
    inputs : ndarray or None, default=None
        The batch that produced the outputs, to report its largest magnitude.
    """
    finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if finite.all():
        return
    bad = np.flatnonzero(~finite)
    scale = ""
    if inputs is not None:
        largest = float(np.abs(inputs[bad]).max())
        scale = f" (largest |value| in those input rows: {largest:.3g})"
    raise ValueError(
        f"The model produced NaN or infinite {what} for input row(s) "
        f"{_rows_text(bad + offset)}{scale}. Inputs of very large magnitude overflow "
        "in float32 inside the network: standardize the volumes first (e.g. with "
        "skcryoal.preprocessing.SubtomogramStandardizer), or check that the model "
        "was trained successfully."
    )


def _rows_text(rows):
    return ", ".join(str(i) for i in rows[:10]) + (" ..." if len(rows) > 10 else "")


def check_labels(y, n_samples, *, name="y"):
    """Validate class labels for ``n_samples`` volumes.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels of any hashable, sortable type (ints, strings, ...).
    n_samples : int
        Number of volumes the labels belong to.
    name : str, default="y"
        Name used in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        For a wrong shape or length, or missing labels (None / NaN).
    """
    if y is None:
        raise ValueError(f"{name} is required: pass one class label per volume.")
    check_label_types(y, name=name)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        raise ValueError(
            f"{name} must be 1-D of shape (n_samples,); got shape {y.shape}. "
            "Use y.ravel() for a column vector."
        )
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n_samples,); got shape {y.shape}.")
    if len(y) != n_samples:
        raise ValueError(
            f"{name} has {len(y)} labels but X has {n_samples} volumes; they must match."
        )
    if y.dtype == object:
        missing = [i for i, v in enumerate(y) if v is None or _is_nan(v)]
    elif np.issubdtype(y.dtype, np.floating):
        missing = np.flatnonzero(np.isnan(y)).tolist()
    else:
        missing = []
    if missing:
        raise ValueError(
            f"{name} has missing labels (None or NaN) at row(s) {missing[:10]}; every "
            "labeled volume needs a class."
        )
    if np.issubdtype(y.dtype, np.floating) and type_of_target(y) == "continuous":
        raise ValueError(
            f"Unknown label type: continuous. {name} holds non-integer numbers "
            f"(e.g. {y[np.flatnonzero(y != np.round(y))[0]]!r}); class labels must be "
            "integers or strings."
        )
    return y


def check_label_types(values, *, name="y"):
    """Raise ``ValueError`` when class labels mix strings and numbers.

    NumPy would turn ``[0, "a"]`` into the strings ``["0", "a"]`` without a word
    (changing the labels), and an object array of both cannot be sorted.

    Parameters
    ----------
    values : array-like
        Class labels.
    name : str, default="y"
        Name used in the error message.
    """
    if isinstance(values, np.ndarray) and values.dtype != object:
        return
    flat = np.asarray(values, dtype=object).ravel()
    strings = [v for v in flat if isinstance(v, (str, bytes))]
    numbers_ = [v for v in flat if isinstance(v, numbers.Number) and not _is_nan(v)]
    if strings and numbers_:
        raise ValueError(
            f"{name} mixes strings and numbers as class labels (e.g. {numbers_[0]!r} and "
            f"{strings[0]!r}); use one type for all labels, e.g. all strings."
        )


def _is_nan(value):
    return isinstance(value, numbers.Real) and value != value


def check_n_instances(n_instances, n_available, *, what="the pool"):
    """Validate the number of instances to select from ``n_available`` candidates.

    Parameters
    ----------
    n_instances : int
        Requested number of instances.
    n_available : int
        Number of candidates.
    what : str, default="the pool"
        Name of the candidate set in the message.

    Returns
    -------
    n_instances : int
    """
    if isinstance(n_instances, bool) or not isinstance(n_instances, numbers.Integral):
        raise TypeError(
            f"n_instances must be a positive integer; got {n_instances!r} "
            f"of type {type(n_instances).__name__}."
        )
    if n_instances < 1:
        raise ValueError(f"n_instances must be at least 1; got {n_instances}.")
    if n_instances > n_available:
        raise ValueError(
            f"n_instances={n_instances} is larger than {what}, which has "
            f"{n_available} volume(s); ask for at most {n_available}."
        )
    return int(n_instances)
