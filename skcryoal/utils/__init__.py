"""Input validation and batching helpers shared by the estimators and strategies."""

from ._batches import iter_batches
from ._random import torch_seed_context
from ._threads import available_cpus, set_num_threads
from ._validation import check_labels, check_n_instances, check_volumes

__all__ = [
    "available_cpus",
    "check_labels",
    "check_n_instances",
    "check_volumes",
    "iter_batches",
    "set_num_threads",
    "torch_seed_context",
]
