"""skorch net training an autoencoder to reproduce its input (reconstruction loss)."""
import torch
from skorch import NeuralNet
from skorch.utils import to_tensor

__all__ = ["AutoencoderNet"]


class AutoencoderNet(NeuralNet):
    """A :class:`skorch.NeuralNet` whose target is its input: ``loss = criterion(module(X), X)``.

    Fit it with ``y=None``. ``noise_std > 0`` trains a denoising autoencoder: Gaussian noise of
    that standard deviation is added to the training input only (the target stays clean); noise is
    drawn from torch's global RNG, which the owning estimator forks and seeds around ``fit``.

    Parameters
    ----------
    module : torch.nn.Module class or instance
        Maps ``(n, C, H, W)`` to a reconstruction of the same shape.
    criterion : torch loss class, default=torch.nn.MSELoss
    noise_std : float, default=0.0
        Standard deviation of the input noise during training.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, module, *args, criterion=torch.nn.MSELoss, noise_std=0.0, **kwargs):
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.noise_std = noise_std

    def infer(self, x, **fit_params):
        x = to_tensor(x, device=self.device)
        if self.module_.training and self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        return self.module_(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        target = to_tensor(X, device=self.device)
        return self.criterion_(y_pred, target)
