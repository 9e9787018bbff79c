"""Pure torch networks (never imports scikit-learn or skorch)."""
__all__ = []
from ._cnn import ConvNet  # noqa: E402
__all__ += ["ConvNet"]
