"""skorch classifier net with seeded, batched, on-device flip/rotation augmentation."""
import torch
from skorch import NeuralNetClassifier
from skorch.utils import to_device

__all__ = ["AugmentedNeuralNetClassifier", "random_dihedral"]


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
    **kwargs
        Passed to :class:`skorch.NeuralNetClassifier`.
    """

    def __init__(self, module, *args, augment=False, augment_seed=0, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.augment = augment
        self.augment_seed = augment_seed

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
