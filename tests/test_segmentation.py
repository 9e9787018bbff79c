"""Tests of the residual autoencoder, HypercolumnExtractor, HypercolumnSegmenter, tiling and the
per-pixel class map. Synthetic Gaussian-blob fields keep them fast and their truth exact."""
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from galaxy_learn.metrics import detection_scores, pixel_iou
from galaxy_learn.nn import ResidualConvAutoencoder, autoencoder_layer_names
from galaxy_learn.preprocessing import ImageFlattener
from galaxy_learn.segmentation import (
    HypercolumnExtractor,
    HypercolumnSegmenter,
    apply_tiled,
    deblend_watershed,
    estimate_background,
    expected_false_detections,
    extract_cutouts,
    iter_tiles,
    object_positions,
    pixel_class_map,
    robust_sigma,
    to_pixel_features,
    trim_footprints,
)
from galaxy_learn.utils._stats import robust_sigma as utils_robust_sigma

TINY = {"channels": (4, 8), "layers": ("input", "enc0", "enc1"), "max_epochs": 2, "device": "cpu",
            "batch_size": 16}


def _blob(shape, x, y, sigma):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def _blob_field(seed=0, shape=(96, 96), n=8, bands=2, amp=(15, 60)):
    """Isolated Gaussian blobs on unit noise; returns field (C, H, W), positions, truth mask."""
    rng = np.random.default_rng(seed)
    grid = [(x, y) for y in range(12, shape[0] - 8, 24) for x in range(12, shape[1] - 8, 24)]
    pos = np.array(grid)[rng.choice(len(grid), n, replace=False)] + rng.uniform(-3, 3, (n, 2))
    model = np.zeros(shape)
    for x, y in pos:
        model += rng.uniform(*amp) * _blob(shape, x, y, rng.uniform(1.2, 2.0))
    field = model[None] * rng.uniform(0.7, 1.3, (bands, 1, 1)) + rng.normal(size=(bands,) + shape)
    return field.astype(np.float32), pos, model > 2.0


@pytest.fixture(scope="module")
def fitted_segmenter():
    """The default (calibrated-threshold) segmenter: fit only records the input layout."""
    field, _, _ = _blob_field(seed=1)
    return HypercolumnSegmenter().fit(field[None])


@pytest.fixture(scope="module")
def fitted_hypercolumns():
    field, _, _ = _blob_field(seed=1)
    seg = HypercolumnSegmenter(HypercolumnExtractor(**TINY, random_state=0), method="hypercolumns",
                               n_clusters=4, cluster_threshold=2.0, random_state=0)
    return seg.fit(field[None])


# ----------------------------------------------------------------------------- torch module
@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("hw", [(16, 16), (13, 22), (1, 7)])
def test_autoencoder_shapes_any_size(skip, hw):
    net = ResidualConvAutoencoder(in_channels=3, channels=(4, 8, 16), skip_connections=skip)
    x = torch.randn(2, 3, *hw)
    assert net(x).shape == x.shape
    maps, size = net.feature_maps(x)
    assert list(maps) == autoencoder_layer_names(3) and size == hw
    assert maps["enc2"].shape[1] == 16 and maps["dec0"].shape[1] == 4
    hc = net.hypercolumns(x, ["input", "enc1", "dec0"])
    assert hc.shape == (2, *hw, 3 + 8 + 4)
    assert torch.equal(hc[..., :3], x.permute(0, 2, 3, 1))  # the "input" block is the input


def test_skip_connections_change_decoder_only():
    torch.manual_seed(0)
    a = ResidualConvAutoencoder(in_channels=1, channels=(4, 8), skip_connections=True)
    b = ResidualConvAutoencoder(in_channels=1, channels=(4, 8), skip_connections=False)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 1, 8, 8)
    ma, _ = a.feature_maps(x)
    mb, _ = b.feature_maps(x)
    assert torch.equal(ma["enc1"], mb["enc1"])
    assert not torch.allclose(ma["dec0"], mb["dec0"])


