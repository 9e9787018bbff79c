"""The generative side of :class:`~galaxy_learn.encoders.VAEEncoder`: decoding codes into images,
sampling from the prior, and the per-sample training loss as a score (an ELBO plug-in).

A mixin of the estimator: it reads the fitted ``net_``, ``prior_``, ``latent_mean_`` and
``latent_std_`` and the input handling of :class:`~galaxy_learn.encoders._vae_inputs.VAEInputMixin`.
"""
import numpy as np
import torch

from ..utils import batched_apply, seed_from_random_state
from ..utils._compat import check_is_fitted

__all__ = ["VAEGenerativeMixin"]


class VAEGenerativeMixin:
    """``inverse_transform``, ``sample``, ``score_samples`` and ``score`` of a fitted VAEEncoder."""

    def _decode(self, Z, member=None):
        module = self.net_.module_
        module.eval()
        if member is not None:  # one member of an ensemble decodes its own slice of Z
            module = module.members[member]
            Z = Z[:, member * self.n_latent:(member + 1) * self.n_latent]
        out = batched_apply(
            module.decode_mean, Z, batch_size=self._infer_batch(), device=self.net_.device
        )
        if self.image_shape is not None or len(self.input_shape_) == 1:
            return out.reshape(out.shape[0], -1)
        return out

    def inverse_transform(self, X):
        """Decode latent codes into images (in the scaled space, see Notes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent * n_ensemble)

        Returns
        -------
        X_rec : ndarray of shape (n_samples, bands, h, w) or (n_samples, n_features)
            Flattened rows when fitted on 2-D input. With ``n_ensemble > 1``, the mean of the
            members' decodings of their own slices of the code.
        """
        check_is_fitted(self, "net_")
        Z = np.asarray(X, dtype=np.float32)
        n_codes = self.n_latent * self.n_ensemble
        if Z.ndim == 2 and Z.shape[1] == self._n_features_out:
            Z = Z[:, :n_codes]  # transform's output: the physical column is not decoded
        if Z.ndim != 2 or Z.shape[1] != n_codes:
            msg = (
                f"inverse_transform expects codes of shape (n_samples, {n_codes}) or "
                f"transform's output (n_samples, {self._n_features_out}); got {Z.shape}."
            )
            raise ValueError(msg)
        if not np.isfinite(Z).all():
            msg = "inverse_transform received NaN or infinite latent codes."
            raise ValueError(msg)
        return self._decode(Z)

    def sample(self, n_samples=1, *, random_state=None):
        """Draw latent codes from the prior and decode them.

        Units under the prior are drawn from it; free units (beyond ``n_prior_latent``, or all
        units without a prior density) from a normal with the training codes' mean and std.
        With ``n_ensemble > 1`` every member's slice of ``Z`` is drawn and each sample is decoded
        by one member picked at random: a draw from the ensemble's equal-weight mixture (so
        ``X_new`` is not ``inverse_transform(Z)``, which averages the members).

        Returns
        -------
        X_new : ndarray of shape (n_samples, bands, h, w) or (n_samples, n_features)
        Z : ndarray of shape (n_samples, n_latent * n_ensemble)
        """
        check_is_fitted(self, "net_")
        gen = torch.Generator().manual_seed(seed_from_random_state(random_state))
        Z = torch.randn(n_samples, self.n_latent * self.n_ensemble, generator=gen).numpy()
        Z = Z * self.latent_std_ + self.latent_mean_
        k = self.n_latent if self.n_prior_latent is None else self.n_prior_latent
        prior_sample = getattr(self.prior_, "sample", None)
        if prior_sample is not None and getattr(self.prior_, "stochastic", True):
            for j in range(self.n_ensemble):
                Z[:, j * self.n_latent:j * self.n_latent + k] = prior_sample(
                    n_samples, k, generator=gen).numpy()
        Z = Z.astype(np.float32)
        if self.n_ensemble == 1:
            return self._decode(Z), Z
        member = torch.randint(self.n_ensemble, (n_samples,), generator=gen).numpy()
        X_new = None
        for j in range(self.n_ensemble):
            rows = np.flatnonzero(member == j)
            if rows.size:
                out = self._decode(Z[rows], member=j)
                if X_new is None:
                    X_new = np.empty((n_samples, *out.shape[1:]), dtype=out.dtype)
                X_new[rows] = out
        return X_new, Z

    def score_samples(self, X, *, psf_fwhm=None):
        """Minus the training loss per sample, at the posterior mean (ELBO plug-in, see Notes).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        Xs = self._prepare(X, self._check_psf(X, psf_fwhm, reset=False))
        module, net = self.net_.module_, self.net_
        module.eval()
        const = 0.0
        if self.reconstruction == "gaussian":
            const = 0.5 * np.log(2 * np.pi) * np.prod(Xs.shape[1:])

        def per_sample(xb):
            mu, logvar = module.encode(xb)
            rec, pen = net.loss_terms((module.decode(mu), mu, logvar, mu), xb)
            return -(rec + net.kl_weight * pen)

        scores = batched_apply(per_sample, Xs, batch_size=self._infer_batch(), device=net.device)
        return scores - const

    def score(self, X, y=None, *, psf_fwhm=None):
        """Mean of :meth:`score_samples` (higher is better)."""
        return float(np.mean(self.score_samples(X, psf_fwhm=psf_fwhm)))
