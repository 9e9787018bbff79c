"""skorch net of the (variational) autoencoders: the prior term is added in ``get_loss``."""
import torch
from skorch import NeuralNet

from ..losses import reconstruction_loss

__all__ = ["VAENet"]


class VAENet(NeuralNet):
    """:class:`skorch.NeuralNet` training a :class:`galaxy_learn.nn.VAEModule` without targets.

    The loss per sample is ``reconstruction(x_hat, x) + kl_weight * prior.kl(mu[:, :k],
    logvar[:, :k])`` averaged over the batch, with ``k = n_prior_latent`` (all units when None).
    With a :class:`galaxy_learn.nn.VAEEnsembleModule` both terms are each member's own, averaged
    over the members (members are independent: each one's gradient is its own loss's).
    The batch's input is the target, so ``fit(X, None)`` is the call. ``X`` may also be a dict
    ``{"x": X, "x_in": X_in}``: in training mode the encoder then sees ``X_in`` (e.g. degraded
    copies of the images) and the decoder must reconstruct ``X`` (a denoising autoencoder);
    validation and inference use ``X``.

    Parameters
    ----------
    module : torch module class or instance
        Returns ``(x_hat, mu, logvar, z)``.
    prior : prior object
        With a ``kl(mu, logvar) -> (n,)`` method (see :mod:`galaxy_learn.losses`).
    kl_weight : float, default=1.0
        β, the weight of the prior term.
    n_prior_latent : int or None, default=None
        Apply the prior to the first ``n_prior_latent`` latent units only.
    reconstruction : {"gaussian", "bce"}, default="gaussian"
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, module, *args, prior=None, kl_weight=1.0, n_prior_latent=None,
                 reconstruction="gaussian", criterion=torch.nn.MSELoss, **kwargs):
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.prior = prior
        self.kl_weight = kl_weight
        self.n_prior_latent = n_prior_latent
        self.reconstruction = reconstruction

    def infer(self, x, **fit_params):
        if isinstance(x, dict):  # {"x": target, "x_in": encoder input while training}
            key = "x_in" if (self.module_.training and "x_in" in x) else "x"
            return super().infer(x[key], **fit_params)
        return super().infer(x, **fit_params)

    def loss_terms(self, y_pred, X):
        """Per-sample ``(reconstruction, prior penalty)`` tensors of shape (n,)."""
        x_hat, mu, logvar, _ = y_pred
        if isinstance(X, dict):
            X = X["x"]
        X = X.to(x_hat.device) if isinstance(X, torch.Tensor) else torch.as_tensor(
            X, device=x_hat.device)
        members = getattr(self.module_, "n_members", None)
        if members is None:
            return self._member_terms(x_hat, X, mu, logvar)
        # an ensemble (VAEEnsembleModule): the mean over its members of their own terms
        split = self.module_.split
        terms = [self._member_terms(xh, X, mu_j, lv_j)
                 for xh, mu_j, lv_j in zip(x_hat, split(mu), split(logvar), strict=True)]
        rec, pen = (torch.stack(t).mean(0) for t in zip(*terms))
        return rec, pen

    def _member_terms(self, x_hat, X, mu, logvar):
        rec = reconstruction_loss(x_hat, X, self.reconstruction)
        if self.prior is None:
            return rec, torch.zeros_like(rec)
        k = self.n_prior_latent
        if k is not None:
            mu, logvar = mu[:, :k], logvar[:, :k]
        return rec, self.prior.kl(mu, logvar)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        rec, pen = self.loss_terms(y_pred, X)
        return (rec + self.kl_weight * pen).mean()
