"""Input validation and batching helpers shared by the estimators and strategies."""

from ._batches import iter_batches
from ._random import torch_seed_context
from ._validation import check_labels, check_n_instances, check_volumes

__all__ = [
    "check_labels",
    "check_n_instances",
    "check_volumes",
    "iter_batches",
    "torch_seed_context",
]