def test_hypercolumn_weights_and_scales_are_linear():
    net = ResidualConvAutoencoder(in_channels=1, channels=(4, 8))
    x = torch.randn(1, 1, 8, 8)
    h1 = net.hypercolumns(x, ["input", "enc1"])
    h2 = net.hypercolumns(x, ["input", "enc1"], weights=[2.0, 0.0], scales=[4.0, 1.0])
    torch.testing.assert_close(h2[..., :1], h1[..., :1] / 2)
    assert torch.all(h2[..., 1:] == 0)


def test_unknown_layer_name():
    net = ResidualConvAutoencoder(in_channels=1, channels=(4, 8))
    with pytest.raises(ValueError, match="Unknown layer name"):
        net.feature_maps(torch.zeros(1, 1, 4, 4), ["enc5"])


# ----------------------------------------------------------------------------- extractor
@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2, 16, 16)) + 8 * _blob((16, 16), 8, 7, 1.5)
    return X.astype(np.float32)


@pytest.fixture(scope="module")
def fitted_extractor(images):
    return HypercolumnExtractor(**TINY, random_state=0).fit(images)


def test_extractor_transform_layout(fitted_extractor, images):
    Z = fitted_extractor.transform(images)
    F = fitted_extractor.n_pixel_features_
    assert F == 2 + 4 + 8 and Z.shape == (12, 16 * 16 * F) and Z.dtype == np.float32
    H = fitted_extractor.hypercolumns(images)
    np.testing.assert_array_equal(to_pixel_features(Z, (2, 16, 16)), H)
    # one pixel per row: row (i*H + y)*W + x of Z.reshape(-1, F) is pixel (y, x) of image i
    np.testing.assert_array_equal(Z.reshape(-1, F)[(3 * 16 + 5) * 16 + 9], H[3, 5, 9])
    assert fitted_extractor.feature_slices_["enc1"] == slice(6, 14)


def test_extractor_fit_transform_determinism_and_pickle(fitted_extractor, images):
    other = HypercolumnExtractor(**TINY, random_state=0)
    np.testing.assert_array_equal(other.fit_transform(images), fitted_extractor.transform(images))
    restored = pickle.loads(pickle.dumps(fitted_extractor))
    np.testing.assert_array_equal(restored.transform(images), fitted_extractor.transform(images))
    different = HypercolumnExtractor(**TINY, random_state=1).fit(images)
    assert not np.allclose(different.transform(images), fitted_extractor.transform(images))


def test_extractor_layer_weights(images):
    base = HypercolumnExtractor(**TINY, random_state=0).fit(images)
    weighted = HypercolumnExtractor(**TINY, layer_weights=(3.0, 1.0, 0.0), random_state=0)
    weighted.fit(images)
    Hb, Hw = base.hypercolumns(images[:2]), weighted.hypercolumns(images[:2])
    np.testing.assert_allclose(Hw[..., :2], 3 * Hb[..., :2], rtol=1e-6)
    assert np.all(Hw[..., 6:] == 0)
    # blocks are normalised to unit RMS over the training images before weighting
    rms = np.sqrt((base.hypercolumns(images)[..., 2:6] ** 2).mean())
    assert rms == pytest.approx(1.0, rel=0.05)


