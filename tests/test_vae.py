"""VAEEncoder, VAEModule and VAENet: invariants, determinism, persistence, errors."""
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.manifold import Isomap
from sklearn.pipeline import Pipeline

from galaxy_learn import VAEEncoder
from galaxy_learn.encoders import make_hierarchical_vae
from galaxy_learn.nets import TrainingDivergedError
from galaxy_learn.nn import VAEModule, conv_sizes
from galaxy_learn.preprocessing import ImageScaler

# one member (n_ensemble=1): most tests are about the VAE itself; the ensemble has its own tests
# psf_statistic=None: the codes alone (the joined physical column has tests of its own)
TINY = dict(psf_statistic=None, max_epochs=2, batch_size=8, channels=(4, 8), hidden_units=16,
            random_state=0, n_ensemble=1)
ENSEMBLE = {**TINY, "n_ensemble": 3}


@pytest.fixture
def images(rng):
    """24 two-band 20x20 cutouts: point-like and extended blobs of varied flux, plus noise."""
    yy, xx = np.mgrid[:20, :20] - 9.5
    r2 = xx**2 + yy**2
    width = np.where(np.arange(24) % 2 == 0, 1.5, 6.0)[:, None, None, None]
    flux = rng.uniform(5, 200, size=(24, 1, 1, 1))
    X = flux * np.exp(-r2 / width) + rng.normal(0, 0.5, size=(24, 2, 20, 20))
    return X.astype(np.float32)


@pytest.mark.parametrize("shape", [(5, 64, 64), (3, 33, 17), (1, 7, 9), (2, 1, 1), (11,)])
def test_module_any_shape_roundtrip(shape):
    module = VAEModule(shape, n_latent=3, channels=(4, 8, 8), hidden_units=8)
    x = torch.randn(4, *shape)
    x_hat, mu, logvar, z = module(x)
    assert x_hat.shape == x.shape
    assert mu.shape == logvar.shape == z.shape == (4, 3)
    module.eval()
    assert torch.equal(module(x)[3], module(x)[1])  # eval: z = mu


def test_conv_sizes_ceil():
    assert conv_sizes(33, 17, 3) == [(33, 17), (17, 9), (9, 5), (5, 3)]


def test_fit_transform_basics(images):
    enc = VAEEncoder(**TINY)
    Z = enc.fit_transform(images)
    assert Z.shape == (24, 2) and Z.dtype == np.float32
    assert enc.n_features_in_ == 2 * 20 * 20
    assert enc.input_shape_ == (2, 20, 20)
    np.testing.assert_array_equal(enc.transform(images), enc.transform(images))
    np.testing.assert_allclose(enc.transform(images), Z, atol=1e-6)
    assert list(enc.get_feature_names_out()) == ["vaeencoder0", "vaeencoder1"]
    assert len(enc.history_) == 2
    # default scaling: per-cutout peak normalisation, no crop below 32 pixels
    assert isinstance(enc.scaler_, ImageScaler) and enc.scaler_.method == "peak_asinh"
    assert enc.scaler_.per_band and enc.scaler_.crop is None


def test_same_seed_same_fit_and_pickle(images):
    a = VAEEncoder(**TINY).fit(images)
    b = VAEEncoder(**TINY).fit(images)
    np.testing.assert_array_equal(a.transform(images), b.transform(images))
    c = VAEEncoder(**{**TINY, "random_state": 1}).fit(images)
    assert not np.allclose(a.transform(images), c.transform(images))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.transform(images), a.transform(images))
    np.testing.assert_array_equal(restored.score_samples(images), a.score_samples(images))
    assert clone(a).get_params() == a.get_params()
    assert not hasattr(clone(a), "net_")
    # the caller's global torch RNG is untouched by a seeded fit
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    VAEEncoder(**TINY).fit(images)
    assert torch.equal(torch.rand(1), expected)


@pytest.mark.parametrize("prior", ["normal", "dkl", "dkl_seed", "scaling", "aw", "pw", "none"])
def test_every_prior_trains(images, prior):
    enc = VAEEncoder(prior=prior, n_latent=3, n_prior_latent=1, **TINY).fit(images)
    Z = enc.transform(images)
    assert np.isfinite(Z).all()
    if prior == "aw":
        assert np.abs(Z[:, 0]).max() <= enc.m
    X_new, Z_new = enc.sample(5, random_state=0)
    assert X_new.shape == (5, 2, 20, 20) and Z_new.shape == (5, 3)
    assert enc.inverse_transform(Z).shape == (24, 2, 20, 20)
    assert np.isfinite(enc.score_samples(images)).all()


