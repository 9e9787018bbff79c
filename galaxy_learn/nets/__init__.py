"""skorch nets: the only subpackage that imports skorch.

Each net is a :class:`skorch.NeuralNet` subclass overriding training hooks (``get_loss``,
``train_step``, ...). Estimators build and own one as ``net_`` inside ``fit``.
"""
from ._callbacks import DivergenceGuard, TrainingDivergedError

__all__ = ["DivergenceGuard", "TrainingDivergedError"]
from ._accelerate import build_net  # noqa: E402

__all__ += ["build_net"]
