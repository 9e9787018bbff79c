"""ContrastiveDenoiser: shapes, units, determinism, persistence, errors, and that it learns."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from galaxy_learn import ContrastiveDenoiser
from galaxy_learn.datasets import make_galaxy_images

TINY = dict(base_channels=2, depth=2, embedding_dim=4, projection_dim=3, max_epochs=1,
            batch_size=16, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def gz_like():
    X, y, _ = make_galaxy_images(24, image_size=20, bands="gri", random_state=0)
    return X, y


@pytest.fixture(scope="module")
def fitted(gz_like):
    return ContrastiveDenoiser(**TINY).fit(gz_like[0])


def test_shapes_rgb_and_five_band_any_size():
    X3, _, _ = make_galaxy_images(12, image_size=19, bands="gri", random_state=1)
    X5, _, _ = make_galaxy_images(12, image_size=13, bands="ugriz", random_state=1)
    for X in (X3, 255 * np.clip(X3 / X3.max(), 0, 1).astype(np.uint8), X5):
        est = ContrastiveDenoiser(**TINY).fit(X)
        assert est.transform(X).shape == (12, 8)  # pooled bottleneck: base 2, depth 2
        assert est.denoise(X).shape == X.shape
        assert est.denoise(X).dtype == np.float32
    # single-band stacks and flattened rows come back in their own layout
    est = ContrastiveDenoiser(**TINY).fit(X5[:, 2])
    assert est.denoise(X5[:, 2]).shape == (12, 13, 13)
    flat = X5.reshape(12, -1)
    est = ContrastiveDenoiser(**TINY, image_shape=(5, 13, 13)).fit(flat)
    assert est.denoise(flat).shape == flat.shape
    assert est.input_shape_ == (5, 13, 13)


def test_deterministic_fit_and_transform(gz_like, fitted):
    X = gz_like[0]
    again = ContrastiveDenoiser(**TINY).fit(X)
    np.testing.assert_array_equal(fitted.transform(X), again.transform(X))
    np.testing.assert_array_equal(fitted.transform(X), fitted.transform(X))
    np.testing.assert_allclose(ContrastiveDenoiser(**TINY).fit_transform(X),
                               fitted.transform(X), rtol=1e-6, atol=1e-6)
    # batch composition changes float32 convolutions in the last bits only
    np.testing.assert_allclose(fitted.transform(X[3:4]), fitted.transform(X)[3:4], rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(fitted.denoise(X[::-1])[::-1], fitted.denoise(X), rtol=1e-4,
                               atol=1e-4 * np.abs(X).max())
    other = ContrastiveDenoiser(**{**TINY, "random_state": 1}).fit(X)
    assert not np.allclose(other.transform(X), fitted.transform(X))


def test_pickle_round_trip(gz_like, fitted):
    X = gz_like[0]
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(clone.denoise(X), fitted.denoise(X))
    assert "augment_generator_" not in clone.net_.__dict__


def test_denoise_is_in_the_input_units(gz_like):
    """Scaling is internal: an affine change of units gives the same fit, in the new units."""
    X = gz_like[0]
    a = ContrastiveDenoiser(**TINY).fit(X)
    b = ContrastiveDenoiser(**TINY).fit(1000.0 * X + 50.0)
    np.testing.assert_allclose(b.denoise(1000.0 * X + 50.0), 1000.0 * a.denoise(X) + 50.0,
                               rtol=1e-3, atol=0.5)
    np.testing.assert_allclose(b.transform(1000.0 * X + 50.0), a.transform(X), rtol=1e-3,
                               atol=1e-3)


def test_history_records_every_loss_term(fitted):
    for key in ("train_loss", "ssim_loss", "tv_loss", "dark_loss", "contrastive_loss"):
        assert np.isfinite(fitted.history_[-1, key])


def test_errors(gz_like, fitted):
    X = gz_like[0]
    with pytest.raises(ValueError, match="band"):
        fitted.transform(X[:, :2])
    with pytest.raises(ValueError, match="size"):
        fitted.denoise(X[:, :, :16, :16])
    bad = X.copy()
    bad[0, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ContrastiveDenoiser(**TINY).fit(bad)
    with pytest.raises(ValueError, match="temperature"):
        ContrastiveDenoiser(**{**TINY, "temperature": 0.0}).fit(X)
    assert not np.shares_memory(fitted.denoise(X), X)


def test_learns_to_remove_background_noise():
    """A few epochs on noisy blobs: the background of the output is much quieter than the input."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16] - 7.5
    amp = rng.uniform(1, 3, size=(96, 1, 1, 1))
    width = rng.uniform(3, 8, size=(96, 1, 1, 1))
    clean = amp * np.exp(-(xx**2 + yy**2) / width)
    X = (clean + rng.normal(0, 0.05, size=clean.shape)).astype(np.float32)
    est = ContrastiveDenoiser(4, depth=2, embedding_dim=4, max_epochs=20, batch_size=16, lr=3e-3,
                              noise_sigma=0.2, noise_gain=None, device="cpu",
                              random_state=0).fit(X)
    noisy = (clean + rng.normal(0, 0.15, size=clean.shape)).astype(np.float32)
    out = est.denoise(noisy)
    bg = clean < 0.01
    assert np.std((out - clean)[bg]) < 0.5 * np.std((noisy - clean)[bg])
    assert est.history_[-1, "train_loss"] < est.history_[0, "train_loss"]