def test_score_is_mean_score_samples_and_elbo_parts(images):
    enc = VAEEncoder(prior="normal", scaling=None, kl_weight=1.0, **TINY).fit(images)
    s = enc.score_samples(images)
    assert enc.score(images) == pytest.approx(s.mean(), rel=1e-6)
    # reference: -(Gaussian NLL at z=mu incl. constant + KL), recomputed by hand
    module = enc.net_.module_.eval()
    with torch.no_grad():
        x = torch.as_tensor(images)
        mu, logvar = module.encode(x)
        x_hat = module.decode(mu)
        nll = (0.5 * (x_hat - x) ** 2 + 0.5 * np.log(2 * np.pi)).flatten(1).sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
    np.testing.assert_allclose(s, -(nll + kl).numpy(), rtol=1e-5)


def test_user_prior_and_kl_weight(images):
    class Quadratic:
        stochastic = True

        def kl(self, mu, logvar):
            return (mu**2).sum(-1)

        def mean_activation(self, raw):
            return raw

    enc = VAEEncoder(prior=Quadratic(), kl_weight=0.5, **TINY).fit(images)
    assert np.isfinite(enc.transform(images)).all()
    assert enc.net_.kl_weight == 0.5


def test_tabular_and_flattened_input(images):
    X2 = images.reshape(24, -1)
    enc = VAEEncoder(image_shape=(2, 20, 20), **TINY).fit(X2)
    assert enc.input_shape_ == (2, 20, 20)
    np.testing.assert_array_equal(
        enc.transform(X2), VAEEncoder(**TINY).fit(images).transform(images)
    )
    assert enc.inverse_transform(enc.transform(X2)).shape == (24, 800)
    tab = VAEEncoder(**TINY).fit(np.random.default_rng(0).normal(size=(30, 6)))
    assert tab.transform(np.zeros((3, 6))).shape == (3, 2)


def test_set_output_pandas_and_pipeline_with_isomap(images):
    pd = pytest.importorskip("pandas")
    enc = VAEEncoder(**TINY).set_output(transform="pandas")
    out = enc.fit_transform(images)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["vaeencoder0", "vaeencoder1"]
    pipe = Pipeline([("vae", VAEEncoder(**TINY)), ("iso", Isomap(n_neighbors=12, n_components=1))])
    assert pipe.fit_transform(images).shape == (24, 1)


def test_partial_fit_and_warm_start(images):
    enc = VAEEncoder(**TINY)
    enc.partial_fit(images)
    assert len(enc.history_) == 1
    enc.partial_fit(images)
    assert len(enc.history_) == 2
    warm = VAEEncoder(warm_start=True, **TINY).fit(images)
    first = warm.transform(images)
    warm.fit(images)
    assert len(warm.history_) == 4
    assert not np.array_equal(first, warm.transform(images))
    with pytest.raises(ValueError, match="band"):
        enc.partial_fit(images[:, :1])


def test_validation_fraction_and_callbacks(images):
    from skorch.callbacks import EarlyStopping

    enc = VAEEncoder(
        validation_fraction=0.25, callbacks=[EarlyStopping(patience=1)], **{**TINY, "max_epochs": 3}
    ).fit(images)
    assert "valid_loss" in enc.history_[-1]
    with pytest.raises(ValueError, match="validation_fraction"):
        VAEEncoder(validation_fraction=0.01, **TINY).fit(images[:4])


def test_verbose_progress_bar(images, capsys):
    VAEEncoder(verbose=1, **{**TINY, "max_epochs": 1}).fit(images)
    out = capsys.readouterr()
    assert "train_loss" in out.out + out.err


def test_hierarchical_pipeline(images):
    pipe = make_hierarchical_vae(
        n_ae_latent=6, n_latent=2, ae_params=TINY, vae_params={**TINY, "n_prior_latent": 1}
    )
    Z = pipe.fit_transform(images)
    assert Z.shape == (24, 2)
    assert pipe.named_steps["ae"].prior == "none"
    assert pipe.named_steps["vae"].input_shape_ == (6,)
    default = make_hierarchical_vae()
    assert default.named_steps["ae"].n_ensemble == 1 and default.named_steps["vae"].n_ensemble == 3


