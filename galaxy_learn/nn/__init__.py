"""Pure torch modules (networks). Never imports scikit-learn or skorch."""
from ._residual_ae import ResidualConvAutoencoder, autoencoder_layer_names
from ._vae import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, VAEModule, conv_sizes

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "MLPDecoder",
    "MLPEncoder",
    "VAEModule",
    "conv_sizes",
    "ResidualConvAutoencoder",
    "autoencoder_layer_names",
]
