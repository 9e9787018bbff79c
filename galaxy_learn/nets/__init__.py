"""skorch nets: the only subpackage that imports skorch.

Each net is a :class:`skorch.NeuralNet` subclass overriding training hooks (``get_loss``,
``train_step``, ...). Estimators build and own one as ``net_`` inside ``fit``."""
from ._callbacks import DivergenceGuard, TrainingDivergedError
from ._vae import VAENet
from ._autoencoder import AutoencoderNet
from ._denoiser import ContrastiveDenoiserNet
from ._classifier import AugmentedNeuralNetClassifier, early_stopping_split, random_dihedral
from ._accelerate import build_net

__all__ = [
    "DivergenceGuard",
    "TrainingDivergedError",
    "VAENet",
    "AutoencoderNet",
    "ContrastiveDenoiserNet",
    "AugmentedNeuralNetClassifier",
    "random_dihedral",
    "early_stopping_split",
    "build_net",
]