def test_extractor_any_size_but_transform_needs_fitted_size(fitted_extractor):
    big = np.zeros((1, 2, 30, 21), np.float32)
    assert fitted_extractor.hypercolumns(big).shape == (1, 30, 21, 14)
    assert fitted_extractor.reconstruct(big).shape == big.shape
    with pytest.raises(ValueError, match="size 30x21 but HypercolumnExtractor was fitted on 16x16"):
        fitted_extractor.transform(big)
    with pytest.raises(ValueError, match="3 band"):
        fitted_extractor.hypercolumns(np.zeros((1, 3, 16, 16)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"layers": ("enc7",)}, "'layers' parameter must be distinct names"),
        ({"layers": ("enc0", "enc0")}, "'layers' parameter must be distinct names"),
        ({"layer_weights": (1.0, 2.0)}, "'layer_weights' parameter must hold 3"),
        ({"layer_weights": (1.0, -1.0, 1.0)}, "'layer_weights' parameter must hold 3"),
        ({"channels": (4, 0)}, "'channels' parameter"),
    ],
)
def test_extractor_bad_parameters(images, params, match):
    with pytest.raises(ValueError, match=match):
        HypercolumnExtractor(**{**TINY, **params}).fit(images)


def test_extractor_rejects_nan(images):
    X = images.copy()
    X[0, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity: 1 non-finite"):
        HypercolumnExtractor(**TINY).fit(X)


def test_extractor_field_trains_on_crops():
    field = np.random.default_rng(0).normal(size=(1, 1, 80, 72)).astype(np.float32)
    ext = HypercolumnExtractor(**{**TINY, "max_epochs": 1}, patch_size=16, max_patches=10,
                               random_state=0).fit(field)
    assert ext.net_.history[-1, "batches", 0, "train_batch_size"] == 10


# ----------------------------------------------------------------------------- tiling
@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 70), w=st.integers(1, 70), tile=st.integers(1, 40),
    overlap=st.integers(0, 12), align=st.sampled_from([1, 2, 4]),
)
def test_tiles_cover_every_pixel_once(h, w, tile, overlap, align):
    count = np.zeros((h, w), int)
    for outer, inner, local in iter_tiles((h, w), tile, overlap, align=align):
        count[inner] += 1
        assert outer[0].start % align == 0 and outer[1].start % align == 0
        sub = np.arange(h * w).reshape(h, w)[outer][local]
        np.testing.assert_array_equal(sub, np.arange(h * w).reshape(h, w)[inner])
    assert np.all(count == 1)


@settings(max_examples=15, deadline=None)
@given(h=st.integers(5, 60), w=st.integers(5, 60), tile=st.integers(4, 30), size=st.integers(1, 4))
def test_apply_tiled_equals_untiled_for_local_operator(h, w, tile, size):
    img = np.random.default_rng(h * w).normal(size=(2, h, w))
    fn = lambda t: ndimage.uniform_filter(t.sum(0), 2 * size + 1, mode="constant")
    np.testing.assert_allclose(apply_tiled(fn, img, tile_size=tile, overlap=size), fn(img),
                               atol=1e-12)


def test_segmenter_tiled_equals_untiled(fitted_hypercolumns):
    field, _, _ = _blob_field(seed=5, shape=(100, 84))
    seg = pickle.loads(pickle.dumps(fitted_hypercolumns))
    whole = seg.label(field[None])
    tiled = seg.set_params(tile_size=24, tile_overlap=16).label(field[None])
    np.testing.assert_array_equal(tiled, whole)
    assert whole.max() >= 6


# ----------------------------------------------------------------------------- segmentation
@pytest.mark.parametrize("method", ["threshold", "hypercolumns"])
def test_segmenter_finds_isolated_blobs(fitted_segmenter, fitted_hypercolumns, method):
    seg = fitted_segmenter if method == "threshold" else fitted_hypercolumns
    field, pos, truth = _blob_field(seed=3)
    masks = seg.predict(field[None])
    assert masks.shape == (1, 96, 96) and masks.dtype == bool
    assert pixel_iou(truth, masks[0]) > 0.6
    catalog, labels = seg.detect(field[None])
    scores = detection_scores(pos, catalog[["x", "y"]].to_numpy())
    assert scores["completeness"] == 1.0 and scores["purity"] == 1.0
    assert set(np.unique(labels)) == {0, *catalog["label"]}
    assert (catalog["peak_significance"] >= seg.threshold).all()


