"""Losses of the denoising autoencoder (pure torch): foreground SSIM, background TV + darkening.

A binary foreground mask ``M`` (1 on the galaxy) splits each image. The foreground is scored with
SSIM (the maintained implementation of ``pytorch-msssim``) between the masked images
``pred * M`` and ``target * M``; the background ``1 - M`` is pushed to be flat (total variation)
and dark (squared deviation from the sky level, the "darkening" term), which is what lets the
network remove noise that the training targets themselves contain in their background.
"""
import torch

__all__ = [
    "foreground_ssim",
    "foreground_ssim_loss",
    "background_tv_loss",
    "background_darkening_loss",
    "ssim_window_size",
    "foreground_mask",
    "foreground_l1_loss",
    "flux_conservation_loss",
    "DenoisingContrastiveLoss",
]


def _import_ssim():
    try:
        from pytorch_msssim import ssim
    except ImportError as exc:  # pragma: no cover - optional dependency
        msg = (
            "The SSIM losses need pytorch-msssim: pip install pytorch-msssim "
            "(or pip install 'galaxy_learn[ssim]')."
        )
        raise ImportError(msg) from exc
    return ssim


def ssim_window_size(height, width, max_size=11):
    """Largest odd Gaussian window not larger than ``max_size`` nor the image."""
    size = min(int(max_size), int(height), int(width))
    return max(1, size if size % 2 == 1 else size - 1)


def foreground_ssim(pred, target, mask, *, data_range=None, win_size=11):
    """Per-image SSIM of the foreground: ``SSIM(pred * mask, target * mask)``.

    Parameters
    ----------
    pred, target : Tensor of shape (n, C, H, W)
    mask : Tensor of shape (n, 1 or C, H, W)
        Foreground mask (1 on the galaxy, 0 on the background).
    data_range : float or Tensor of shape (n,), default=None
        Dynamic range of the images; ``None`` uses each target's ``max - min``.
    win_size : int, default=11
        Gaussian window, shrunk to fit small images.

    Returns
    -------
    ssim : Tensor of shape (n,)
        Mean over bands of the SSIM of each image (1 = identical).
    """
    ssim = _import_ssim()
    mask = mask.to(pred.dtype)
    t = target * mask
    p = pred * mask
    if data_range is None:
        flat = target.detach().flatten(1)
        data_range = (flat.amax(dim=1) - flat.amin(dim=1)).clamp_min(1e-6)
    data_range = torch.as_tensor(data_range, dtype=pred.dtype, device=pred.device)
    if data_range.ndim == 1:
        data_range = data_range.view(-1, 1, 1, 1)
    # pytorch-msssim squeezes spatial dims of size 1; duplicating such a row/column leaves the
    # SSIM (whose window is then 1 along that axis) unchanged.
    reps = [1, 1, 2 if p.shape[-2] == 1 else 1, 2 if p.shape[-1] == 1 else 1]
    p, t = p.repeat(*reps), t.repeat(*reps)
    win = ssim_window_size(pred.shape[-2], pred.shape[-1], win_size)
    # size_average=False: one value per image, already averaged over bands.
    return ssim(p, t, data_range=data_range, size_average=False, win_size=win)


def foreground_ssim_loss(pred, target, mask, *, data_range=None, win_size=11):
    """``1 - foreground_ssim``, averaged over the batch."""
    return 1.0 - foreground_ssim(pred, target, mask, data_range=data_range,
                                 win_size=win_size).mean()


def _masked_mean(values, weight):
    return (values * weight).sum() / weight.sum().clamp_min(1.0)


def background_tv_loss(pred, mask=None):
    """Anisotropic total variation (mean absolute neighbour difference) over the background.

    A pixel pair counts when both pixels are background (``mask == 0``); ``mask=None`` means the
    whole image.
    """
    dh = (pred[..., 1:, :] - pred[..., :-1, :]).abs()
    dw = (pred[..., :, 1:] - pred[..., :, :-1]).abs()
    bg = torch.ones_like(pred[:, :1]) if mask is None else 1.0 - mask.to(pred.dtype)
    wh = (bg[..., 1:, :] * bg[..., :-1, :]).expand_as(dh)
    ww = (bg[..., :, 1:] * bg[..., :, :-1]).expand_as(dw)
    return _masked_mean(dh, wh) + _masked_mean(dw, ww)


def foreground_l1_loss(pred, target, mask):
    """Mean absolute error over the foreground pixels (``mask == 1``)."""
    err = (pred - target).abs()
    return _masked_mean(err, mask.to(pred.dtype).expand_as(err))


