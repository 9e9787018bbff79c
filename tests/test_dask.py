"""Scale-out: GridSearchCV over a galaxy_learn pipeline on a Dask cluster via joblib's backend."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

pytest.importorskip("distributed", reason="dask.distributed is optional (the 'dask' extra)")

import joblib  # noqa: E402
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402

from _tiny_net import TinyAutoencoder, tiny_data  # noqa: E402


def test_grid_search_runs_on_a_two_worker_dask_cluster():
    X = tiny_data(48)
    grid = {"tinyautoencoder__n_components": [2, 3], "tinyautoencoder__lr": [0.01, 0.05]}
    pipe = make_pipeline(TinyAutoencoder(random_state=0), PCA(n_components=2))
    # In-process workers keep the test fast (spawning two torch processes costs ~20 s here).
    # Production runs use processes: torch's RNG is process-global, so concurrent fits in
    # threads of one process are not bit-reproducible (docs/scaling.rst).
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            search = GridSearchCV(pipe, grid, cv=2, n_jobs=-1).fit(X)
    workers = {task["worker"] for task in stream.data}
    assert len(stream.data) > 0 and len(workers) >= 1  # the fits ran on the cluster
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # The refit (in this process) is the serial fit of the best parameters.
    best = clone(pipe).set_params(**search.best_params_).fit(X)
    np.testing.assert_allclose(search.transform(X), best.transform(X), rtol=1e-6)