def test_hypercolumn_object_clusters_follow_the_cluster_threshold(fitted_hypercolumns):
    flux = fitted_hypercolumns.cluster_flux_
    assert not fitted_hypercolumns.object_clusters_[np.argmin(flux)]
    np.testing.assert_array_equal(fitted_hypercolumns.object_clusters_, flux > 2.0)


def test_segmenter_threshold_is_the_trade_off(fitted_segmenter):
    field, _, _ = _blob_field(seed=3, amp=(3, 60))
    seg = pickle.loads(pickle.dumps(fitted_segmenter))
    counts = [int(seg.set_params(threshold=t).label(field[None]).max()) for t in (4.0, 8.0, 1e6)]
    assert counts[0] >= counts[1] > counts[2] == 0


def test_two_cluster_auto_rule_is_the_brighter_cluster_and_fit_is_deterministic():
    field, _, _ = _blob_field(seed=2)
    kw = {"method": "hypercolumns", "n_clusters": 2, "cluster_threshold": "auto",
          "random_state": 0}
    seg = HypercolumnSegmenter(HypercolumnExtractor(**TINY), **kw).fit(field[None])
    assert seg.cluster_flux_.shape == (2,)
    again = HypercolumnSegmenter(HypercolumnExtractor(**TINY), **kw).fit(field[None])
    np.testing.assert_array_equal(again.cluster_flux_, seg.cluster_flux_)
    np.testing.assert_array_equal(again.label(field[None]), seg.label(field[None]))
    assert seg.object_clusters_.tolist() == (seg.cluster_flux_ == seg.cluster_flux_.max()).tolist()


def test_segmenter_bands_and_pickle(fitted_segmenter):
    field, _, _ = _blob_field(seed=4, shape=(40, 40), n=1)
    restored = pickle.loads(pickle.dumps(fitted_segmenter))
    np.testing.assert_array_equal(restored.label(field[None]), fitted_segmenter.label(field[None]))
    with pytest.raises(ValueError, match="X has 3 band.*fitted on 2 band"):
        fitted_segmenter.predict(np.zeros((1, 3, 40, 40)))


# ----------------------------------------------------------------------------- false positives
@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    sky=st.floats(0.0, 1e4), log_sigma=st.floats(-3.0, 2.0), h=st.integers(32, 256),
    w=st.integers(32, 256), bands=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
)
def test_noise_only_frames_give_no_objects(sky, log_sigma, h, w, bands, seed):
    """Any sky level, any noise amplitude, any (rectangular) size: nothing is detected."""
    rng = np.random.default_rng(seed)
    X = sky + 10.0**log_sigma * rng.normal(size=(1, bands, h, w))
    seg = HypercolumnSegmenter().fit(X)
    assert seg.label(X).max() == 0
    assert not seg.predict(X).any()
    assert len(seg.detect(X)[0]) == 0


def test_known_sources_are_found_at_any_sky_level():
    field, pos, _ = _blob_field(seed=3, bands=1)
    for sky, scale in [(0.0, 1.0), (6852.0, 65.0), (1e4, 1e-3)]:
        X = (sky + scale * field.astype(np.float64))[None]
        catalog, _ = HypercolumnSegmenter().fit(X).detect(X)
        scores = detection_scores(pos, catalog[["x", "y"]].to_numpy())
        assert scores["completeness"] == 1.0 and scores["purity"] == 1.0, (sky, scale)


def test_expected_false_detections_matches_simulated_noise():
    """The Euler-characteristic formula against the count of noise peaks above 3 sigma."""
    rng = np.random.default_rng(0)
    seg = HypercolumnSegmenter(threshold=3.0, grow_threshold=3.0, min_area=1, deblend=False,
                               footprint_threshold=None)
    counts = []
    for _ in range(3):
        X = rng.normal(size=(1, 1, 384, 384))
        counts.append(seg.fit(X).label(X).max())
    expected = seg.expected_false_detections((384, 384))
    assert expected == pytest.approx(expected_false_detections((384, 384), 3.0, 1.5))
    assert np.mean(counts) == pytest.approx(expected, rel=0.2)
    # the default threshold: far below one false detection on a whole SDSS frame
    assert expected_false_detections((1489, 2048), 5.5, 1.5) < 0.1


