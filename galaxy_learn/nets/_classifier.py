"""skorch classifier net with seeded, batched, on-device flip/rotation augmentation."""
import torch
from skorch import NeuralNetClassifier
from skorch.utils import to_device

__all__ = ["AugmentedNeuralNetClassifier", "early_stopping_split", "random_dihedral"]


def early_stopping_split(validation_fraction, patience, random_state):
    """skorch pieces of early stopping: a stratified, seeded validation split and its callback.

    Returns
    -------
    train_split : skorch.dataset.ValidSplit
        Holds out ``validation_fraction`` of the training set, stratified by class.
    callbacks : list of (str, skorch.callbacks.EarlyStopping)
        Stops when the validation loss has not improved for ``patience`` epochs and restores the
        weights of the best epoch.
    """
    from skorch.callbacks import EarlyStopping

    from ._callbacks import valid_split

    split = valid_split(validation_fraction, random_state, stratified=True)
    stopper = EarlyStopping(monitor="valid_loss", patience=patience, load_best=True)
    return split, [("early_stopping", stopper)]


def random_dihedral(X, generator):
    """Apply an independent random flip / 90-degree rotation to each image of a batch.

    The eight symmetries of the square (the dihedral group D4) are drawn uniformly per image for
    square images; for rectangular images only the four that keep the shape (identity, flips,
    180-degree rotation). Sky images have no preferred orientation, so these leave the class
    unchanged. The random draws come from ``generator`` (a CPU ``torch.Generator``), the flips run
    on ``X``'s device; ``X`` is not modified.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, H, W)
    generator : torch.Generator

    Returns
    -------
    X_aug : torch.Tensor of shape (n, C, H, W)
    """
    if X.ndim != 4:
        return X
    n, _, h, w = X.shape
    draws = torch.rand((3, n), generator=generator) < 0.5
    draws = draws.to(X.device)[:, :, None, None, None]
    X = torch.where(draws[0], X.flip(-1), X)
    X = torch.where(draws[1], X.flip(-2), X)
    if h == w:
        X = torch.where(draws[2], X.transpose(-1, -2), X)
    return X


class AugmentedNeuralNetClassifier(NeuralNetClassifier):
    """:class:`skorch.NeuralNetClassifier` that augments each training batch with flips/rotations.

    Parameters
    ----------
    augment : bool, default=False
        Whether training batches go through :func:`random_dihedral`. Validation and inference
        batches are never augmented.
    augment_seed : int, default=0
        Seed of the augmentation generator, reset at every (re)initialisation so that a fit is
        reproducible.
    precise_bn : bool, default=True
        After each ``fit`` / ``partial_fit``, recompute the batch-normalisation running statistics
        with the final weights over the training inputs (:func:`torch.optim.swa_utils.update_bn`,
        "precise BN", Wu & Johnson 2021). The exponential running averages otherwise mix in
        statistics of earlier weights and, on short trainings, of their initial values, which
        skews the evaluation-mode predictions.
    **kwargs
        Passed to :class:`skorch.NeuralNetClassifier`.
    """

    def __init__(self, module, *args, augment=False, augment_seed=0, precise_bn=True, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.augment = augment
        self.augment_seed = augment_seed
        self.precise_bn = precise_bn

    def initialize(self):
        super().initialize()
        self.augment_generator_ = torch.Generator().manual_seed(int(self.augment_seed))
        return self

    def train_step_single(self, batch, **fit_params):
        if self.augment:
            Xi, yi = batch
            Xi = random_dihedral(to_device(Xi, self.device), self.augment_generator_)
            batch = (Xi, yi)
        return super().train_step_single(batch, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        super().partial_fit(X, y=y, classes=classes, **fit_params)
        if self.precise_bn:
            self.update_batchnorm(X)
        return self

    def update_batchnorm(self, X):
        """Recompute batch-norm running statistics over ``X`` with the current weights."""
        from torch.optim.swa_utils import update_bn

        loader = self.get_iterator(self.get_dataset(X), training=False)
        with torch.no_grad():
            update_bn(loader, self.module_, device=self.device)
        self.module_.eval()
        return self