def test_train_step_views_and_global_rng_untouched(gz_like, fitted):
    import torch

    X = gz_like[0]
    state = torch.random.get_rng_state()
    ContrastiveDenoiser(**TINY).fit(X)
    assert torch.equal(state, torch.random.get_rng_state())
    clean = torch.as_tensor(fitted.scaler_.transform(X[:4]))
    c12, n12, m12 = fitted.net_.make_views(clean)
    assert c12.shape == (8,) + X.shape[1:] and n12.shape == c12.shape
    assert m12.shape == (8, 1) + X.shape[2:]
    assert set(torch.unique(m12).tolist()) <= {0.0, 1.0}
    assert not torch.equal(c12[:4], c12[4:])  # two different geometric views
    assert (n12 - c12).abs().mean() > 0  # noise added


def test_brightness_range_scales_each_view_within_range(gz_like, fitted):
    """Each view's flux is the clean flux times its own factor in [1/r, r]; r=1 leaves it."""
    import torch

    clean = torch.as_tensor(fitted.scaler_.transform(gz_like[0][:8])).clamp_min(0)
    # Sky-free blobs well inside the stamp: the geometric transforms keep their flux.
    yy, xx = torch.meshgrid(torch.arange(20.0), torch.arange(20.0), indexing="ij")
    blob = torch.exp(-((xx - 9.5) ** 2 + (yy - 9.5) ** 2) / 4.0)
    clean = (clean.amax(dim=(2, 3), keepdim=True) + 1.0) * blob
    net = fitted.net_
    ratios = {}
    for r in (1.0, 3.0):
        net.brightness_range = r
        net.augment_generator_ = None
        c12, _, _ = net.make_views(clean)
        ratios[r] = (c12.sum(dim=(1, 2, 3)) / clean.repeat(2, 1, 1, 1).sum(dim=(1, 2, 3))).numpy()
    net.brightness_range = fitted.brightness_range
    np.testing.assert_allclose(ratios[1.0], 1.0, atol=0.02)
    assert np.all((ratios[3.0] > 1 / 3 - 0.02) & (ratios[3.0] < 3 + 0.02))
    assert np.ptp(np.log(ratios[3.0])) > 0.5  # views really differ in brightness
    assert not np.allclose(ratios[3.0][:8], ratios[3.0][8:])  # each view its own factor


def test_brightness_range_validated(gz_like):
    with pytest.raises(ValueError, match="brightness_range"):
        ContrastiveDenoiser(**{**TINY, "brightness_range": 0.5}).fit(gz_like[0])