@pytest.mark.parametrize("value", [0.0, 7.5])
def test_constant_frames_raise(value):
    X = np.full((1, 2, 40, 30), value)
    seg = HypercolumnSegmenter().fit(X)
    for method in (seg.predict, seg.label, seg.detect):
        with pytest.raises(ValueError, match=r"X\[0\] has no measurable noise"):
            method(X)
    X[0, :, :20] = np.nan  # masked half, constant rest: same
    with pytest.raises(ValueError, match="no measurable noise"):
        seg.label(X)


def test_background_matches_sep_and_keeps_float64_precision():
    sep = pytest.importorskip("sep")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:320, :256]  # whole meshes: the same mesh grid as SEP
    img = 50 + 0.02 * xx + 3 * np.sin(yy / 60) + rng.normal(scale=2.0, size=yy.shape)
    truth = 50 + 0.02 * xx + 3 * np.sin(yy / 60)
    # no mesh median filter: SEP filters the mesh grid's edges differently
    bkg, rms = estimate_background(img, backend="numpy", filter_size=1)
    ref = sep.Background(img, bw=64, bh=64, fw=1, fh=1)
    inner = (slice(40, -40), slice(40, -40))
    np.testing.assert_allclose(bkg[inner], ref.back()[inner], atol=0.15 * 2.0)
    np.testing.assert_allclose(bkg[inner], truth[inner], atol=0.15 * 2.0)
    np.testing.assert_allclose(rms[inner], ref.rms()[inner], rtol=0.04)
    for backend in ("numpy", "sep"):
        high = 1e4 + 1e-3 * rng.normal(size=(64, 80))
        b, r = estimate_background(high, backend=backend)
        assert abs(b.mean() - 1e4) < 1e-4 and r.mean() == pytest.approx(1e-3, rel=0.08)


def test_nan_pixels_are_masked(fitted_segmenter):
    field, pos, _ = _blob_field(seed=3)
    field[:, 40:44, :] = np.nan  # a bad row band across the field
    field[0, 10, 10] = np.inf
    labels = fitted_segmenter.label(field[None])[0]
    assert not labels[40:44].any() and labels[10, 10] == 0
    assert (labels[pos[:, 1].round().astype(int), pos[:, 0].round().astype(int)] > 0).sum() >= 6
    clean = _blob_field(seed=3)[0]
    np.testing.assert_array_equal(fitted_segmenter.label(clean[None])[0][:30],
                                  fitted_segmenter.label(
                                      np.where(np.isfinite(field), field, clean)[None])[0][:30])


def test_deblend_splits_touching_blobs_only_when_prominent():
    shape = (40, 40)
    pair = 50 * _blob(shape, 15, 20, 2.0) + 30 * _blob(shape, 23, 20, 2.0)
    labels = ndimage.label(pair > 1)[0]
    assert labels.max() == 1
    split = deblend_watershed(labels, pair, noise=0.1)
    assert split.max() == 2
    xy, _ = object_positions(split, pair)
    np.testing.assert_allclose(np.sort(xy[:, 0]), [15, 23], atol=0.6)
    # the fainter peak's prominence is ~25: a 30-sigma requirement keeps one object
    assert deblend_watershed(labels, pair, noise=1.0, nsigma=30).max() == 1
    assert (split > 0).sum() == (labels > 0).sum()  # deblending never loses pixels


