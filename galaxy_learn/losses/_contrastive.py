"""Contrastive loss (pure torch): NT-Xent of SimCLR (Chen et al. 2020)."""
import torch
from torch.nn import functional as F

__all__ = ["nt_xent_loss"]


def nt_xent_loss(z1, z2, temperature=0.5):
    """Normalised temperature-scaled cross-entropy between two views of a batch.

    Row ``i`` of ``z1`` and row ``i`` of ``z2`` are a positive pair; the other ``2n - 2``
    projections of the batch are the negatives of each anchor. With cosine similarities
    ``s_ij = z_i . z_j / (|z_i| |z_j|)`` over the ``2n`` stacked projections, the loss is the mean
    over the ``2n`` anchors of ``-log(exp(s_ip / t) / sum_{k != i} exp(s_ik / t))``.

    Parameters
    ----------
    z1, z2 : Tensor of shape (n, d)
        Projections of the two views.
    temperature : float, default=0.5
        Temperature ``t`` > 0.

    Returns
    -------
    loss : Tensor (scalar)
        Bounded below by 0 and equal to ``log(2n - 1)`` when all projections coincide.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        msg = f"z1 and z2 must both have shape (n, d); got {tuple(z1.shape)} and {tuple(z2.shape)}."
        raise ValueError(msg)
    if not temperature > 0:
        msg = f"The 'temperature' parameter must be > 0. Got {temperature!r}."
        raise ValueError(msg)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    logits = z @ z.T / temperature
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, target)
