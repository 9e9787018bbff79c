"""Segmentation / detection metrics against scikit-learn and hand-computed references."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score, jaccard_score

from galaxy_learn.metrics import (
    detection_scores,
    dice_score,
    match_objects,
    object_centroids,
    pixel_iou,
)

masks = arrays(np.int8, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.integers(0, 3))


@settings(max_examples=30, deadline=None)
@given(t=masks, data=st.data())
def test_iou_and_dice_match_sklearn_and_each_other(t, data):
    p = data.draw(arrays(np.int8, t.shape, elements=st.integers(0, 3)))
    tb, pb = (t > 0).ravel(), (p > 0).ravel()
    iou, dice = pixel_iou(t, p), dice_score(t, p)
    if tb.any() or pb.any():
        assert iou == pytest.approx(jaccard_score(tb, pb, zero_division=1.0))
        assert dice == pytest.approx(f1_score(tb, pb, zero_division=1.0))
    else:
        assert iou == dice == 1.0
    assert dice == pytest.approx(2 * iou / (1 + iou))
    assert pixel_iou(p, t) == iou


def test_pixel_metrics_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        pixel_iou(np.zeros((2, 2)), np.zeros((2, 3)))


def test_match_objects_is_one_to_one_nearest_first():
    true = [[0, 0], [3, 0], [10, 10]]
    pred = [[1, 0], [1.5, 0], [20, 20]]
    ti, pi = match_objects(true, pred, max_distance=2.0)
    # (0,0)-(1,0) at 1.0 and (3,0)-(1.5,0) at 1.5; each used once
    assert sorted(zip(ti.tolist(), pi.tolist())) == [(0, 0), (1, 1)]
    ti, pi = match_objects(true, [[1, 0]], max_distance=2.0)
    assert ti.tolist() == [0] and pi.tolist() == [0]
    assert len(match_objects([], pred)[0]) == 0


def test_detection_scores_by_hand():
    true = [[10, 10], [30, 30], [50, 50], [70, 70]]
    snr = [2.0, 6.0, 12.0, 40.0]
    pred = [[10.5, 10], [30, 32.5], [50, 51], [90, 90], [71, 71]]
    s = detection_scores(true, pred, true_snr=snr, snr_bins=(0, 5, 20, np.inf))
    # matches: (10,10) 0.5 px, (50,50) 1 px, (70,70) 1.41 px; (30,30) is 2.5 px away
    assert s["n_matched"] == 3 and s["completeness"] == 0.75 and s["purity"] == 0.6
    assert s["completeness_above"] == pytest.approx(2 / 3)
    assert s["per_bin"]["n_true"].tolist() == [1, 2, 1]
    assert s["per_bin"]["n_matched"].tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="one value per true object"):
        detection_scores(true, pred, true_snr=[1.0])


def test_object_centroids_geometric_and_weighted():
    labels = np.zeros((5, 6), int)
    labels[1:3, 1:4] = 2
    labels[4, 5] = 5
    xy, ids = object_centroids(labels)
    assert ids.tolist() == [2, 5]
    np.testing.assert_allclose(xy, [[2.0, 1.5], [5.0, 4.0]])
    image = np.zeros((5, 6))
    image[2, 3] = 1.0
    xy, _ = object_centroids(labels, image)
    np.testing.assert_allclose(xy[0], [3.0, 2.0])
    np.testing.assert_allclose(xy[1], [5.0, 4.0])  # no positive flux: geometric fallback
