"""A tiny torch-owning estimator for the product tests (persistence, Dask, Accelerate, memmap).

It follows the toolkit's conventions (owns a skorch ``net_`` built in ``fit``, seeded, batched
``transform``) while being small enough to fit in milliseconds. Not part of the public API.
"""
import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from galaxy_learn._base import NetEstimatorMixin
from galaxy_learn.utils import batched_apply, torch_seeded, validate_image_data
from galaxy_learn.utils._compat import check_is_fitted


class _LinearAE(torch.nn.Module):
    def __init__(self, n_features=4, n_components=2):
        super().__init__()
        self.encoder = torch.nn.Linear(n_features, n_components)
        self.decoder = torch.nn.Linear(n_components, n_features)

    def encode(self, x):
        return self.encoder(x.flatten(1))

    def forward(self, x):
        return self.decoder(self.encode(x))


class TinyAutoencoder(NetEstimatorMixin, TransformerMixin, BaseEstimator):
    """Linear autoencoder on flattened images; ``transform`` gives the codes."""

    def __init__(self, n_components=2, *, max_epochs=2, lr=0.01, batch_size=16, device="cpu",
                 random_state=None, verbose=0, callbacks=None, accelerator=None):
        self.n_components = n_components
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.accelerator = accelerator

    def fit(self, X, y=None):
        from skorch import NeuralNet

        from galaxy_learn.nets import build_net

        X = validate_image_data(self, X, reset=True, allow_tabular=True)
        X = X.reshape(len(X), -1)
        seed = self._fit_seed()
        device = self._resolve_device()
        with torch_seeded(seed, device):
            self.net_ = build_net(
                NeuralNet,
                accelerator=self.accelerator,
                module=_LinearAE,
                module__n_features=X.shape[1],
                module__n_components=self.n_components,
                criterion=torch.nn.MSELoss,
                optimizer=torch.optim.Adam,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                train_split=None,
                device=device,
                callbacks=self._make_callbacks(),
                iterator_train__shuffle=True,
                iterator_train__generator=torch.Generator().manual_seed(seed),
                verbose=0,
            )
            self.net_.fit(X, X)
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_image_data(self, X, reset=False, allow_tabular=True)
        module = self.net_.module_.eval()
        return batched_apply(module.encode, X, batch_size=self.batch_size, device=self.net_.device)


def tiny_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 1, 4, 4)).astype(np.float32)
