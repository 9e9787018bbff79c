"""Shared machinery of the estimators that own a skorch net (``net_``).

An estimator that trains a torch module mixes in :class:`NetEstimatorMixin`; it keeps a clean
scikit-learn parameter surface (``__init__`` stores arguments only) and builds its skorch net in
``fit``. The mixin gathers what every such estimator needs: device resolution, the local seed,
the default callbacks (divergence guard, progress bar when ``verbose``), the net settings that
follow from them (:meth:`NetEstimatorMixin._net_settings`) and the training history. skorch
itself is imported only in :mod:`galaxy_learn.nets`.
"""
import torch

from .utils import resolve_device, seed_from_random_state

__all__ = ["NetEstimatorMixin"]


class NetEstimatorMixin:
    """Mixin for estimators that own a skorch ``net_`` built in ``fit``.

    Expects the parameters ``device``, ``random_state``, ``verbose`` and ``callbacks``.
    """

    def _resolve_device(self):
        return resolve_device(getattr(self, "device", "auto"))

    def _fit_seed(self):
        return seed_from_random_state(getattr(self, "random_state", None))

    def _make_callbacks(self, extra=()):
        from .nets import training_callbacks

        return training_callbacks(
            extra, getattr(self, "callbacks", None), verbose=getattr(self, "verbose", 0)
        )

    def _net_settings(self, seed, *, extra_callbacks=(), drop_last=False, device=None):
        """The skorch arguments every estimator's net shares, as a dict of keyword arguments.

        Training batches shuffled by a ``torch.Generator`` seeded with ``seed`` (the fit's own
        stream, never torch's global one), the callbacks of :meth:`_make_callbacks` (with
        ``extra_callbacks`` after the divergence guard) and the device.

        Parameters
        ----------
        seed : int
            The fit's seed (:meth:`_fit_seed`).
        extra_callbacks : sequence of (str, Callback), default=()
            The estimator's own callbacks.
        drop_last : bool, default=False
            Whether the last, incomplete training batch is dropped.
        device : str or None, default=None
            The resolved device; None resolves the ``device`` parameter.

        Returns
        -------
        settings : dict
            ``iterator_train__shuffle``, ``iterator_train__generator`` (and
            ``iterator_train__drop_last`` when ``drop_last``), ``callbacks``, ``device``.
        """
        settings = {
            "iterator_train__shuffle": True,
            "iterator_train__generator": torch.Generator().manual_seed(seed),
            "callbacks": self._make_callbacks(extra_callbacks),
            "device": self._resolve_device() if device is None else device,
        }
        if drop_last:
            settings["iterator_train__drop_last"] = True
        return settings

    @property
    def history_(self):
        """skorch ``History`` of the last fit (train/valid loss per epoch and batch)."""
        return self.net_.history
