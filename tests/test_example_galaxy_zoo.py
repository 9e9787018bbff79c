"""The Galaxy Zoo example runs end to end on a tiny synthetic JPG + CSV set in Galaxy Zoo's format."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

PIL = pytest.importorskip("PIL.Image")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plot_galaxy_zoo_cnn.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("plot_galaxy_zoo_cnn", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_fake_galaxy_zoo(directory, n=40, size=96, seed=0):
    """Smooth round blobs ('elliptical', Class1.1 wins) vs two-armed spirals ('spiral', Class1.2),
    plus two 'star/artifact' rows (Class1.3) that the example must drop."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r, phi = np.hypot(xx, yy), np.arctan2(yy, xx)
    rows = []
    for k in range(n + 2):
        gid = 100000 + k
        if k >= n:
            img, votes = np.exp(-r**2 / 2.0), [0.1, 0.1, 0.8]
        elif k % 2:
            arms = 0.5 + 0.5 * np.cos(2 * phi - 0.35 * r + rng.uniform(0, 2 * np.pi))
            img, votes = np.exp(-r / 12) * (0.3 + arms), [0.2, 0.75, 0.05]
        else:
            img, votes = np.exp(-(r / 14) ** 2), [0.8, 0.15, 0.05]
        rgb = np.clip(img[..., None] * [220, 200, 170] + rng.normal(0, 4, (size, size, 3)), 0, 255)
        PIL.fromarray(rgb.astype(np.uint8)).save(directory / f"{gid}.jpg", quality=90)
        rows.append({"GalaxyID": gid, "Class1.1": votes[0], "Class1.2": votes[1],
                     "Class1.3": votes[2]})
    csv = directory / "training_solutions_rev1.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv


def test_galaxy_zoo_example_end_to_end(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    csv = _write_fake_galaxy_zoo(images)
    out = tmp_path / "out"
    example = _load_example()
    args = [str(images), str(csv), "--image-size", "24", "--crop", "96", "--epochs", "12",
            "--batch-size", "8", "--channels", "4,8", "--dense", "16", "--device", "cpu",
            "--out", str(out), "--random-state", "0"]
    metrics = example.main(args)
    assert metrics["_data"] == {"n_train": 20, "n_test": 20, "cnn_epochs": metrics["_data"]["cnn_epochs"],
                                "seed_004_cnn_accuracy": 0.7854}
    assert metrics["CNN"]["accuracy"] >= 0.8
    assert 0 <= metrics["decision tree (pixels)"]["roc_auc"] <= 1
    for name in ["roc.png", "confusion.png", "feature_maps.png", "examples.png"]:
        assert (out / name).stat().st_size > 1000
    assert json.loads((out / "metrics.json").read_text())["CNN"]["accuracy"] == metrics["CNN"]["accuracy"]


def test_galaxy_zoo_example_init_weights(tmp_path):
    """--init-weights loads a ConvNet state_dict (weights_only) before training."""
    from galaxy_learn.nn import ConvNet

    images = tmp_path / "images"
    images.mkdir()
    csv = _write_fake_galaxy_zoo(images, n=40)
    net = ConvNet((3, 16, 16), 2, channels=(4,), dense_units=(8,))
    torch.save(net.state_dict(), tmp_path / "w.pt")
    example = _load_example()
    args = [str(images), str(csv), "--image-size", "16", "--crop", "96", "--epochs", "1",
            "--batch-size", "4", "--channels", "4", "--dense", "8", "--device", "cpu",
            "--out", str(tmp_path / "o"), "--no-baselines", "--init-weights", str(tmp_path / "w.pt")]
    assert "CNN" in example.main(args)
    bad = ConvNet((3, 16, 16), 2, channels=(8,), dense_units=(8,))
    torch.save(bad.state_dict(), tmp_path / "bad.pt")
    with pytest.raises(RuntimeError, match="size mismatch"):
        example.main(args[:-1] + [str(tmp_path / "bad.pt")])