def flux_conservation_loss(pred, target):
    """Relative error of the integrated flux per image and band, averaged.

    ``mean over (n, C) of |sum(pred - target)| / sum(|target|)``, the sums over the pixels of
    each band: zero when every band of every reconstruction has the target's integrated flux,
    whatever the distribution of the light; the SSIM, L1 and darkening terms alone leave the
    flux free (faint wings below the mask are darkened away, the foreground level drifts).
    ``ContrastiveDenoiser`` records it in its history (weight 0): as a training term it did not
    make the network conserve flux (see the user guide's denoising page); its ``flux_scale``
    does that at inference.
    """
    diff = (pred - target).sum(dim=(-2, -1)).abs()
    norm = target.abs().sum(dim=(-2, -1)).clamp_min(1e-6)
    return (diff / norm).mean()


def background_darkening_loss(pred, mask=None, sky_level=0.0):
    """Mean squared deviation of background pixels from the sky level (the "darkening" term)."""
    sq = (pred - sky_level) ** 2
    if mask is None:
        return sq.mean()
    bg = (1.0 - mask.to(pred.dtype)).expand_as(sq)
    return _masked_mean(sq, bg)


def foreground_mask(clean, *, threshold=3.0, floor=0.02, dilation=1):
    """Binary foreground mask of clean images, shape (n, 1, H, W).

    On the band-mean image ``s`` of each (sky-subtracted, scaled) clean image, a pixel is
    foreground when ``s > median(s) + threshold * 1.4826 * MAD(s)`` (a robust k-sigma cut over
    the image's own background noise) **and** ``s > floor`` (so that noiseless images, whose MAD
    is zero, do not count their faint wings down to numerical zero). The mask is then dilated by
    ``dilation`` pixels (3x3 max pooling) to include the galaxy's edge. Computed batched, without
    gradients.
    """
    with torch.no_grad():
        s = clean.mean(dim=1, keepdim=True)
        flat = s.flatten(1)
        med = flat.median(dim=1).values.view(-1, 1, 1, 1)
        mad = (flat - med.view(-1, 1)).abs().median(dim=1).values.view(-1, 1, 1, 1)
        mask = (s > med + threshold * 1.4826 * mad) & (s > floor)
        mask = mask.to(clean.dtype)
        for _ in range(int(dilation)):
            mask = torch.nn.functional.max_pool2d(mask, 3, stride=1, padding=1)
    return mask


class DenoisingContrastiveLoss(torch.nn.Module):
    """Weighted sum of the denoising and contrastive terms (a skorch ``criterion``).

    ``total = ssim_weight * (1 - SSIM_fg) + l1_weight * L1_fg + tv_weight * TV_bg
    + dark_weight * dark_bg + contrastive_weight * NT-Xent + flux_weight * flux``, each
    reconstruction term averaged over the two views; ``flux`` is
    :func:`flux_conservation_loss`, the relative error of the integrated flux per band.
    ``L1_fg`` is the mean absolute error over the foreground: SSIM alone constrains absolute
    levels weakly and converges slowly; mixing it with L1 is the combination Zhao et al. (2017, IEEE TCI 3, 47) found best for image restoration.

    Parameters
    ----------
    ssim_weight, tv_weight, dark_weight, contrastive_weight, l1_weight, flux_weight : float
        Weights of the terms.
    temperature : float, default=0.5
        NT-Xent temperature.
    sky_level : float, default=0.0
        Background level the darkening term pulls towards (0 for sky-subtracted scaled images).
    """

    def __init__(self, ssim_weight=1.0, tv_weight=0.1, dark_weight=1.0, contrastive_weight=0.1,
                 temperature=0.5, sky_level=0.0, l1_weight=0.0, flux_weight=0.0):
        super().__init__()
        self.flux_weight = flux_weight
        self.l1_weight = l1_weight
        self.ssim_weight = ssim_weight
        self.tv_weight = tv_weight
        self.dark_weight = dark_weight
        self.contrastive_weight = contrastive_weight
        self.temperature = temperature
        self.sky_level = sky_level

    def forward(self, recon, target, mask, z1, z2):
        """``recon``, ``target``: (2n, C, H, W) both views stacked; ``mask``: (2n, 1, H, W)."""
        from ._contrastive import nt_xent_loss

        terms = {
            "ssim_loss": foreground_ssim_loss(recon, target, mask),
            "tv_loss": background_tv_loss(recon, mask),
            "dark_loss": background_darkening_loss(recon, mask, self.sky_level),
            "contrastive_loss": nt_xent_loss(z1, z2, self.temperature),
            "l1_loss": foreground_l1_loss(recon, target, mask),
            "flux_loss": flux_conservation_loss(recon, target),
        }
        total = (
            self.ssim_weight * terms["ssim_loss"]
            + self.tv_weight * terms["tv_loss"]
            + self.dark_weight * terms["dark_loss"]
            + self.contrastive_weight * terms["contrastive_loss"]
            + self.l1_weight * terms["l1_loss"]
            + self.flux_weight * terms["flux_loss"]
        )
        return total, terms