def _positions_reference(labels, detection, window=2):
    """Per-object loop: peak of the 1-px-smoothed image, flux-weighted centroid of the object's
    own pixels in the (2 * window + 1)^2 box around it."""
    smooth = ndimage.gaussian_filter(detection.astype(np.float32), 1.0)
    out = []
    for k in range(1, labels.max() + 1):
        own = labels == k
        py, px = np.unravel_index(np.argmax(np.where(own, smooth, -np.inf)), labels.shape)
        y0, x0 = max(py - window, 0), max(px - window, 0)
        box = (slice(y0, py + window + 1), slice(x0, px + window + 1))
        w = np.clip(detection[box], 0, None) * own[box]
        yy, xx = np.mgrid[box]
        out.append(((w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()) if w.sum() > 0
                   else (px, py))
    return np.array(out)


def test_object_positions_match_a_per_object_loop():
    field, _, truth = _blob_field(seed=6, n=9, bands=1)
    labels = ndimage.label(truth, structure=np.ones((3, 3)))[0]
    xy, ids = object_positions(labels, field[0])
    assert ids.tolist() == list(range(1, labels.max() + 1))
    np.testing.assert_allclose(xy, _positions_reference(labels, field[0]), atol=1e-4)  # float32


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), threshold=st.floats(-1.0, 3.0), min_pixels=st.integers(1, 6))
def test_trim_footprints_keeps_every_object(seed, threshold, min_pixels):
    rng = np.random.default_rng(seed)
    labels = ndimage.label(rng.random((20, 20)) > 0.55, structure=np.ones((3, 3)))[0]
    sig = rng.normal(size=labels.shape)
    out = trim_footprints(labels, sig, threshold, min_pixels=min_pixels)
    assert out.dtype == np.int32
    assert np.all((out == labels) | (out == 0))  # pixels keep their label or are trimmed
    for k in range(1, labels.max() + 1):
        own, kept = sig[labels == k], sig[out == k]
        # above the threshold, or the object's min_pixels most significant pixels
        expected = max(int((own >= threshold).sum()), min(min_pixels, own.size))
        assert kept.size == expected
        assert kept.min() >= np.sort(own)[::-1][expected - 1]


def test_footprint_threshold_trims_masks_but_keeps_objects(fitted_segmenter):
    field, _, truth = _blob_field(seed=3)
    seg = pickle.loads(pickle.dumps(fitted_segmenter))
    seg.set_params(footprint_threshold=None)
    full_mask, full_labels = seg.predict(field[None]), seg.label(field[None])
    seg.set_params(footprint_threshold=4.0)
    mask, labels = seg.predict(field[None]), seg.label(field[None])
    assert mask.sum() < full_mask.sum() and not (mask & ~full_mask).any()
    np.testing.assert_array_equal(np.unique(labels), np.unique(full_labels))
    assert np.all((labels == full_labels) | (labels == 0))
    # the untrimmed masks are wider than the truth; the trimmed ones fit it better
    assert pixel_iou(truth, mask[0]) > pixel_iou(truth, full_mask[0])


def test_deblend_sigma_separates_a_shoulder():
    shape = (40, 40)
    # a faint compact companion on the wing of a brighter, wider object
    pair = 60 * _blob(shape, 15, 20, 2.5) + 30 * _blob(shape, 21, 20, 1.0)
    labels = ndimage.label(pair > 1)[0]
    n_objects = [deblend_watershed(labels, pair, sigma=s, noise=0.05, nsigma=1).max()
                 for s in (0.5, 0.7, 1.0, 2.0)]
    assert n_objects == [2, 2, 1, 1]  # smoothing fills the saddle between them


def test_robust_sigma_shared_helper():
    x = np.random.default_rng(0).normal(scale=3.0, size=(300, 300))
    assert robust_sigma(x) == pytest.approx(3.0, rel=0.02)
    assert utils_robust_sigma(x) == pytest.approx(robust_sigma(x, max_samples=x.size))
    assert utils_robust_sigma(np.r_[np.zeros(10), 1.0, -1.0]) == pytest.approx(np.std(np.r_[np.zeros(10), 1.0, -1.0]))
    assert utils_robust_sigma([]) == 1.0


