"""skorch's device handling, seen from outside ``nets/`` (persistence moves nets across devices)."""
from skorch import NeuralNet
from skorch.exceptions import DeviceWarning

__all__ = ["DeviceWarning", "is_net", "move_net"]


def is_net(obj):
    """Whether ``obj`` is a skorch net."""
    return isinstance(obj, NeuralNet)


def move_net(net, device):
    """Move a (fitted) skorch net and all its tensors to ``device``, in place.

    Uses skorch's own pickling mechanism: ``__getstate__`` serialises the CUDA-dependent
    attributes (modules, criteria, optimizers with their state) and ``__setstate__`` maps them to
    ``state["device"]``.
    """
    net.device = device
    net.__setstate__(net.__getstate__())
    return net
