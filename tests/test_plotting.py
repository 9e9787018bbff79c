"""Every display draws a figure from real estimator output (Agg backend) and saves a PNG."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from galaxy_learn.classification import CNNClassifier  # noqa: E402
from galaxy_learn.plotting import (  # noqa: E402
    FeatureMapDisplay,
    ImageGridDisplay,
    LatentSpaceDisplay,
    ReconstructionDisplay,
    RocCurvesDisplay,
    SegmentationOverlayDisplay,
    make_rgb,
    plot_confusion_matrices,
    plot_cutouts,
)


def ugriz_sources(n=40, size=20, seed=0):
    """Blue point sources and red extended sources in 5 bands, sky noise 1, fluxes in 'counts'."""
    rng = np.random.default_rng(seed)
    is_star = np.arange(n) % 2 == 0
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r = np.hypot(xx, yy)
    star_sed = np.array([1.2, 1.0, 0.8, 0.6, 0.5])
    gal_sed = np.array([0.2, 0.5, 1.0, 1.3, 1.5])
    X = rng.normal(0, 1.0, (n, 5, size, size))
    for k in range(n):
        flux = rng.uniform(150, 600)
        if is_star[k]:
            prof = np.exp(-r**2 / (2 * 1.2**2))
        else:
            q, th = rng.uniform(0.4, 1), rng.uniform(0, np.pi)
            u = xx * np.cos(th) + yy * np.sin(th)
            v = (-xx * np.sin(th) + yy * np.cos(th)) / q
            prof = np.exp(-np.hypot(u, v) / 2.0)
        prof /= prof.sum()
        X[k] += flux * (star_sed if is_star[k] else gal_sed)[:, None, None] * prof
    return X.astype(np.float32), np.where(is_star, "star", "galaxy")


@pytest.fixture(scope="module")
def data():
    return ugriz_sources()


@pytest.fixture(scope="module")
def cnn(data):
    X, y = data
    return CNNClassifier(channels=(4, 8), dense_units=(8,), max_epochs=4, batch_size=8,
                         random_state=0, device="cpu").fit(X, y)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _saved(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    assert path.stat().st_size > 2000
    return path


def test_make_rgb_lupton_and_errors(data):
    X, _ = data
    rgb = make_rgb(X)
    assert rgb.shape == (40, 20, 20, 3) and rgb.dtype == np.uint8
    # the red galaxies are redder (R/B channel ratio) than the blue stars in the composite
    centre = rgb[:, 8:12, 8:12].reshape(40, -1, 3).astype(float).mean(axis=1)
    ratio = (centre[:, 0] + 1) / (centre[:, 2] + 1)
    assert ratio[1::2].mean() > ratio[::2].mean()
    X_nan = X[:1].copy()
    X_nan[0, :, 0, 0] = np.nan
    assert make_rgb(X_nan)[0, 0, 0].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="rgb_bands"):
        make_rgb(X[:, :2])


def test_roc_curves_from_estimators(data, cnn, tmp_path):
    X, y = data
    logreg = LogisticRegression(max_iter=500).fit(X.reshape(len(X), -1), y)
    disp = RocCurvesDisplay.from_predictions(
        y, {"CNN": cnn.predict_proba(X)[:, 1],
            "logistic": logreg.predict_proba(X.reshape(len(X), -1))[:, 1],
            "random": np.random.default_rng(0).random(len(y))},
        pos_label="star", title="star vs galaxy")
    assert disp.roc_auc_["CNN"] == pytest.approx(roc_auc_score(y == "star", cnn.predict_proba(X)[:, 1]))
    labels = disp.ax_.get_legend().get_texts()
    assert any("CNN (AUC = " in t.get_text() for t in labels)
    assert len(disp.curves_) == 3
    _saved(disp.figure_, tmp_path, "roc")
    disp2 = RocCurvesDisplay.from_estimators({"CNN": cnn}, X, y, pos_label="star")
    assert disp2.roc_auc_["CNN"] == pytest.approx(disp.roc_auc_["CNN"])


def test_latent_space_from_cnn_embed_and_pca(data, cnn, tmp_path):
    X, y = data
    disp = LatentSpaceDisplay.from_estimator(cnn, X, y)
    assert len(disp.scatter_) == 2 and disp.ax_.get_title() == "CNNClassifier"
    _saved(disp.figure_, tmp_path, "latent_cnn")
    flat = X.reshape(len(X), -1)
    pca = PCA(3).fit(flat)
    cont = LatentSpaceDisplay.from_estimator(pca, flat, np.linspace(14, 22, len(X)), dims=(0, 2))
    assert cont.ax_.get_xlabel() == "latent 0" and cont.ax_.get_ylabel() == "latent 2"
    np.testing.assert_allclose(cont.scatter_[0].get_offsets()[:, 1], pca.transform(flat)[:, 2],
                               rtol=1e-5)
    with pytest.raises(ValueError, match="Z must have shape"):
        LatentSpaceDisplay.from_embedding(np.zeros((5, 1)))


def test_reconstruction_from_pca(data, tmp_path):
    X, _ = data
    flat = X.reshape(len(X), -1)
    pca = PCA(5).fit(flat)
    disp = ReconstructionDisplay.from_estimator(pca, flat, n_images=6, image_shape=X.shape[1:])
    assert disp.axes_.shape == (3, 6)
    # the residual row shows input - output of the middle band
    expected = X[0, 2] - pca.inverse_transform(pca.transform(flat[:1])).reshape(X.shape[1:])[2]
    np.testing.assert_allclose(disp.axes_[2, 0].images[0].get_array(), expected, rtol=1e-4,
                               atol=1e-4)
    _saved(disp.figure_, tmp_path, "reconstruction")
    with pytest.raises(ValueError, match="same shape"):
        ReconstructionDisplay.from_predictions(X[:3], X[:2])


def test_segmentation_overlay_from_pixel_clustering(data, tmp_path):
    X, _ = data
    image = X[1]
    pixels = image.reshape(5, -1).T  # per-pixel colours
    km = KMeans(2, n_init=3, random_state=0).fit(pixels)
    pred = km.labels_.reshape(image.shape[1:])
    if pred[10, 10] == 0:  # source = class 1
        pred = 1 - pred
    truth = (image.sum(axis=0) > 10).astype(int)
    disp = SegmentationOverlayDisplay.from_predictions(image, pred, labels_true=truth,
                                                       class_names={1: "source"})
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend == ["source", "reference"]
    _saved(disp.figure_, tmp_path, "segmentation")


def test_feature_maps_of_fitted_cnn(data, cnn, tmp_path):
    X, _ = data
    disp = FeatureMapDisplay.from_estimator(cnn, X[1], n_maps=4)
    assert disp.axes_.shape == (2, 5)
    # first row shows block0's maps: 4 channels, 20 -> 10 pixels after pooling
    assert disp.feature_maps["features.block0"].shape == (4, 10, 10)
    assert cnn.net_.module_.training is False  # state restored
    _saved(disp.figure_, tmp_path, "feature_maps")
    with pytest.raises(ValueError, match="Unknown layer"):
        FeatureMapDisplay.from_estimator(cnn, X[1], layers=["nope"])


def test_image_grid_from_kmeans_and_cutouts(data, tmp_path):
    X, y = data
    Z = PCA(4).fit_transform(X.reshape(len(X), -1))
    km = KMeans(3, n_init=3, random_state=0).fit(Z)
    disp = ImageGridDisplay.from_estimator(km, Z, X_images=X, n_per_group=5)
    assert disp.axes_.shape == (3, 5)
    assert disp.axes_[0, 0].get_ylabel().startswith("0 (n=")
    _saved(disp.figure_, tmp_path, "clusters")
    cut = plot_cutouts(X[:10], titles=y[:10], n_cols=5)
    assert cut.axes_.shape == (2, 5) and cut.axes_[0, 0].get_title() == y[0]
    _saved(cut.figure_, tmp_path, "cutouts")


def test_confusion_matrices(data, cnn, tmp_path):
    X, y = data
    disps = plot_confusion_matrices(y, {"CNN": cnn.predict(X), "all galaxies": ["galaxy"] * len(y)})
    np.testing.assert_allclose(disps["all galaxies"].confusion_matrix, [[1, 0], [1, 0]])
    _saved(disps["CNN"].figure_, tmp_path, "confusion")


def test_embed_2d_tsne_umap_hint_and_fallback(monkeypatch):
    import sys

    from galaxy_learn.plotting import embed_2d

    Z = np.random.default_rng(0).normal(size=(30, 4))
    Z2, used = embed_2d(Z, method="tsne", random_state=0)
    assert Z2.shape == (30, 2) and used == "tsne"
    np.testing.assert_allclose(Z2, embed_2d(Z, method="tsne", random_state=0)[0])
    monkeypatch.setitem(sys.modules, "umap", None)  # umap-learn not installed
    with pytest.raises(ImportError, match="pip install umap-learn"):
        embed_2d(Z, method="umap")
    assert embed_2d(Z, method="auto")[1] == "tsne"
    with pytest.raises(ValueError, match="'method'.*'pca'"):
        embed_2d(Z, method="pca")
    with pytest.raises(ValueError, match="n_samples >= 4"):
        embed_2d(Z[:3])
    disp = LatentSpaceDisplay.from_manifold(Z, Z[:, 0] > 0, method="auto")
    assert disp.method_ == "tsne" and disp.ax_.get_xlabel() == "t-SNE 1"
    assert len(disp.scatter_) == 2


def test_embed_2d_umap_wiring(monkeypatch):
    """method='umap' (and 'auto' when umap-learn imports) calls umap.UMAP with our defaults."""
    import sys
    import types

    from galaxy_learn.plotting import embed_2d

    seen = {}

    class FakeUMAP:
        def __init__(self, **params):
            seen.update(params)

        def fit_transform(self, Z):
            return Z[:, :2] * 2

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    Z = np.random.default_rng(0).normal(size=(10, 3))
    Z2, used = embed_2d(Z, random_state=3, min_dist=0.5)
    assert used == "umap"
    np.testing.assert_allclose(Z2, 2 * Z[:, :2])
    assert seen == dict(n_neighbors=9, random_state=3, n_jobs=1, min_dist=0.5)
