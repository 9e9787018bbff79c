"""skorch callbacks shared by every network of the toolkit, and the training pieces that the
estimators ask of skorch (callback lists, a seeded validation split, an ensemble's history).

The estimators never import skorch: what they need from it is built here.
"""
import math

import numpy as np
from sklearn.base import clone
from skorch.callbacks import Callback

__all__ = [
    "DivergenceGuard",
    "TrainingDivergedError",
    "cosine_schedule",
    "mean_history",
    "passthrough_scores",
    "training_callbacks",
    "valid_split",
]


class TrainingDivergedError(FloatingPointError, ValueError):
    """Raised when a training loss becomes NaN or infinite."""


class DivergenceGuard(Callback):
    """Stop training with a clear error as soon as a batch loss is NaN or infinite.

    Without it skorch keeps training on NaN weights and ``transform`` silently returns NaN.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if loss is None:
            return
        value = float(loss.detach().item()) if hasattr(loss, "detach") else float(loss)
        if not math.isfinite(value):
            epoch = len(net.history)
            phase = "training" if training else "validation"
            msg = (
                f"The {phase} loss diverged (loss={value}) at epoch {epoch}. Lower 'lr', check "
                "the input scaling (galaxy_learn.preprocessing.ImageScaler) or the prior "
                "parameters."
            )
            raise TrainingDivergedError(msg)


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


def training_callbacks(extra=(), user=None, *, verbose=0):
    """The callbacks of an estimator's net, in order: divergence guard, ``extra``, the user's.

    Parameters
    ----------
    extra : sequence of (str, Callback), default=()
        The estimator's own callbacks (early stopping, loss-term scoring, ...).
    user : sequence of Callback or (str, Callback), default=None
        The estimator's ``callbacks`` parameter; each is cloned (the caller's objects are never
        modified) and unnamed ones are named ``<ClassName>_<i>``.
    verbose : int, default=0
        Non-zero appends skorch's ``ProgressBar``.

    Returns
    -------
    callbacks : list of (str, Callback)
    """
    from skorch.callbacks import ProgressBar

    cbs = [("divergence_guard", DivergenceGuard())]
    cbs += list(extra)
    cbs += _clone_callbacks(user)
    if verbose:
        cbs.append(("progress_bar", ProgressBar()))
    return cbs


def cosine_schedule(max_epochs):
    """``("lr_schedule", LRScheduler)``: the learning rate annealed from its initial value
    towards 0 over ``max_epochs`` epochs (``CosineAnnealingLR``, stepped after each epoch;
    Loshchilov & Hutter 2017, SGDR)."""
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import CosineAnnealingLR

    return ("lr_schedule", LRScheduler(policy=CosineAnnealingLR, T_max=int(max_epochs)))


def passthrough_scores(names):
    """``(name, PassthroughScoring)`` callbacks recording each named loss term per epoch.

    The net records the batch values under these names (``history[-1, "batches", ...]``); the
    callbacks average them into the epoch row, as ``train_loss`` is.
    """
    from skorch.callbacks import PassthroughScoring

    return [(name, PassthroughScoring(name=name, on_train=True)) for name in names]


def valid_split(fraction, random_state, *, stratified=False):
    """skorch's seeded hold-out split: ``fraction`` of the training set becomes validation."""
    from skorch.dataset import ValidSplit

    return ValidSplit(fraction, stratified=stratified, random_state=random_state)


def mean_history(histories):
    """One skorch ``History`` of an ensemble: per epoch the members' mean losses, summed time.

    Parameters
    ----------
    histories : list of skorch.history.History
        One per member; members stopped early (``EarlyStopping``) have fewer epochs and count
        only in the epochs they ran.

    Returns
    -------
    history : skorch.history.History
        Per epoch ``epoch``, the mean ``train_loss`` and ``valid_loss`` (where recorded), the
        summed ``dur`` and ``n_members``, the number of members that ran that epoch.
    """
    from skorch.history import History

    out = History()
    for epoch in range(max(len(h) for h in histories)):
        rows = [h[epoch] for h in histories if len(h) > epoch]  # EarlyStopping may stop some
        out.new_epoch()
        out.record("epoch", epoch + 1)
        for key in ("train_loss", "valid_loss"):
            values = [row[key] for row in rows if key in row]
            if values:
                out.record(key, float(np.mean(values)))
        out.record("dur", float(sum(row.get("dur", 0.0) for row in rows)))
        out.record("n_members", len(rows))
    return out