def test_embedding_options(gz_like, fitted):
    """multiscale = all encoder levels pooled, its last block = bottleneck; head = h."""
    X = gz_like[0]
    bottleneck = fitted
    multi = clone(fitted).set_params(embedding="multiscale").fit(X).transform(X)
    assert multi.shape == (len(X), 14)
    np.testing.assert_allclose(bottleneck.transform(X), multi[:, 6:], rtol=1e-5, atol=1e-6)
    head = clone(fitted).set_params(embedding="head").fit(X)
    assert head.transform(X).shape == (len(X), TINY["embedding_dim"])
    for est in (bottleneck, head):
        names = est.get_feature_names_out()
        assert len(names) == est.transform(X[:2]).shape[1]
    with pytest.raises(ValueError, match="embedding"):
        clone(fitted).set_params(embedding="projection").fit(X)



# --- flux and colour conservation (issue 17 item 12) ---------------------------------------------

def _border_mean(X, b):
    m = np.zeros(X.shape[-2:], bool)
    m[:b], m[-b:], m[:, :b], m[:, -b:] = True, True, True, True
    return X[..., m].mean(axis=-1)


def test_keep_low_frequencies_restores_flux_and_sky_of_a_bad_output():
    """The correction alone: a dimmed, blurred output with a coloured pedestal gets back the
    input's flux per band exactly and the input's sky, and flux in apertures >> scale."""
    import torch

    from galaxy_learn.denoising._contrastive_denoiser import _keep_low_frequencies

    X, _, _, C = make_galaxy_images(6, image_size=32, bands="gri", return_clean=True,
                                    random_state=3)
    signal = torch.as_tensor(X)
    bad = 0.6 * torch.as_tensor(C) + torch.tensor([0.5, -0.3, 0.8]).view(1, 3, 1, 1)
    out = _keep_low_frequencies(bad, signal, 2.0).numpy()
    np.testing.assert_allclose(out.sum(axis=(2, 3)), X.sum(axis=(2, 3)), rtol=1e-4,
                               atol=1e-3 * np.abs(X).sum(axis=(2, 3)).max())
    assert np.abs(_border_mean(out, 4) - _border_mean(X, 4)).max() < 0.1  # sky sigma is 1
    assert np.abs(bad.numpy().sum(axis=(2, 3)) / X.sum(axis=(2, 3)) - 1).max() > 0.2
    yy, xx = np.mgrid[:32, :32] - 15.5
    ap = np.hypot(yy, xx) <= 8
    np.testing.assert_allclose(out[..., ap].sum(-1), X[..., ap].sum(-1), rtol=0.05)


@pytest.fixture(scope="module")
def sky_fit():
    X, _, _ = make_galaxy_images(48, image_size=24, bands="gri", random_state=4)
    return ContrastiveDenoiser(**{**TINY, "max_epochs": 2}).fit(X)


@settings(max_examples=12, deadline=None)
@given(log_flux=st.floats(3.0, 5.0), seed=st.integers(0, 10_000),
       sky=st.tuples(*[st.floats(-20.0, 50.0)] * 3))
def test_denoise_conserves_flux_per_band_and_sky_colour(sky_fit, log_flux, seed, sky):
    """Whole stamp: the flux of every band within 5 % of the input's (exact up to float32
    rounding), over flux scales and coloured sky pedestals. The network is barely trained: this
    holds whatever it outputs. (The sky level at the stamp's edge is checked on the correction
    alone above: a barely trained network's high-frequency edge artefacts stay in the output.)"""
    X, _, _ = make_galaxy_images(4, image_size=24, bands="gri",
                                 flux_range=(10**log_flux, 2 * 10**log_flux), random_state=seed)
    X = X + np.asarray(sky, dtype=np.float32).reshape(1, 3, 1, 1)  # coloured sky pedestal
    out = sky_fit.denoise(X)
    sub_in = X - np.reshape(sky, (1, 3, 1, 1))
    sub_out = out - np.reshape(sky, (1, 3, 1, 1))
    np.testing.assert_allclose(sub_out.sum(axis=(2, 3)), sub_in.sum(axis=(2, 3)), rtol=0.05)
    # the whole-stamp mean, sky included, is the input's (a coloured pedestal stays as it was)
    np.testing.assert_allclose(out.mean(axis=(2, 3)), X.mean(axis=(2, 3)), rtol=1e-3, atol=1e-3)