def test_nan_input_errors_and_fill(images):
    bad = images.copy()
    bad[0, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        VAEEncoder(**TINY).fit(bad)
    enc = VAEEncoder(**TINY).fit(images)
    with pytest.raises(ValueError, match="NaN"):
        enc.transform(bad)
    filled = VAEEncoder(scaling=ImageScaler("peak", nan_policy="fill"), **TINY).fit(bad)
    assert np.isfinite(filled.transform(bad)).all()


def test_shape_errors(images):
    enc = VAEEncoder(**TINY).fit(images)
    with pytest.raises(ValueError, match="band"):
        enc.transform(images[:, :1])
    with pytest.raises(ValueError, match="size 10x10"):
        enc.transform(images[:, :, :10, :10])
    with pytest.raises(ValueError, match="dimension"):
        enc.transform(images[None])
    with pytest.raises(ValueError, match="image_shape"):
        VAEEncoder(image_shape=(3, 20, 20), **TINY).fit(images.reshape(24, -1))
    with pytest.raises(ValueError, match="at least 2"):
        VAEEncoder(**TINY).fit(images[:1])
    with pytest.raises(ValueError, match="n_prior_latent"):
        VAEEncoder(n_prior_latent=3, **TINY).fit(images)
    with pytest.raises(ValueError, match="codes of shape"):
        enc.inverse_transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="'prior' parameter"):
        VAEEncoder(prior="laplace", **TINY).fit(images)


