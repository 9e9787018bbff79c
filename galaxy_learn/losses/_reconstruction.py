"""Reconstruction terms of the autoencoders, per sample (summed over pixels / features)."""
import math

import torch
import torch.nn.functional as F

__all__ = ["reconstruction_loss"]


def reconstruction_loss(x_hat, x, kind="gaussian"):
    """Per-sample reconstruction negative log-likelihood, summed over all non-batch dimensions.

    Parameters
    ----------
    x_hat : Tensor
        Decoder output (for ``"bce"``: logits, the sigmoid is applied here in a stable way).
    x : Tensor
        Target of the same shape.
    kind : {"gaussian", "bce"}
        ``"gaussian"``: ½‖x − x̂‖² (unit-variance Gaussian, constant ½ log 2π per pixel dropped);
        ``"bce"``: binary cross-entropy for data in [0, 1] (the loss of Sun 2017, project
        notebook, §1.1.1).

    Returns
    -------
    Tensor of shape (n,)
    """
    if kind == "gaussian":
        per = 0.5 * (x_hat - x) ** 2
    elif kind == "bce":
        per = F.binary_cross_entropy_with_logits(x_hat, x, reduction="none")
    else:
        msg = f"reconstruction kind must be 'gaussian' or 'bce'. Got {kind!r}."
        raise ValueError(msg)
    return per.reshape(per.shape[0], -1).sum(-1)


GAUSSIAN_LOG_NORM = 0.5 * math.log(2 * math.pi)
