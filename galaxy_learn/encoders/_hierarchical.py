"""The hierarchical design of Sun et al. (2017): a VAE on the codes of a frozen autoencoder."""
from ._vae import VAEEncoder

__all__ = ["make_hierarchical_vae"]


def make_hierarchical_vae(n_ae_latent=32, n_latent=2, *, ae_params=None, vae_params=None,
                          random_state=None):
    """The hierarchical design of Sun et al. (2017): a VAE on the features of a frozen autoencoder.

    Returns a :class:`~sklearn.pipeline.Pipeline` ``[("ae", VAEEncoder(prior="none",
    n_latent=n_ae_latent, n_ensemble=1)), ("vae", VAEEncoder(n_latent=n_latent))]``. In a
    pipeline the AE is fitted first and then only used to transform (frozen) while the VAE — a
    dense network on the AE's codes, z-scored — is trained. The AE is a single network (its
    32 features are the VAE's input, not a manifold learner's); the VAE on top keeps the
    default ensemble.

    Parameters
    ----------
    n_ae_latent : int, default=32
        Code size of the convolutional AE.
    n_latent : int, default=2
        Latent size of the VAE on top.
    ae_params, vae_params : dict, default=None
        Extra parameters of each stage (e.g. ``{"prior": "dkl", "n_prior_latent": 1}``).
    random_state : int or None, default=None

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline

    References
    ----------
    H. Sun, E. J. Kim, S. Li and R. J. Brunner, "Unsupervised star-galaxy segmentation and
    classification", summary report, LCDM, University of Illinois at Urbana-Champaign (2017),
    "A hierarchical design" (AE + VAE).
    """
    from sklearn.pipeline import Pipeline

    ae = VAEEncoder(n_latent=n_ae_latent, prior="none", n_ensemble=1, random_state=random_state)
    vae = VAEEncoder(n_latent=n_latent, random_state=random_state)
    ae.set_params(**(ae_params or {}))
    vae.set_params(**(vae_params or {}))
    return Pipeline([("ae", ae), ("vae", vae)])