# ----------------------------------------------------------------------------- class map
def _star_galaxy_cutouts(n, rng, size=16):
    y = rng.integers(0, 2, n)  # 0 star (sharp), 1 galaxy (extended)
    X = np.stack([40 * _blob((size, size), size // 2, size // 2, 1.0 if c == 0 else 3.0)
                  for c in y])[:, None] + rng.normal(0, 1, (n, 2, size, size))
    return X.astype(np.float32), np.where(y == 0, "star", "galaxy")


def test_pixel_class_map_paints_objects(fitted_segmenter):
    rng = np.random.default_rng(0)
    X, y = _star_galaxy_cutouts(200, rng)
    clf = make_pipeline(ImageFlattener(), LogisticRegression(max_iter=500)).fit(X, y)
    shape = (64, 64)
    model = 40 * _blob(shape, 16, 20, 1.0) + 40 * _blob(shape, 45, 44, 3.0)
    field = (model[None] * np.ones((2, 1, 1)) + rng.normal(size=(2,) + shape)).astype(np.float32)
    out = pixel_class_map(field, fitted_segmenter, clf, cutout_size=16)
    assert out.class_map.shape == shape and out.class_map[0, 0] == -1
    assert out.classes[out.class_map[20, 16]] == "star"
    assert out.classes[out.class_map[44, 45]] == "galaxy"
    np.testing.assert_array_equal(out.class_map >= 0, out.labels > 0)
    assert sorted(out.catalog["class"]) == ["galaxy", "star"]


# Stars and galaxies of these synthetic cutouts lie apart on VAEEncoder's SPREAD_MODEL column, so
# Isomap's neighbour graph can come in two pieces; sklearn joins them and says so (not an error).
@pytest.mark.filterwarnings("ignore:The number of connected components:UserWarning")
@pytest.mark.filterwarnings("ignore:Changing the sparsity structure")
def test_pixel_class_map_with_the_mission_pipeline(fitted_segmenter):
    """Field -> detections -> cutouts -> VAEEncoder -> Isomap -> ThresholdClassifier -> map."""
    from sklearn.manifold import Isomap

    from galaxy_learn import ThresholdClassifier, VAEEncoder
    from galaxy_learn.photometry import concentration_index

    rng = np.random.default_rng(1)
    X, y = _star_galaxy_cutouts(120, rng)
    pipe = make_pipeline(
        VAEEncoder(n_ensemble=1, channels=(4, 8), hidden_units=8, max_epochs=2, batch_size=32,
                   device="cpu", random_state=0),
        Isomap(n_components=1),
        ThresholdClassifier(class_prior=0.5, classes=("galaxy", "star")),
    ).fit(X, thresholdclassifier__reference=concentration_index(X))
    field, _, _ = _blob_field(seed=4)
    out = pixel_class_map(field, fitted_segmenter, pipe, cutout_size=16)
    np.testing.assert_array_equal(out.class_map >= 0, out.labels > 0)
    assert set(out.classes) == {"galaxy", "star"}
    # every object is painted with one class, the one its catalog row reports
    for _, row in out.catalog.iterrows():
        painted = out.classes[np.unique(out.class_map[out.labels == row["label"]])]
        assert list(painted) == [row["class"]]


def test_extract_cutouts_pads_at_edges():
    img = np.arange(30, dtype=np.float32).reshape(1, 5, 6)
    cut = extract_cutouts(img, [[0, 0], [5.4, 3.6]], size=3, fill_value=-1)
    np.testing.assert_array_equal(cut[0, 0], [[-1, -1, -1], [-1, 0, 1], [-1, 6, 7]])
    np.testing.assert_array_equal(cut[1, 0], [[22, 23, -1], [28, 29, -1], [-1, -1, -1]])
