"""Tests of the supervised CNNClassifier, its ConvNet module and the augmentation of its net."""
import pickle

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import FunctionTransformer

from galaxy_learn.classification import CNNClassifier
from galaxy_learn.nets import random_dihedral
from galaxy_learn.nn import ConvNet

FAST = dict(channels=(4, 8), dense_units=(16,), max_epochs=12, batch_size=8, lr=3e-3,
            random_state=0, device="cpu")


def _blobs(n=48, size=16, bands=2, seed=0, labels=("galaxy", "star")):
    """Point-like (narrow) vs extended (wide) Gaussian sources, off-centre by up to 1 pixel."""
    rng = np.random.default_rng(seed)
    y = np.array([labels[i % 2] for i in range(n)])
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    dx, dy = rng.uniform(-1, 1, (2, n, 1, 1))
    width = np.where(y == labels[1], 1.0, 2.5)[:, None, None]
    img = np.exp(-((xx - dx) ** 2 + (yy - dy) ** 2) / (2 * width**2))
    X = img[:, None] * rng.uniform(0.5, 2, (n, bands, 1, 1)) + rng.normal(0, 0.05, (n, bands, size, size))
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted():
    X, y = _blobs()
    return CNNClassifier(**FAST).fit(X, y), X, y


def test_convnet_shapes_any_size():
    for shape in [(5, 64, 64), (3, 17, 9), (1, 1, 6)]:
        net = ConvNet(shape, n_outputs=3, channels=(4, 8, 8), dense_units=(8, 8))
        assert net(torch.zeros(2, *shape)).shape == (2, 3)
        assert net.embed(torch.zeros(2, *shape)).shape == (2, 8)
    with pytest.raises(ValueError, match="channels=\\(\\)"):
        ConvNet((7,), channels=(4,))
    with pytest.raises(ValueError, match="'activation'"):
        ConvNet((1, 8, 8), activation="tanhh")


def test_random_dihedral_is_a_symmetry_and_seeded():
    X = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2 * 3, 1, 4, 4)
    out = random_dihedral(X, torch.Generator().manual_seed(1))
    again = random_dihedral(X, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)
    for x, o in zip(X, out):
        group = [torch.rot90(f, k, (-2, -1)) for f in (x, x.flip(-1)) for k in range(4)]
        assert any(torch.equal(o, g) for g in group)
    # all eight symmetries show up on enough draws, the input is untouched
    many = random_dihedral(X[:1].repeat(200, 1, 1, 1), torch.Generator().manual_seed(2))
    assert len({tuple(m.flatten().tolist()) for m in many}) == 8
    assert torch.equal(X, torch.arange(96, dtype=torch.float32).reshape(6, 1, 4, 4))
    # rectangular images keep their shape (no transposition)
    rect = torch.zeros(5, 2, 3, 7)
    assert random_dihedral(rect, torch.Generator().manual_seed(0)).shape == rect.shape


def test_learns_point_vs_extended_with_string_labels(fitted):
    clf, X, y = fitted
    X_test, y_test = _blobs(n=40, seed=1)
    assert list(clf.classes_) == ["galaxy", "star"]
    assert clf.score(X_test, y_test) >= 0.9
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    scores = clf.decision_function(X_test)
    # binary decision function is the log-odds of classes_[1]
    np.testing.assert_allclose(scores, np.log(proba[:, 1] / proba[:, 0]), rtol=1e-6, atol=1e-6)
    assert roc_auc_score(y_test == "star", scores) > 0.95
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test)), proba, rtol=1e-10)
    assert clf.embed(X_test).shape == (40, 16)


def test_flattened_rows_with_image_shape_match_images(fitted):
    clf, X, y = fitted
    flat = CNNClassifier(**FAST, image_shape=X.shape[1:]).fit(X.reshape(len(X), -1), y)
    np.testing.assert_allclose(
        flat.predict_proba(X.reshape(len(X), -1)), clf.predict_proba(X), rtol=1e-5, atol=1e-6
    )
    assert flat.input_shape_ == X.shape[1:]


