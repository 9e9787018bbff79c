"""Losses of the contrastive denoiser: NT-Xent against an explicit reference, SSIM/TV/darkening."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_msssim import ssim

from galaxy_learn.losses import (
    DenoisingContrastiveLoss,
    background_darkening_loss,
    background_tv_loss,
    foreground_mask,
    foreground_ssim,
    foreground_ssim_loss,
    nt_xent_loss,
)


def _nt_xent_reference(z1, z2, t):
    """Explicit double loop over anchors: -log(exp(s_ip/t) / sum_{k != i} exp(s_ik/t))."""
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n2 = len(z)
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        pos = (i + n) % n2
        denom = sum(np.exp(z[i] @ z[k] / t) for k in range(n2) if k != i)
        total += -np.log(np.exp(z[i] @ z[pos] / t) / denom)
    return total / n2


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 5), t=st.floats(0.05, 2.0),
       seed=st.integers(0, 10_000))
def test_nt_xent_matches_explicit_reference(n, d, t, seed):
    rng = np.random.default_rng(seed)
    z1 = rng.normal(size=(n, d)) + 0.1
    z2 = rng.normal(size=(n, d)) + 0.1
    got = nt_xent_loss(torch.tensor(z1), torch.tensor(z2), temperature=t).item()
    assert got == pytest.approx(_nt_xent_reference(z1, z2, t), rel=1e-6, abs=1e-9)


def test_nt_xent_properties():
    rng = np.random.default_rng(0)
    z1 = torch.tensor(rng.normal(size=(8, 4)), dtype=torch.float64)
    z2 = torch.tensor(rng.normal(size=(8, 4)), dtype=torch.float64)
    loss = nt_xent_loss(z1, z2, 0.5)
    # symmetric in the two views and invariant to the scale of each projection
    assert nt_xent_loss(z2, z1, 0.5).item() == pytest.approx(loss.item())
    assert nt_xent_loss(3 * z1, 0.2 * z2, 0.5).item() == pytest.approx(loss.item())
    # all projections equal: every logit is 1/t, loss = log(2n - 1)
    same = torch.ones(8, 4, dtype=torch.float64)
    assert nt_xent_loss(same, same, 0.5).item() == pytest.approx(np.log(15))
    # perfectly aligned pairs, orthogonal between pairs: much lower than random
    eye = torch.eye(8, dtype=torch.float64)
    assert nt_xent_loss(eye, eye, 0.1).item() < 0.01 < loss.item()


def test_nt_xent_errors():
    with pytest.raises(ValueError, match="temperature"):
        nt_xent_loss(torch.ones(2, 2), torch.ones(2, 2), temperature=0)
    with pytest.raises(ValueError, match="shape"):
        nt_xent_loss(torch.ones(2, 2), torch.ones(3, 2))


def test_foreground_ssim_is_pytorch_msssim_on_masked_images():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 2, 24, 24, generator=g)
    y = x + 0.1 * torch.randn(3, 2, 24, 24, generator=g)
    mask = (torch.rand(3, 1, 24, 24, generator=g) > 0.3).float()
    got = foreground_ssim(y, x, mask, data_range=1.0)
    ref = torch.stack([ssim(y[i:i + 1] * mask[i], x[i:i + 1] * mask[i], data_range=1.0)
                       for i in range(3)])
    torch.testing.assert_close(got, ref)
    assert torch.allclose(foreground_ssim(x, x, mask), torch.ones(3))
    assert foreground_ssim_loss(x, x, mask).item() == pytest.approx(0.0, abs=1e-6)
    # outside the mask differences do not count
    z = x + (1 - mask) * 5.0
    assert torch.allclose(foreground_ssim(z, x, mask), torch.ones(3), atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 1, 1, 9), (2, 3, 5, 1), (2, 1, 3, 4)])
def test_foreground_ssim_tiny_images(shape):
    x = torch.rand(*shape)
    assert torch.allclose(foreground_ssim(x, x, torch.ones_like(x[:, :1])), torch.ones(2))
    assert (foreground_ssim(x + 0.3, x, torch.ones_like(x[:, :1])) < 1).all()


def test_background_tv_and_darkening_by_hand():
    pred = torch.tensor([[[[0.0, 1.0, 3.0], [0.0, 0.0, 0.0]]]])
    # full image: horizontal diffs 1,2,0,0 (mean 0.75); vertical 0,1,3 (mean 4/3)
    assert background_tv_loss(pred).item() == pytest.approx(0.75 + 4 / 3)
    mask = torch.tensor([[[[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]]])
    # pairs with both pixels in the background: horizontal (0,1),(0,0),(0,0) → 1/3;
    # vertical (0,0),(1,0) → 1/2
    assert background_tv_loss(pred, mask).item() == pytest.approx(1 / 3 + 1 / 2)
    assert background_darkening_loss(pred, mask).item() == pytest.approx(1 / 5)
    assert background_darkening_loss(pred, mask, sky_level=1.0).item() == pytest.approx(4 / 5)


def test_foreground_mask_covers_the_source():
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    blob = torch.exp(-((xx - 15.5) ** 2 + (yy - 15.5) ** 2) / 8.0)
    x = (blob + 0.01 * torch.randn(4, 2, 32, 32, generator=g))
    m = foreground_mask(x, threshold=3.0, floor=0.0, dilation=0)
    assert m.shape == (4, 1, 32, 32)
    assert m[:, 0, 14:18, 14:18].all()
    assert m[:, 0, :4, :4].sum() <= 2  # at most a stray 3-sigma pixel in the corner
    # a noiseless image: the MAD is 0 and the floor decides
    clean = blob.expand(1, 1, 32, 32)
    m0 = foreground_mask(clean, floor=0.1, dilation=0)
    assert torch.equal(m0.bool(), clean > 0.1)
    m1 = foreground_mask(clean, floor=0.1, dilation=1)
    assert m1.sum() > m0.sum()


def test_combined_loss_weights():
    g = torch.Generator().manual_seed(1)
    recon = torch.rand(4, 2, 16, 16, generator=g)
    target = torch.rand(4, 2, 16, 16, generator=g)
    mask = (target[:, :1] > 0.5).float()
    z = torch.randn(4, 3, generator=g)
    total, terms = DenoisingContrastiveLoss(1.0, 0.0, 0.0, 0.0)(recon, target, mask, z[:2], z[2:])
    assert total.item() == pytest.approx(terms["ssim_loss"].item())
    w = (0.5, 2.0, 3.0, 0.25)
    total, terms = DenoisingContrastiveLoss(*w)(recon, target, mask, z[:2], z[2:])
    expected = sum(wi * terms[k].item() for wi, k in
                   zip(w, ["ssim_loss", "tv_loss", "dark_loss", "contrastive_loss"]))
    assert total.item() == pytest.approx(expected, rel=1e-6)


def test_flux_conservation_loss_against_explicit_sums():
    from galaxy_learn.losses import flux_conservation_loss

    rng = np.random.default_rng(0)
    target = torch.tensor(rng.normal(1.0, 1.0, size=(3, 2, 5, 6)))
    pred = torch.tensor(rng.normal(1.0, 1.0, size=(3, 2, 5, 6)))
    t, p = target.numpy(), pred.numpy()
    ref = np.mean(np.abs((p - t).sum(axis=(2, 3))) / np.abs(t).sum(axis=(2, 3)))
    assert flux_conservation_loss(pred, target).item() == pytest.approx(ref, rel=1e-12)
    # moving light around inside a band costs nothing; changing a band's flux does
    assert flux_conservation_loss(target.flip(-1), target).item() == pytest.approx(0, abs=1e-12)
    assert flux_conservation_loss(1.1 * target, target).item() > 0.01
