"""Shared machinery of the estimators that own a skorch net (``net_``).

An estimator that trains a torch module mixes in :class:`NetEstimatorMixin`; it keeps a clean
scikit-learn parameter surface (``__init__`` stores arguments only) and builds its skorch net in
``fit``. The mixin gathers what every such estimator needs: device resolution, the local seed,
the default callbacks (divergence guard, progress bar when ``verbose``) and the training history.
"""
from sklearn.base import clone

from .utils import resolve_device, seed_from_random_state

__all__ = ["NetEstimatorMixin"]


def _clone_callbacks(callbacks):
    """Return fresh copies of the user's callbacks as skorch ``(name, callback)`` pairs."""
    if callbacks is None:
        return []
    out = []
    for i, item in enumerate(callbacks):
        if isinstance(item, tuple):
            name, cb = item
        else:
            name, cb = f"{type(item).__name__}_{i}", item
        try:
            cb = clone(cb)
        except TypeError:  # skorch callbacks are sklearn-clonable via get_params
            pass
        out.append((name, cb))
    return out


class NetEstimatorMixin:
    """Mixin for estimators that own a skorch ``net_`` built in ``fit``.

    Expects the parameters ``device``, ``random_state``, ``verbose`` and ``callbacks``.
    """

    def _resolve_device(self):
        return resolve_device(getattr(self, "device", "auto"))

    def _fit_seed(self):
        return seed_from_random_state(getattr(self, "random_state", None))

    def _make_callbacks(self, extra=()):
        from skorch.callbacks import ProgressBar

        from .nets import DivergenceGuard

        cbs = [("divergence_guard", DivergenceGuard())]
        cbs += list(extra)
        cbs += _clone_callbacks(getattr(self, "callbacks", None))
        if getattr(self, "verbose", 0):
            cbs.append(("progress_bar", ProgressBar()))
        return cbs

    @property
    def history_(self):
        """skorch ``History`` of the last fit (train/valid loss per epoch and batch)."""
        return self.net_.history
