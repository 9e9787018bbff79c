"""skorch nets: the only subpackage that imports skorch (checked by import-linter, .importlinter).

Each net is a :class:`skorch.NeuralNet` subclass overriding training hooks (``get_loss``,
``train_step``, ...). Estimators build and own one as ``net_`` inside ``fit``; what else they need
from skorch (callbacks, validation split, an ensemble's history, device moves) is built here."""
from ._callbacks import (
    DivergenceGuard,
    TrainingDivergedError,
    cosine_schedule,
    mean_history,
    passthrough_scores,
    training_callbacks,
    valid_split,
)
from ._ensemble import fit_fresh, gather_members, member_seeds
from ._vae import VAENet
from ._autoencoder import AutoencoderNet
from ._denoiser import ContrastiveDenoiserNet
from ._classifier import AugmentedNeuralNetClassifier, early_stopping_split, random_dihedral
from ._accelerate import build_net
from ._device import DeviceWarning, is_net, move_net

__all__ = [
    "DivergenceGuard",
    "TrainingDivergedError",
    "VAENet",
    "AutoencoderNet",
    "ContrastiveDenoiserNet",
    "AugmentedNeuralNetClassifier",
    "DeviceWarning",
    "random_dihedral",
    "early_stopping_split",
    "fit_fresh",
    "gather_members",
    "member_seeds",
    "build_net",
    "is_net",
    "cosine_schedule",
    "mean_history",
    "move_net",
    "passthrough_scores",
    "training_callbacks",
    "valid_split",
]