def test_determinism_pickle_and_rng_untouched(fitted):
    clf, X, y = fitted
    state = torch.get_rng_state()
    clf2 = CNNClassifier(**FAST).fit(X, y)
    assert torch.equal(state, torch.get_rng_state())  # no global seeding
    np.testing.assert_array_equal(clf.decision_function(X), clf2.decision_function(X))
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))
    other = CNNClassifier(**{**FAST, "random_state": 1}).fit(X, y)
    assert not np.array_equal(other.decision_function(X), clf.decision_function(X))
    X_copy = X.copy()
    clf.predict(X)
    np.testing.assert_array_equal(X, X_copy)


def test_three_classes_and_class_weight():
    X, y = _blobs(n=60, labels=("a", "b"))
    y = y.astype(object)
    y[::3] = "c"  # a third, indistinguishable class
    clf = CNNClassifier(**{**FAST, "max_epochs": 4}).fit(X, y)
    assert clf.predict_proba(X).shape == (60, 3)
    assert clf.decision_function(X).shape == (60, 3)
    np.testing.assert_array_equal(clf.class_weight_, [1, 1, 1])
    heavy = CNNClassifier(**{**FAST, "max_epochs": 4}, class_weight={"c": 50.0}).fit(X, y)
    np.testing.assert_array_equal(heavy.class_weight_, [1, 1, 50])
    assert np.mean(heavy.predict(X) == "c") > np.mean(clf.predict(X) == "c")
    bal = CNNClassifier(**{**FAST, "max_epochs": 1}, class_weight="balanced").fit(X, y)
    counts = np.array([np.sum(y == c) for c in bal.classes_])
    np.testing.assert_allclose(bal.class_weight_, len(y) / (3 * counts))
    with pytest.raises(ValueError, match="class_weight.*'z'"):
        CNNClassifier(**FAST, class_weight={"z": 2.0}).fit(X, y)


def test_early_stopping_restores_best_and_stops():
    X, y = _blobs(n=60)
    clf = CNNClassifier(**{**FAST, "max_epochs": 60}, early_stopping=True, n_iter_no_change=3,
                        validation_fraction=0.25).fit(X, y)
    hist = clf.history_
    assert clf.n_epochs_ < 60
    assert "valid_loss" in hist[0]
    valid = np.array(hist[:, "valid_loss"])
    assert np.argmin(valid) == len(valid) - 1 - 3  # stopped `patience` epochs after the best


