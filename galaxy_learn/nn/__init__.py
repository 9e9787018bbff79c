"""Pure torch networks (never imports scikit-learn or skorch)."""
from ._vae import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, VAEModule, conv_sizes

__all__ = ["ConvDecoder", "ConvEncoder", "MLPDecoder", "MLPEncoder", "VAEModule", "conv_sizes"]
