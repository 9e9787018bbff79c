"""Pure torch modules (networks). Never imports scikit-learn or skorch."""
__all__ = []
from ._residual_ae import ResidualConvAutoencoder, autoencoder_layer_names  # noqa: E402
__all__ += ["ResidualConvAutoencoder", "autoencoder_layer_names"]