def test_errors():
    X, y = _blobs(n=16)
    clf = CNNClassifier(**{**FAST, "max_epochs": 1}).fit(X, y)
    with pytest.raises(ValueError, match="3 band\\(s\\) but CNNClassifier was fitted on 2"):
        clf.predict(np.zeros((2, 3, 16, 16)))
    with pytest.raises(ValueError, match="size 8x8"):
        clf.predict(np.zeros((2, 2, 8, 8)))
    X_nan = X.copy()
    X_nan[0, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CNNClassifier(**FAST).fit(X_nan, y)
    with pytest.raises(ValueError, match="1 class"):
        CNNClassifier(**FAST).fit(X, np.zeros(16))
    with pytest.raises(ValueError, match="Unknown label type"):
        CNNClassifier(**FAST).fit(X, np.linspace(0, 1, 16))
    with pytest.raises(ValueError, match="'channels' parameter must be a tuple of positive ints"):
        CNNClassifier(**{**FAST, "channels": (4, -1)}).fit(X, y)
    with pytest.raises(ValueError, match="'lr' parameter"):
        CNNClassifier(**{**FAST, "lr": -1.0}).fit(X, y)
    with pytest.raises(ValueError, match="diverged"):
        CNNClassifier(**{**FAST, "lr": 1e30, "max_epochs": 3}).fit(X * 1e30, y)


def test_scaling_string_transformer_crop_and_nan_fill():
    preprocessing = pytest.importorskip("galaxy_learn.preprocessing")
    X, y = _blobs(n=24)
    X = X * 1e3  # raw-flux-like scale
    by_name = CNNClassifier(**{**FAST, "max_epochs": 2}, scaling="zscore").fit(X, y)
    by_obj = CNNClassifier(
        **{**FAST, "max_epochs": 2}, scaling=preprocessing.ImageScaler(method="zscore")
    ).fit(X, y)
    np.testing.assert_array_equal(by_name.decision_function(X), by_obj.decision_function(X))
    assert isinstance(by_name.scaler_, preprocessing.ImageScaler)
    # a cropping scaler changes the network's input, not the estimator's input contract
    X_nan = X.copy()
    X_nan[:, :, 0, 0] = np.nan  # masked corner pixels
    crop = CNNClassifier(
        **{**FAST, "max_epochs": 2},
        scaling=preprocessing.ImageScaler(method="asinh", crop=8, nan_policy="fill"),
    ).fit(X_nan, y)
    assert crop.input_shape_ == (2, 16, 16)
    assert crop.net_.module_.input_shape == (2, 8, 8)
    assert np.isfinite(crop.predict_proba(X_nan)).all()
    with pytest.raises(ValueError, match="NaN"):
        CNNClassifier(**FAST).fit(X_nan, y)  # default scaler does not fill: clear error
    with pytest.raises(ValueError, match="NaN"):
        CNNClassifier(**FAST, scaling=None).fit(X_nan, y)
    with pytest.raises(ValueError, match="after scaling"):  # a transformer that lets NaN through
        CNNClassifier(**FAST, scaling=FunctionTransformer()).fit(X_nan, y)


def test_precise_batchnorm_statistics_match_training_data(fitted):
    """After fit the running statistics are those of the final weights on the training inputs."""
    clf, X, _ = fitted
    module = clf.net_.module_
    conv, bn = module.features.block0[0], module.features.block0[1]
    with torch.no_grad():
        h = conv(torch.as_tensor(clf.scaler_.transform(X)))
    # 48 samples in 6 equal batches of 8: the mean of the batch means is the overall mean
    np.testing.assert_allclose(bn.running_mean.numpy(), h.mean((0, 2, 3)).numpy(), rtol=1e-4,
                               atol=1e-6)
    assert module.training is False


def test_net_settings_shared_with_the_other_estimators():
    """Shuffling generator, callbacks and device come from NetEstimatorMixin._net_settings."""
    from skorch.callbacks import EpochScoring

    X, y = _blobs(n=24)
    user = EpochScoring("accuracy", name="train_acc", on_train=True)
    clf = CNNClassifier(**{**FAST, "max_epochs": 2, "random_state": 7}, early_stopping=True,
                        validation_fraction=0.25, callbacks=[user]).fit(X, y)
    assert [name for name, _ in clf.net_.callbacks] == [
        "divergence_guard", "early_stopping", "lr_schedule", "EpochScoring_0"]
    assert clf.net_.callbacks[3][1] is not user  # the user's callback is cloned
    assert "train_acc" in clf.history_[-1]
    assert clf.net_.iterator_train__shuffle is True
    assert clf.net_.iterator_train__generator.initial_seed() == 7  # the fit's own stream
    assert clf.net_.device == "cpu"
    # the same settings give the same fit; another seed another one
    again = CNNClassifier(**{**FAST, "max_epochs": 2, "random_state": 7}, early_stopping=True,
                          validation_fraction=0.25).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


# -- the central crop (crop=...) and the defaults sized for a 2-core CPU ---------------------------
def test_defaults_sized_for_a_cpu():
    """Defaults chosen on the simulator (AUC r<21 >= 0.99 over 5 seeds) and real ZTF cutouts at
    a tenth of Kim & Brunner's cost (user guide, 'Defaults and a CPU-sized network')."""
    clf = CNNClassifier()
    assert clf.channels == (16, 32, 64) and clf.crop == "auto"
    assert clf.lr_schedule == "cosine" and clf.test_time_augmentation is True
    assert clf.convs_per_block == 2 and clf.dense_units == (256, 256)
    assert clf.early_stopping is False and clf.max_epochs == 30 and clf.batch_size == 128


@pytest.mark.parametrize("size, crop", [(16, 8), (17, 8), (9, 4), (12, 12)])
def test_convnet_crop_is_the_central_square(size, crop):
    """A cropping ConvNet equals the same weights applied to the central crop (odd margins: the
    extra pixel is dropped at the bottom / right)."""
    torch.manual_seed(0)
    kw = dict(channels=(4, 8), dense_units=(8,), dropout=0.0)
    cropping = ConvNet((2, size, size), crop=crop, **kw).eval()
    plain = ConvNet((2, crop, crop), **kw).eval()
    plain.load_state_dict(cropping.state_dict())
    x = torch.randn(3, 2, size, size)
    top = (size - crop) // 2
    centre = x[:, :, top:top + crop, top:top + crop]
    torch.testing.assert_close(cropping(x), plain(centre))
    torch.testing.assert_close(cropping.embed(x), plain.embed(centre))
    torch.testing.assert_close(cropping(x.reshape(3, -1)), plain(centre))  # flattened rows
    for bad in (size + 1, 0):
        with pytest.raises(ValueError, match=f"'crop' parameter \\({bad}\\) must be between 1 "
                                             f"and the image size \\({size}x{size}\\)"):
            ConvNet((2, size, size), crop=bad, **kw)
    assert ConvNet((7,), channels=(), crop=4).crop is None  # tabular rows are never cropped


def test_crop_equals_fitting_on_the_cropped_images():
    """crop=8 on 16x16 stamps is the fit on their central 8x8 pixels, with the same seed
    (scaling off: the scaler would see other pixels). Same seed, same fit; predict takes the
    whole stamps."""
    X, y = _blobs(n=32)
    params = {**FAST, "max_epochs": 3, "scaling": None}
    cropped = CNNClassifier(**params, crop=8).fit(X, y)
    again = CNNClassifier(**params, crop=8).fit(X, y)
    centre = CNNClassifier(**params, crop=None).fit(X[:, :, 4:12, 4:12], y)
    assert cropped.crop_ == 8 and centre.crop_ is None
    assert cropped.input_shape_ == (2, 16, 16) and cropped.net_.module_.crop == 8
    np.testing.assert_array_equal(cropped.predict_proba(X), again.predict_proba(X))
    np.testing.assert_allclose(cropped.predict_proba(X), centre.predict_proba(X[:, :, 4:12, 4:12]),
                               rtol=1e-4, atol=1e-5)
    other = CNNClassifier(**{**params, "random_state": 1}, crop=8).fit(X, y)
    assert not np.array_equal(other.predict_proba(X), cropped.predict_proba(X))


def test_crop_auto_keeps_small_images_whole_and_crops_large_ones():
    auto = {**FAST, "max_epochs": 1, "crop": "auto"}
    small = CNNClassifier(**auto).fit(*_blobs(n=16, size=32))
    assert small.crop_ is None and small.net_.module_.crop is None  # 32 px: not larger than 32
    X, y = _blobs(n=16, size=40)
    large = CNNClassifier(**auto).fit(X, y)
    assert large.crop_ == 32 and large.net_.module_.crop == 32
    whole = CNNClassifier(**{**auto, "crop": None}).fit(X, y)
    assert whole.crop_ is None and whole.net_.module_.crop is None
    assert large.predict_proba(X).shape == (16, 2)
    rows = np.random.default_rng(0).normal(size=(20, 6))
    tabular = CNNClassifier(**{**FAST, "max_epochs": 1}, crop=4).fit(rows, [0, 1] * 10)
    assert tabular.crop_ is None  # tabular input has nothing to crop


def test_crop_errors():
    X, y = _blobs(n=16)
    msg = ("The 'crop' parameter \\(20\\) is larger than the images \\(16x16\\); use a smaller "
           "crop or crop=None for the whole image.")
    with pytest.raises(ValueError, match=msg):
        CNNClassifier(**FAST, crop=20).fit(X, y)
    for bad in (0, -3, 2.5, "full", (8, 8)):
        with pytest.raises(ValueError, match="The 'crop' parameter of CNNClassifier must be"):
            CNNClassifier(**FAST, crop=bad).fit(X, y)


def test_cosine_lr_schedule_anneals_towards_zero():
    """lr_schedule='cosine' follows CosineAnnealingLR over max_epochs (checked against the
    closed form lr/2 (1 + cos(pi t / T)) read from the optimiser as each epoch begins);
    'constant' keeps lr."""
    X, y = _blobs(n=24)
    seen = []

    from skorch.callbacks import Callback

    class ReadLR(Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(net.optimizer_.param_groups[0]["lr"])

    params = {**FAST, "max_epochs": 4, "lr": 1e-2}
    CNNClassifier(**params, lr_schedule="cosine", callbacks=[ReadLR()]).fit(X, y)
    cosine, seen[:] = list(seen), []
    # The rate each epoch trains with (the scheduler steps at the end of each epoch).
    expected = [1e-2 / 2 * (1 + np.cos(np.pi * t / 4)) for t in range(4)]
    np.testing.assert_allclose(cosine, expected, rtol=1e-6)
    CNNClassifier(**params, lr_schedule="constant", callbacks=[ReadLR()]).fit(X, y)
    assert seen == [1e-2] * 4
    with pytest.raises(ValueError, match="'lr_schedule' parameter of CNNClassifier must be"):
        CNNClassifier(**params, lr_schedule="step").fit(X, y)


@pytest.mark.parametrize("shape", [(16, 16), (16, 12)])
def test_test_time_augmentation_averages_the_symmetries(shape):
    """The logits are the mean of the network's logits over the 8 dihedral transforms of a
    square image (4 of a rectangle), so rotated or flipped inputs get the same prediction; the
    fit is untouched, and without it the same network gives its plain logits."""
    X, y = _blobs(n=24, size=16)
    X = np.ascontiguousarray(X[:, :, :shape[0], :shape[1]])
    clf = CNNClassifier(**{**FAST, "max_epochs": 2}, test_time_augmentation=False).fit(X, y)
    plain = clf.decision_function(X)
    clf.set_params(test_time_augmentation=True)
    module = clf.net_.module_
    scaled = torch.as_tensor(clf.scaler_.transform(X), dtype=torch.float32)
    if shape[0] == shape[1]:
        views = [torch.rot90(v, k, dims=(-2, -1)) for v in (scaled, scaled.flip(-1))
                 for k in range(4)]
    else:
        views = [scaled, scaled.flip(-1), scaled.flip(-2), scaled.flip(-2, -1)]
    with torch.no_grad():
        logits = torch.stack([module(v) for v in views]).mean(0).numpy().astype(np.float64)
    np.testing.assert_allclose(clf.decision_function(X), logits[:, 1] - logits[:, 0],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0)
    turned = np.ascontiguousarray(np.flip(X, axis=-1))
    if shape[0] == shape[1]:
        turned = np.ascontiguousarray(np.rot90(turned, 1, axes=(-2, -1)))
    np.testing.assert_allclose(clf.decision_function(turned), clf.decision_function(X),
                               rtol=1e-4, atol=1e-5)
    assert not np.allclose(plain, clf.decision_function(X))
    clf.set_params(test_time_augmentation=False)
    np.testing.assert_array_equal(clf.decision_function(X), plain)