def test_flux_scale_none_is_the_raw_network_and_is_validated(gz_like, sky_fit):
    X = make_galaxy_images(8, image_size=24, bands="gri", random_state=5)[0]
    raw = clone(sky_fit).set_params(flux_scale=None)
    raw.__dict__.update({k: v for k, v in sky_fit.__dict__.items() if k.endswith("_")})
    d_raw, d = raw.denoise(X), sky_fit.denoise(X)
    assert not np.allclose(d_raw, d)
    # the untrained-ish raw network does not keep the flux; the default does
    assert np.abs(d_raw.sum(axis=(2, 3)) / X.sum(axis=(2, 3)) - 1).max() > 0.05
    with pytest.raises(ValueError, match="flux_scale"):
        ContrastiveDenoiser(**{**TINY, "flux_scale": 0.0}).fit(gz_like[0])


def test_cosine_schedule_anneals_the_learning_rate(gz_like):
    est = ContrastiveDenoiser(**{**TINY, "max_epochs": 4, "lr_schedule": "cosine"}).fit(
        gz_like[0])
    lrs = [row["event_lr"] for row in est.history_]
    # lr * (1 + cos(pi k / 4)) / 2 during epoch k
    np.testing.assert_allclose(lrs, [2e-3 * (1 + np.cos(np.pi * k / 4)) / 2 for k in range(4)])
    const = ContrastiveDenoiser(**{**TINY, "max_epochs": 2}).fit(gz_like[0])
    assert "event_lr" not in const.history_[-1]
    assert const.net_.optimizer_.param_groups[0]["lr"] == 2e-3


def test_precision_bfloat16_trains_in_mixed_precision_and_infers_in_float32(gz_like):
    import torch

    from galaxy_learn.utils import training_dtype

    X = gz_like[0]
    bf = ContrastiveDenoiser(**TINY, precision="bfloat16").fit(X)
    assert bf.net_.autocast_dtype is torch.bfloat16
    assert all(p.dtype == torch.float32 for p in bf.net_.module_.parameters())
    Z = bf.transform(X)
    assert Z.dtype == np.float32 and np.isfinite(Z).all()
    np.testing.assert_array_equal(Z, bf.transform(X))  # inference is float32, deterministic
    np.testing.assert_array_equal(Z, ContrastiveDenoiser(**TINY, precision="bfloat16")
                                  .fit(X).transform(X))  # and so is a seeded fit
    fp = ContrastiveDenoiser(**TINY).fit(X)
    assert fp.net_.autocast_dtype is None
    assert not np.array_equal(Z, fp.transform(X))  # the bfloat16 forward pass did run
    auto = ContrastiveDenoiser(**TINY, precision="auto").fit(X)
    assert auto.net_.autocast_dtype is training_dtype("auto", "cpu")


def test_training_dtype():
    import torch

    from galaxy_learn.utils import training_dtype

    assert training_dtype("float32", "cpu") is None
    assert training_dtype("bfloat16", "cpu") is torch.bfloat16
    native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert training_dtype("auto", "cpu") is (torch.bfloat16 if native else None)
    with pytest.raises(ValueError, match="'precision' parameter"):
        training_dtype("half", "cpu")


@pytest.mark.parametrize("param", [{"lr_schedule": "linear"}, {"precision": "float16"}])
def test_schedule_and_precision_validated(gz_like, param):
    with pytest.raises(ValueError, match=next(iter(param))):
        ContrastiveDenoiser(**TINY, **param).fit(gz_like[0])
