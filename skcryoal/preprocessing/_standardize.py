"""Per-subtomogram standardization."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

# Volumes standardized per chunk, so that the float64 work arrays stay small
# whatever the size of X (e.g. a memmapped pool).
_CHUNK = 64


def _volume_shape(X, what="X"):
    shape = tuple(getattr(X, "shape", ()))
    if len(shape) == 5 and shape[1] == 1:
        return shape[2:]
    if len(shape) == 4:
        return shape[1:]
    raise ValueError(
        f"{what} must have shape (n_samples, 1, D, H, W) or (n_samples, D, H, W); got {shape}."
    )


def standardize_in_place(X, rows, eps=1e-8):
    """Standardize the volumes ``X[rows]`` in place, each with its own statistics.

    The computation of :class:`SubtomogramStandardizer` (float64 statistics over
    every voxel, the standard deviation bounded below by ``eps``) for an output
    that is written volume by volume (e.g. a memory map being filled), so that
    no second copy of ``X`` is made.

    Parameters
    ----------
    X : ndarray or numpy.memmap of shape (n_samples, ...)
        Writeable volumes (floating dtype).
    rows : iterable of int
        The volumes to standardize.
    eps : float, default=1e-8
        Lower bound of the standard deviation (a constant volume becomes zeros).
    """
    for i in rows:
        volume = np.asarray(X[i], dtype=np.float64)
        std = volume.std()
        X[i] = (volume - volume.mean()) / max(std, eps)


class SubtomogramStandardizer(TransformerMixin, BaseEstimator):
    """Standardize each subtomogram to zero mean and unit standard deviation.

    Each volume is standardized with its own statistics (not statistics
    learned on the training set), which removes the per-particle intensity
    offsets and scales of cryo-ET data. The transformer is stateless: ``fit``
    only validates the parameters and records the volume shape.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract each volume's mean.
    with_std : bool, default=True
        Divide each volume by its standard deviation.
    eps : float, default=1e-8
        Lower bound of the standard deviation used for division, so that a
        constant volume is only centered (it becomes all zeros with
        ``with_mean=True``) instead of dividing by zero.
    mask : array-like of shape (D, H, W) of bool, default=None
        Voxels over which mean and standard deviation are computed (e.g. a
        sphere around the particle, to ignore the corners). The whole volume is
        transformed. None uses all voxels.

    Attributes
    ----------
    volume_shape_ : tuple of int
        ``(D, H, W)`` seen in ``fit``, axis order (z, y, x).
    n_features_in_ : int
        ``D * H * W``, the number of voxels per subtomogram.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : Standardizes features across samples.

    Notes
    -----
    ``transform`` accepts ndarrays, memmaps and
    :class:`~skcryoal.io.LazySubtomograms`; it reads and standardizes
    ``X`` a few volumes at a time and returns a new float32 array of the same
    shape (layout ``(n, 1, D, H, W)`` or ``(n, D, H, W)`` is kept). Statistics
    are computed in float64. Transforming ``X[a:b]`` reads only those volumes.

    Examples
    --------
    >>> import numpy as np
    >>> from skcryoal.preprocessing import SubtomogramStandardizer
    >>> X = np.random.default_rng(0).normal(5, 3, size=(4, 1, 8, 8, 8))
    >>> Xt = SubtomogramStandardizer().fit_transform(X)
    >>> Xt.shape, Xt.dtype
    ((4, 1, 8, 8, 8), dtype('float32'))
    >>> bool(np.allclose(Xt.mean(axis=(1, 2, 3, 4)), 0, atol=1e-5))
    True
    """

    def __init__(self, with_mean=True, with_std=True, eps=1e-8, mask=None):
        self.with_mean = with_mean
        self.with_std = with_std
        self.eps = eps
        self.mask = mask

    def _mask(self, volume_shape):
        if self.mask is None:
            return None
        mask = np.asarray(self.mask)
        if mask.dtype != bool or mask.shape != tuple(volume_shape):
            raise ValueError(
                f"mask must be a boolean array of shape {tuple(volume_shape)} (the volume shape "
                f"D, H, W); got dtype {mask.dtype} and shape {mask.shape}."
            )
        if not mask.any():
            raise ValueError("mask selects no voxel; it must select at least one.")
        return mask.reshape(-1)

    def fit(self, X, y=None):
        """Validate the parameters and record the volume shape.

        The data are not read, so fitting on a memmapped pool is instant.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Subtomograms, axis order (z, y, x).
        y : None
            Ignored.

        Returns
        -------
        self : SubtomogramStandardizer
            This estimator.
        """
        for name in ("with_mean", "with_std"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be a bool; got {getattr(self, name)!r}.")
        if not isinstance(self.eps, numbers.Real) or not np.isfinite(self.eps) or self.eps <= 0:
            raise ValueError(f"eps must be a positive float; got {self.eps!r}.")
        if not hasattr(X, "shape"):
            X = np.asarray(X)
        volume_shape = _volume_shape(X)
        if 0 in X.shape:
            raise ValueError(f"X must have at least one subtomogram and voxel; got {X.shape}.")
        self._mask(volume_shape)
        self.volume_shape_ = tuple(int(s) for s in volume_shape)
        self.n_features_in_ = int(np.prod(volume_shape))
        return self

    def transform(self, X):
        """Standardize each subtomogram.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1, D, H, W) or (n_samples, D, H, W)
            Subtomograms with the volume shape seen in ``fit``.

        Returns
        -------
        X_new : ndarray of float32, same shape as X
            Standardized subtomograms.
        """
        check_is_fitted(self, "volume_shape_")
        if not (hasattr(X, "shape") and hasattr(X, "__getitem__")):
            X = np.asarray(X)
        volume_shape = _volume_shape(X)
        if tuple(volume_shape) != self.volume_shape_:
            raise ValueError(
                f"X has volumes of shape {tuple(volume_shape)} but this standardizer was fitted "
                f"on {self.volume_shape_} (D, H, W); fit it again on data of this size."
            )
        mask = self._mask(volume_shape)
        n = X.shape[0]
        out = np.empty(X.shape, dtype=np.float32)
        flat_out = out.reshape(n, -1)
        for start in range(0, n, _CHUNK):
            chunk = np.asarray(X[start : start + _CHUNK], dtype=np.float64).reshape(
                -1, self.n_features_in_
            )
            finite = np.isfinite(chunk).all(axis=1)
            if not finite.all():
                bad = start + np.flatnonzero(~finite)
                raise ValueError(
                    f"subtomograms {bad[:10].tolist()} contain NaN or infinite values; "
                    "remove or repair them before standardizing."
                )
            stats = chunk if mask is None else chunk[:, mask]
            mean = stats.mean(axis=1, keepdims=True)
            std = stats.std(axis=1, keepdims=True)
            if self.with_mean:
                chunk -= mean
            if self.with_std:
                chunk /= np.maximum(std, self.eps)
            flat_out[start : start + len(chunk)] = chunk
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
