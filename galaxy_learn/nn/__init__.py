"""Pure torch modules (networks). Never imports scikit-learn or skorch."""
from ._residual_ae import ResidualConvAutoencoder, autoencoder_layer_names
from ._vae import (ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, VAEEnsembleModule,
                   VAEModule, conv_sizes)
from ._augment import SymmetryAveraged, add_poisson_gaussian_noise, random_geometric
from ._unet import UNet
from ._cnn import ConvNet

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "MLPDecoder",
    "MLPEncoder",
    "VAEModule",
    "VAEEnsembleModule",
    "conv_sizes",
    "ResidualConvAutoencoder",
    "autoencoder_layer_names",
    "UNet",
    "add_poisson_gaussian_noise",
    "random_geometric",
    "SymmetryAveraged",
    "ConvNet",
]
