"""Multi-GPU / mixed-precision training through skorch's Hugging Face Accelerate integration.

An estimator that accepts an ``accelerator`` (an ``accelerate.Accelerator``) builds its net with
:func:`build_net`, which mixes :class:`skorch.hf.AccelerateMixin` into the net class and leaves
device placement to the accelerator. skorch cannot pickle accelerated nets; the classes built here
pickle as their plain base class on the accelerator's device, so a model trained with
``accelerate launch`` saves and loads like any other (see ``galaxy_learn.persistence``).
"""
__all__ = ["build_net"]

_ACCELERATED = {}


def _rebuild_plain(cls):
    return cls.__new__(cls)


def _accelerated_class(net_cls):
    """``AccelerateMixin`` + ``net_cls``, built once per class; pickles as a plain ``net_cls``."""
    if net_cls in _ACCELERATED:
        return _ACCELERATED[net_cls]
    try:
        from skorch.hf import AccelerateMixin
    except ImportError as exc:  # pragma: no cover - skorch >= 0.12 has it
        msg = "skorch.hf.AccelerateMixin is unavailable; upgrade skorch (pip install -U skorch)."
        raise ImportError(msg) from exc

    def __reduce__(self):  # noqa: N807 - the pickle protocol's name
        state = self.__getstate__()
        device = getattr(self.accelerator, "device", None)
        for key in ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator",
                    "callbacks__print_log__sink"):
            state.pop(key, None)
        state["device"] = str(device) if device is not None else "cpu"
        # The print-log sink was bound to the accelerator; the plain net prints normally.
        for _, cb in state.get("callbacks_", []):
            if getattr(cb, "sink", print) is not print and type(cb).__name__ == "PrintLog":
                cb.sink = print
        return (_rebuild_plain, (net_cls,), state)

    cls = type(
        f"Accelerated{net_cls.__name__}",
        (AccelerateMixin, net_cls),
        {"__reduce__": __reduce__, "__module__": __name__,
         "__doc__": f"{net_cls.__name__} trained through accelerate (pickles as the plain net)."},
    )
    _ACCELERATED[net_cls] = cls
    return cls


def build_net(net_cls, *, accelerator=None, **kwargs):
    """Instantiate ``net_cls(**kwargs)``, through Accelerate when ``accelerator`` is given.

    Parameters
    ----------
    net_cls : type
        A :class:`skorch.NeuralNet` subclass.
    accelerator : accelerate.Accelerator or None, default=None
        With None, returns ``net_cls(**kwargs)``. Otherwise the net class gains skorch's
        ``AccelerateMixin``: the accelerator places the module, optimizer and data loaders
        (``device`` is set to None), handles mixed precision, gradient accumulation and
        distributed data parallelism when the script runs under ``accelerate launch``. After
        training the modules are unwrapped, and the net pickles as a plain ``net_cls`` on the
        accelerator's device.
    **kwargs
        Arguments of ``net_cls``.

    Returns
    -------
    net : skorch.NeuralNet
    """
    if accelerator is None:
        return net_cls(**kwargs)
    if not hasattr(accelerator, "prepare"):
        msg = (
            "The 'accelerator' parameter must be an accelerate.Accelerator (pip install "
            f"accelerate) or None. Got {accelerator!r}."
        )
        raise ValueError(msg)
    kwargs["device"] = None
    kwargs.setdefault("unwrap_after_train", True)
    return _accelerated_class(net_cls)(accelerator=accelerator, **kwargs)
