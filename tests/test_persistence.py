"""Save / load: round trips, the pickle opt-in, version stamps, loading across devices."""
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from galaxy_learn import persistence
from galaxy_learn.persistence import ModelVersionWarning, load, read_metadata, save

from _tiny_net import TinyAutoencoder, tiny_data


def _flatten(X):
    return np.asarray(X).reshape(len(X), -1)


@pytest.fixture
def fitted_pipeline():
    X = tiny_data()
    pipe = Pipeline([("ae", TinyAutoencoder(n_components=3, random_state=0)),
                     ("scale", StandardScaler()), ("pca", PCA(n_components=2))])
    return pipe.fit(X), X


def test_round_trip_pipeline_with_torch_estimator(tmp_path, fitted_pipeline):
    pipe, X = fitted_pipeline
    path = save(pipe, tmp_path / "sub" / "model.glm")
    assert path.exists() and not path.with_name("model.glm.tmp").exists()
    loaded = load(path, allow_pickle=True)
    assert loaded is not pipe
    np.testing.assert_array_equal(loaded.transform(X), pipe.transform(X))
    assert loaded.named_steps["ae"].get_params() == pipe.named_steps["ae"].get_params()


def test_refuses_without_opt_in_and_shows_metadata(tmp_path, fitted_pipeline):
    pipe, _ = fitted_pipeline
    path = save(pipe, tmp_path / "model.glm")
    with pytest.raises(ValueError, match=r"allow_pickle=True.*executes code.*Pipeline"):
        load(path)
    # The metadata is readable without unpickling.
    meta = read_metadata(path)
    assert meta["estimator_class"] == "sklearn.pipeline.Pipeline"
    assert meta["devices"] == ["cpu"]
    assert set(meta["versions"]) >= {"galaxy_learn", "torch", "scikit-learn", "skorch", "numpy"}


def test_plain_pickle_needs_opt_in_and_warns(tmp_path):
    scaler = StandardScaler().fit(np.arange(6.0).reshape(3, 2))
    path = tmp_path / "scaler.pkl"
    path.write_bytes(pickle.dumps(scaler))
    with pytest.raises(ValueError, match="plain pickle/joblib.*allow_pickle=True"):
        load(path)
    with pytest.warns(ModelVersionWarning, match="no galaxy_learn version stamp"):
        loaded = load(path, allow_pickle=True)
    np.testing.assert_array_equal(loaded.mean_, scaler.mean_)


def _rewrite_metadata(path, **changes):
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("metadata.json"))
        payload = zf.read("estimator.pkl")
    for key, value in changes.items():
        if key == "versions":
            meta["versions"].update(value)
        else:
            meta[key] = value
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        zf.writestr("estimator.pkl", payload)


def test_version_mismatch_warns_errors_or_ignores(tmp_path):
    scaler = StandardScaler().fit(np.arange(6.0).reshape(3, 2))
    path = save(scaler, tmp_path / "scaler.glm")
    _rewrite_metadata(path, versions={"torch": "1.0.0", "skorch": "0.1"})
    with pytest.warns(ModelVersionWarning, match=r"torch 1\.0\.0 \(running .*skorch 0\.1"):
        load(path, allow_pickle=True)
    with pytest.raises(ValueError, match="saved with torch 1.0.0"):
        load(path, allow_pickle=True, on_version_mismatch="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(path, allow_pickle=True, on_version_mismatch="ignore")
    with pytest.raises(ValueError, match="'on_version_mismatch' parameter"):
        load(path, allow_pickle=True, on_version_mismatch="maybe")


def test_same_versions_load_silently(tmp_path):
    path = save(StandardScaler().fit([[0.0], [1.0]]), tmp_path / "s.glm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(path, allow_pickle=True)
    assert [str(w.message) for w in caught] == []
    assert isinstance(model, StandardScaler)
    np.testing.assert_array_equal(model.mean_, [0.5])
    np.testing.assert_array_equal(model.transform([[0.0], [1.0]]), [[-1.0], [1.0]])


def test_corrupted_newer_and_foreign_files(tmp_path):
    path = save(StandardScaler().fit([[0.0], [1.0]]), tmp_path / "s.glm")
    _rewrite_metadata(path, payload_sha256="0" * 64)
    with pytest.raises(ValueError, match="corrupted"):
        load(path, allow_pickle=True)
    _rewrite_metadata(path, format_version=persistence.FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match="newer than this galaxy_learn"):
        load(path, allow_pickle=True)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(ValueError, match="not a galaxy_learn model file"):
        load(other, allow_pickle=True)
    with pytest.raises(FileNotFoundError, match="not found"):
        load(tmp_path / "missing.glm", allow_pickle=True)


def _fake_cuda_fit(tmp_path):
    """Fit on the CPU, then mark estimator and net as CUDA ones, as a GPU machine would save."""
    X = tiny_data()
    pipe = Pipeline([("flat", FunctionTransformer()),
                     ("ae", TinyAutoencoder(random_state=0))]).fit(X)
    expected = pipe.transform(X)
    ae = pipe.named_steps["ae"]
    ae.device = "cuda"
    ae.net_.device = "cuda"
    return save(pipe, tmp_path / "gpu.glm"), X, expected


def test_cuda_saved_model_loads_on_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    path, X, expected = _fake_cuda_fit(tmp_path)
    assert read_metadata(path)["devices"] == ["cuda"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit device: no warning
        loaded = load(path, allow_pickle=True, device="cpu")
    ae = loaded.named_steps["ae"]
    assert ae.device == "cpu" and str(ae.net_.device) == "cpu"
    assert all(p.device.type == "cpu" for p in ae.net_.module_.parameters())
    np.testing.assert_allclose(loaded.transform(X), expected, rtol=1e-6)
    # Without device=, skorch maps to the CPU and we say so once, naming the fix.
    with pytest.warns(UserWarning, match="saved on a CUDA device.*device='cpu'"):
        loaded = load(path, allow_pickle=True)
    assert loaded.named_steps["ae"].device == "cpu"
    np.testing.assert_allclose(loaded.transform(X), expected, rtol=1e-6)


def test_load_device_is_validated(tmp_path, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    path = save(StandardScaler().fit([[0.0], [1.0]]), tmp_path / "s.glm")
    with pytest.raises(ValueError, match="no CUDA device"):
        load(path, allow_pickle=True, device="cuda")


def test_round_trip_real_pipeline_across_devices(tmp_path, monkeypatch):
    """The mission's pipeline with a real VAEEncoder: identical outputs after save/load, also
    when it was (notionally) fitted on a GPU and is loaded on a CPU-only machine."""
    from sklearn.manifold import Isomap

    from galaxy_learn import ThresholdClassifier, VAEEncoder

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    X = np.random.default_rng(0).gamma(2.0, 1.0, size=(40, 2, 16, 16)).astype(np.float32)
    pipe = Pipeline([("vae", VAEEncoder(max_epochs=1, batch_size=16, channels=(4, 8),
                                        hidden_units=8, device="cpu", random_state=0)),
                     ("iso", Isomap(n_neighbors=10)),
                     ("cut", ThresholdClassifier(class_prior=0.4))]).fit(X)
    expected = pipe.decision_function(X), pipe.predict(X)
    vae = pipe.named_steps["vae"]
    vae.device, vae.net_.device = "cuda", "cuda"  # as a GPU machine would have saved it
    path = save(pipe, tmp_path / "pipe.glm")
    loaded = load(path, allow_pickle=True, device="cpu")
    assert loaded.named_steps["vae"].device == "cpu"
    np.testing.assert_allclose(loaded.decision_function(X), expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(X), expected[1])
