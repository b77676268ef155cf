"""Start a classifier's 3D ResNet from a pretrained encoder."""

from collections.abc import Mapping
from pathlib import Path

import torch


def encoder_state(encoder):
    """Return the state dict of a pretrained encoder given in any accepted form.

    Parameters
    ----------
    encoder : SubtomogramEmbedder, torch.nn.Module, mapping or path
        A fitted :class:`~skcryoal.pretraining.SubtomogramEmbedder`, its
        ``encoder_`` (any module with the classifier's layer names), a state
        dict, or the path of a file holding a state dict or a
        ``SubtomogramEmbedder`` checkpoint.

    Returns
    -------
    state : dict of str to torch.Tensor
    """
    if hasattr(encoder, "get_params") and hasattr(encoder, "transform"):
        if not hasattr(encoder, "encoder_"):
            raise ValueError(
                f"encoder is an unfitted {type(encoder).__name__}: fit it first. (scikit-learn's "
                "clone() returns unfitted copies of estimators in parameters; to keep the "
                "weights through clone, pass embedder.encoder_ instead of the embedder.)"
            )
        encoder = encoder.encoder_
    if isinstance(encoder, torch.nn.Module):
        return encoder.state_dict()
    if isinstance(encoder, (str, Path)):
        path = Path(encoder)
        if not path.is_file():
            raise FileNotFoundError(f"encoder: no file {str(path)!r}.")
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise ValueError(
                f"encoder: cannot read {str(path)!r} as a torch file ({type(exc).__name__}: {exc})."
            ) from None
        if isinstance(loaded, Mapping) and "objective" in loaded:  # an embedder checkpoint
            return {
                k[len("encoder.") :]: v
                for k, v in loaded["objective"].items()
                if k.startswith("encoder.")
            }
        encoder = loaded
    if isinstance(encoder, Mapping):
        return dict(encoder)
    raise TypeError(
        "encoder must be a fitted SubtomogramEmbedder, a torch module, a state dict or the path "
        f"of a saved one; got {type(encoder).__name__}."
    )


def load_encoder(module, encoder):
    """Copy a pretrained encoder's weights into ``module``, all but its classification layer.

    Raises a ValueError naming the first layer whose shape differs (another width,
    stem or number of input channels) or that is missing.
    """
    state = {k: v for k, v in encoder_state(encoder).items() if not k.startswith("fc.")}
    own = module.state_dict()
    for name, tensor in own.items():
        if name.startswith("fc."):
            continue
        if name not in state:
            raise ValueError(
                f"The pretrained encoder has no layer {name!r} of the classifier's module "
                f"({type(module).__name__}); pretrain the same architecture."
            )
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise ValueError(
                f"The pretrained encoder's layer {name!r} has shape {tuple(state[name].shape)}, "
                f"the classifier's {tuple(tensor.shape)}: pretrain with the classifier's "
                f"width and stem (module__width={getattr(module, 'width', '?')}, "
                f"module__stem={getattr(module, 'stem', '?')!r})."
            )
    module.load_state_dict(state, strict=False)
    return module
