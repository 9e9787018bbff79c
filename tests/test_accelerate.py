"""Training through skorch's Accelerate integration: the single-process path, on the CPU."""
import pickle

import numpy as np
import pytest

from galaxy_learn.nets import build_net

accelerate = pytest.importorskip("accelerate", reason="accelerate is an optional extra")

from _tiny_net import TinyAutoencoder, tiny_data  # noqa: E402


def _accelerator():
    return accelerate.Accelerator(cpu=True)


def test_accelerated_fit_matches_plain_fit_and_pickles():
    X = tiny_data()
    plain = TinyAutoencoder(random_state=0).fit(X)
    acc = TinyAutoencoder(random_state=0, accelerator=_accelerator()).fit(X)
    assert type(acc.net_).__name__ == "AcceleratedNeuralNet"
    # Same seed, same data, one CPU process: accelerate changes nothing numerically.
    np.testing.assert_allclose(acc.transform(X), plain.transform(X), rtol=1e-5, atol=1e-6)
    # skorch cannot pickle accelerated nets; ours pickle as the plain net on the accelerator's
    # device, so the estimator persists like any other.
    net = pickle.loads(pickle.dumps(acc.net_))
    assert type(net).__name__ == "NeuralNet" and not hasattr(net, "accelerator")
    assert str(net.device) == "cpu"
    est = pickle.loads(pickle.dumps(acc))
    np.testing.assert_allclose(est.transform(X), acc.transform(X))


def test_build_net_rejects_non_accelerator():
    from skorch import NeuralNet

    with pytest.raises(ValueError, match="'accelerator' parameter must be an accelerate"):
        build_net(NeuralNet, accelerator="yes", module=object)


def test_vae_encoder_trains_through_accelerate_single_process():
    from galaxy_learn import VAEEncoder

    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 6)).astype(np.float32)
    params = dict(max_epochs=2, batch_size=16, hidden_units=8, random_state=0, device="cpu")
    plain = VAEEncoder(**params).fit(X)
    acc = VAEEncoder(**params, accelerator=_accelerator()).fit(X)
    assert type(acc.net_).__name__ == "AcceleratedVAENet"
    np.testing.assert_allclose(acc.transform(X), plain.transform(X), rtol=1e-4, atol=1e-5)
    restored = pickle.loads(pickle.dumps(acc))
    assert type(restored.net_).__name__ == "VAENet"
    np.testing.assert_allclose(restored.transform(X), acc.transform(X))


def test_vae_encoder_rejects_non_accelerator():
    from galaxy_learn import VAEEncoder

    with pytest.raises(ValueError, match="accelerator"):
        VAEEncoder(accelerator="yes").fit(np.zeros((8, 3), dtype=np.float32))