def test_diverging_loss_is_a_clear_error(images):
    with pytest.raises(TrainingDivergedError, match="diverged"):
        VAEEncoder(scaling=None, lr=1e12, optimizer="sgd", **TINY).fit(images * 1e3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(images, tmp_path):  # pragma: no cover - GPU only
    """A VAE fitted on CUDA encodes on the CPU (the same weights, mapped there) as on CUDA."""
    from galaxy_learn.persistence import load, save

    enc = VAEEncoder(device="cuda", **TINY).fit(images)
    assert str(enc.net_.device).startswith("cuda")
    assert all(p.is_cuda for p in enc.net_.module_.parameters())
    Z_cuda = enc.transform(images)
    assert Z_cuda.shape == (24, 2) and np.isfinite(Z_cuda).all()
    cpu = load(save(enc, tmp_path / "vae.glm"), allow_pickle=True, device="cpu")
    assert cpu.device == "cpu" and not any(p.is_cuda for p in cpu.net_.module_.parameters())
    # float32 convolutions on two devices: equal to rounding (TF32 off for convolutions by
    # default in torch; 1e-4 leaves room for cuDNN's summation order).
    np.testing.assert_allclose(cpu.transform(images), Z_cuda, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cpu.score_samples(images), enc.score_samples(images),
                               rtol=1e-4, atol=1e-3)


# ----------------------------------------------------------------------------- dimming
def test_dimmed_copies_keep_the_sky_noise_and_scale_the_signal():
    from galaxy_learn.encoders._vae_inputs import _dimmed

    rng = np.random.default_rng(0)
    sigma = np.array([1.0, 3.0], dtype=np.float32)
    signal = np.zeros((4000, 2, 8, 8), dtype=np.float32)
    signal[:, :, 4, 4] = 100.0
    X = signal + rng.normal(size=signal.shape).astype(np.float32) * sigma[None, :, None, None]
    out = _dimmed(X, sigma, 2.5, np.random.default_rng(1))
    a = out[:, 0, 4, 4] / 100.0  # the peak scales by a in [10^-1, 1] (plus noise)
    assert 0.05 < a.min() and a.max() < 1.05  # a in [0.1, 1] plus noise of 0.01-0.03
    assert np.median(a) == pytest.approx(10 ** (-0.4 * 1.25), abs=0.03)
    sky = out[:, :, :2, :].transpose(1, 0, 2, 3).reshape(2, -1)
    np.testing.assert_allclose(sky.std(axis=1), sigma, rtol=0.02)  # noise topped up to sigma
    assert out.dtype == np.float32 and not np.shares_memory(out, X)


def test_dimmed_window_dims_the_crop_and_copies_the_rest():
    """With the crop a scaling keeps, only those pixels are dimmed (the same distribution as a
    whole-stamp dimming there); the others are copied, and the input is untouched."""
    from galaxy_learn.encoders._vae_inputs import _dimmed
    from galaxy_learn.utils import central_crop_slices

    rng = np.random.default_rng(0)
    sigma = np.array([1.0, 3.0], dtype=np.float32)
    X = (rng.normal(size=(3000, 2, 12, 12)) * sigma[None, :, None, None]).astype(np.float32)
    X[:, :, 6, 6] += 100.0
    X0 = X.copy()
    window = central_crop_slices(12, 12, 6)
    out = _dimmed(X, sigma, 2.5, np.random.default_rng(1), window=window)
    np.testing.assert_array_equal(X, X0)
    inside = np.zeros((12, 12), dtype=bool)
    inside[window] = True
    np.testing.assert_array_equal(out[:, :, ~inside], X[:, :, ~inside])
    full = _dimmed(X, sigma, 2.5, np.random.default_rng(2))
    for band in range(2):  # crop pixels: same peak scaling and sky noise as whole-stamp dimming
        assert np.median(out[:, band, 6, 6]) == pytest.approx(np.median(full[:, band, 6, 6]),
                                                              rel=0.05)
        np.testing.assert_allclose(out[:, band, 3:5, 3:9].std(), sigma[band], rtol=0.03)


def test_default_scaling_dims_only_the_central_crop():
    from galaxy_learn.datasets import make_star_galaxy_cutouts

    X, _, _ = make_star_galaxy_cutouts(40, image_size=40, random_state=0)
    enc = VAEEncoder(n_ensemble=1, max_epochs=1, channels=(4, 8), hidden_units=8,
                     psf_statistic=None, random_state=0).fit(X)
    assert enc.scaler_.crop == 32
    assert enc._dimming_window(X, None) == (slice(4, 36), slice(4, 36))
    assert enc._dimming_window(X, np.full(len(X), 1.4)) is None  # resampled after dimming


def test_dimming_trains_on_dimmed_inputs_and_is_deterministic(images):
    X = images
    X0 = X.copy()
    params = dict(channels=(4, 8), hidden_units=8, max_epochs=2, batch_size=16, device="cpu",
                  random_state=0)
    a = VAEEncoder(dimming=2.0, **params).fit(X)
    b = VAEEncoder(dimming=2.0, **params).fit(X)
    c = VAEEncoder(dimming=0.0, **params).fit(X)
    np.testing.assert_array_equal(X, X0)  # the user's images are not modified
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.allclose(a.transform(X), c.transform(X))
    assert a.sky_sigma_.shape == (X.shape[1],) and np.all(a.sky_sigma_ > 0)
    # training history is the reconstruction of the originals from the dimmed inputs
    assert np.isfinite(a.history_[-1, "train_loss"])


def test_dimming_is_ignored_for_tabular_input():
    X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    enc = VAEEncoder(dimming=2.0, max_epochs=1, batch_size=8, device="cpu", random_state=0)
    ref = VAEEncoder(dimming=0.0, max_epochs=1, batch_size=8, device="cpu", random_state=0)
    np.testing.assert_array_equal(enc.fit(X).transform(X), ref.fit(X).transform(X))
    assert enc.sky_sigma_ is None
    with pytest.raises(ValueError, match="dimming"):
        VAEEncoder(dimming=-1.0).fit(X)


# ---------------------------------------------------------------- PSF-aware fitting (psf_fwhm)
def test_psf_fwhm_fit_transform_and_errors(images, rng):
    fwhm = rng.uniform(2.5, 4.5, size=len(images))
    enc = VAEEncoder(**TINY).fit(images, psf_fwhm=fwhm)
    assert enc.psf_target_fwhm_ == pytest.approx(np.full(2, np.median(fwhm)))
    Z = enc.transform(images, psf_fwhm=fwhm)
    np.testing.assert_allclose(VAEEncoder(**TINY).fit_transform(images, psf_fwhm=fwhm), Z, atol=1e-6)
    # the codes are those of the resampled cutouts, not of the raw ones
    assert not np.allclose(Z, enc.transform(images, psf_fwhm=np.full(len(images), 3.5)), atol=1e-3)
    assert np.isfinite(enc.score(images, psf_fwhm=fwhm))
    with pytest.raises(ValueError, match="was fitted with psf_fwhm"):
        enc.transform(images)
    with pytest.raises(ValueError, match=r"psf_fwhm must have shape \(n_samples,\)"):
        enc.transform(images, psf_fwhm=fwhm[:3])
    with pytest.raises(ValueError, match="finite and positive"):
        enc.transform(images, psf_fwhm=-fwhm)
    plain = VAEEncoder(**TINY).fit(images)
    assert plain.psf_target_fwhm_ is None
    with pytest.raises(ValueError, match="was fitted without psf_fwhm"):
        plain.transform(images, psf_fwhm=fwhm)
    with pytest.raises(ValueError, match="needs image input"):
        VAEEncoder(**TINY).fit(images.reshape(len(images), -1), psf_fwhm=fwhm)


def test_psf_fwhm_dims_raw_cutouts_before_resampling(images, rng):
    """With dimming, the noise is added to the raw cutouts, then they are resampled: the same
    fit as resampling first is not expected, but one PSF width for every cutout (zoom 1) must
    give the fit without psf_fwhm."""
    enc = VAEEncoder(**TINY).fit(images, psf_fwhm=np.full(len(images), 3.0))
    ref = VAEEncoder(**TINY).fit(images)
    np.testing.assert_allclose(enc.transform(images, psf_fwhm=np.full(len(images), 3.0)),
                               ref.transform(images), atol=1e-3)


def test_psf_fwhm_routed_through_pipeline(images, rng):
    """sklearn metadata routing carries psf_fwhm to the encoder's fit and transform."""
    import sklearn

    from galaxy_learn import ThresholdClassifier

    fwhm = rng.uniform(2.5, 4.5, size=len(images))
    with sklearn.config_context(enable_metadata_routing=True):
        enc = VAEEncoder(**TINY).set_fit_request(psf_fwhm=True).set_transform_request(psf_fwhm=True)
        pipe = Pipeline([("vae", enc), ("iso", Isomap(n_components=1, n_neighbors=5)),
                         ("thr", ThresholdClassifier(class_prior=0.5))])
        pipe.fit(images, psf_fwhm=fwhm)
        pred = pipe.predict(images, psf_fwhm=fwhm)
        Z = pipe.named_steps["vae"].transform(images, psf_fwhm=fwhm)
    direct = VAEEncoder(**TINY).fit(images, psf_fwhm=fwhm)
    np.testing.assert_allclose(Z, direct.transform(images, psf_fwhm=fwhm), atol=1e-6)
    assert pred.shape == (len(images),)


def test_psf_fwhm_partial_fit_and_warm_start(images, rng):
    fwhm = rng.uniform(2.5, 4.5, size=len(images))
    enc = VAEEncoder(**TINY).partial_fit(images, psf_fwhm=fwhm)
    target = enc.psf_target_fwhm_.copy()
    enc.partial_fit(images, psf_fwhm=fwhm[::-1])  # the target width is fitted once
    np.testing.assert_array_equal(enc.psf_target_fwhm_, target)
    assert len(enc.history_) == 2
    with pytest.raises(ValueError, match="was fitted with psf_fwhm"):
        enc.partial_fit(images)
    warm = VAEEncoder(**TINY, warm_start=True).fit(images, psf_fwhm=fwhm)
    warm.fit(images, psf_fwhm=fwhm)
    assert len(warm.history_) == 2 * TINY["max_epochs"]
    with pytest.raises(ValueError, match="was fitted with psf_fwhm"):
        warm.fit(images)


# ---------------------------------------------------------------- n_ensemble (deep ensemble)
def test_ensemble_module_members_are_independent():
    """The net's loss is the mean of the members' own losses: each member's gradient is its own."""
    from galaxy_learn.losses import make_prior
    from galaxy_learn.nets import VAENet
    from galaxy_learn.nn import VAEEnsembleModule

    torch.manual_seed(0)
    prior = make_prior("dkl", m=1.0, s=0.5)
    module = VAEEnsembleModule((2, 12, 12), n_members=3, n_latent=2, prior=prior,
                               channels=(4, 8), hidden_units=8).eval()
    x = torch.randn(6, 2, 12, 12)
    x_hat, mu, logvar, z = module(x)
    assert x_hat.shape == (3, 6, 2, 12, 12) and mu.shape == logvar.shape == z.shape == (6, 6)
    # members differ (own initialisation) and each slice of the code is that member's
    assert not torch.allclose(mu[:, :2], mu[:, 2:4])
    torch.testing.assert_close(mu[:, 2:4], module.members[1].encode(x)[0])
    torch.testing.assert_close(module.decode_mean(mu),
                               torch.stack([m.decode_mean(mj) for m, mj in
                                            zip(module.members, module.split(mu))]).mean(0))
    net = VAENet(module, prior=prior, kl_weight=0.3, n_prior_latent=1).initialize()
    loss = net.get_loss(module(x), None, X=x)
    loss.backward()
    grads = [p.grad.clone() for p in module.members[1].parameters()]
    single = VAENet(module.members[1], prior=prior, kl_weight=0.3, n_prior_latent=1).initialize()
    module.zero_grad()
    (single.get_loss(module.members[1](x), None, X=x) / 3).backward()
    for g, p in zip(grads, module.members[1].parameters()):
        torch.testing.assert_close(g, p.grad)
    assert all(p.grad is None or not p.grad.abs().any() for p in module.members[0].parameters())


def test_ensemble_encoder_codes_decode_sample_and_determinism(images):
    from galaxy_learn.nn import VAEEnsembleModule

    enc = VAEEncoder(**ENSEMBLE)
    Z = enc.fit_transform(images)
    assert isinstance(enc.net_.module_, VAEEnsembleModule)
    assert Z.shape == (24, 6) and enc.latent_std_.shape == (6,)
    assert list(enc.get_feature_names_out()) == [f"vaeencoder{i}" for i in range(6)]
    np.testing.assert_allclose(enc.transform(images), Z, atol=1e-6)
    again = VAEEncoder(**ENSEMBLE).fit(images)
    np.testing.assert_array_equal(again.transform(images), enc.transform(images))
    restored = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(restored.transform(images), enc.transform(images))
    # inverse_transform: the mean of the members' decodings of their own slices
    members = enc.net_.module_.members
    with torch.no_grad():
        ref = np.mean([members[j].eval().decode_mean(torch.as_tensor(Z[:, 2 * j:2 * j + 2])).numpy()
                       for j in range(3)], axis=0)
    np.testing.assert_allclose(enc.inverse_transform(Z), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 6\)"):
        enc.inverse_transform(Z[:, :2])
    # sample: every image is one member's decoding of that member's slice of Z
    X_new, Z_new = enc.sample(7, random_state=0)
    assert X_new.shape == (7, 2, 20, 20) and Z_new.shape == (7, 6)
    with torch.no_grad():
        per_member = [members[j].decode_mean(torch.as_tensor(Z_new[:, 2 * j:2 * j + 2])).numpy()
                      for j in range(3)]
    for i in range(7):
        assert any(np.allclose(X_new[i], pm[i], rtol=1e-5, atol=1e-6) for pm in per_member)
    np.testing.assert_array_equal(enc.sample(7, random_state=0)[0], X_new)
    assert np.isfinite(enc.score_samples(images)).all()


def test_ensemble_members_are_independent_fits(images):
    """Member 0 is the n_ensemble=1 fit; member j the fit with its own spawned seed."""
    enc = VAEEncoder(**ENSEMBLE).fit(images)
    Z = enc.transform(images)
    seeds = enc._member_seeds(0)
    assert seeds[0] == 0 and len(set(seeds)) == 3 and all(0 <= v < 2**31 for v in seeds)
    for j, seed in enumerate(seeds):
        single = VAEEncoder(**{**TINY, "random_state": seed}).fit(images)
        np.testing.assert_array_equal(Z[:, 2 * j:2 * j + 2], single.transform(images))
    # the history holds the members' mean loss per epoch
    assert len(enc.history_) == TINY["max_epochs"]
    assert enc.history_[-1, "n_members"] == 3 and np.isfinite(enc.history_[-1, "train_loss"])
    # warm_start / partial_fit continue all members together
    enc.set_params(warm_start=True, max_epochs=1).fit(images)
    assert len(enc.history_) == TINY["max_epochs"] + 1
    assert not np.array_equal(enc.transform(images), Z)
    enc.partial_fit(images)
    assert len(enc.history_) == TINY["max_epochs"] + 2


def test_single_member_is_the_plain_vae_and_three_the_default(images):
    """n_ensemble=1 builds the plain VAEModule, the first member of the default 3-member fit."""
    from galaxy_learn.nn import VAEEnsembleModule

    a = VAEEncoder(**TINY).fit(images)
    assert type(a.net_.module_) is VAEModule
    params = {k: v for k, v in TINY.items() if k != "n_ensemble"}
    default = VAEEncoder(**params).fit(images)
    assert default.n_ensemble == 3 and isinstance(default.net_.module_, VAEEnsembleModule)
    np.testing.assert_array_equal(default.transform(images)[:, :2], a.transform(images))


def test_ensemble_tabular_input():
    X = np.random.default_rng(0).normal(size=(40, 6))
    enc = VAEEncoder(n_ensemble=2, max_epochs=2, batch_size=8, random_state=0).fit(X)
    assert enc.transform(X).shape == (40, 4)
    assert enc.inverse_transform(enc.transform(X)).shape == (40, 6)
    assert enc.sample(3, random_state=1)[0].shape == (3, 6)
