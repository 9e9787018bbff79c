"""Unsupervised classification metrics against scikit-learn and hand-computed cases."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

from galaxy_learn.metrics import best_alignment_accuracy, scores_by_magnitude, unsupervised_roc_auc


def test_unsupervised_auc_matches_sklearn_and_orientation(rng):
    y = rng.integers(0, 2, 200)
    s = y + rng.normal(0, 1.0, 200)
    auc = roc_auc_score(y, s)
    assert auc > 0.5
    assert unsupervised_roc_auc(y, s) == pytest.approx(auc)
    assert unsupervised_roc_auc(y, -s, return_orientation=True) == (pytest.approx(auc), -1)
    assert unsupervised_roc_auc(y, s, return_orientation=True)[1] == 1


def test_unsupervised_auc_string_labels_and_pos_label():
    y = np.array(["GALAXY", "STAR", "STAR", "GALAXY"])
    s = np.array([0.1, 0.9, 0.2, 0.3])  # hand: pairs (STAR, GALAXY): 0.9>0.1,0.9>0.3,0.2>0.1,0.2<0.3
    assert unsupervised_roc_auc(y, s, return_orientation=True) == (0.75, 1)
    assert unsupervised_roc_auc(y, s, pos_label="GALAXY", return_orientation=True) == (0.75, -1)


def test_unsupervised_auc_errors():
    with pytest.raises(ValueError, match="two classes; got 3"):
        unsupervised_roc_auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="NaN or infinite"):
        unsupervised_roc_auc([0, 1], [0.1, np.nan])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.floats(-1e6, 1e6)), min_size=2, max_size=60).filter(
        lambda r: 0 < sum(b for b, _ in r) < len(r)
    )
)
def test_unsupervised_auc_invariant_to_negation(rows):
    y = np.array([b for b, _ in rows], dtype=int)
    s = np.array([v for _, v in rows])
    a, o = unsupervised_roc_auc(y, s, return_orientation=True)
    b, p = unsupervised_roc_auc(y, -s, return_orientation=True)
    assert a == pytest.approx(b)
    assert 0.5 <= a <= 1.0
    assert o == -p or a == pytest.approx(0.5)


def test_best_alignment_hand_cases():
    assert best_alignment_accuracy([0, 0, 1, 1], [1, 1, 0, 0]) == 1.0
    # hand: clusters {a: classes 0,0,1}, {b: 1}: a->0, b->1 gives 3/4
    acc, mapping = best_alignment_accuracy([0, 0, 1, 1], ["a", "a", "a", "b"], return_mapping=True)
    assert acc == 0.75 and mapping == {"a": 0, "b": 1}
    # more clusters than classes: the unmatched cluster counts as wrong
    assert best_alignment_accuracy([0, 0, 1, 1], [0, 1, 2, 2]) == 0.75


def test_best_alignment_equals_accuracy_when_aligned(rng):
    y = rng.integers(0, 3, 300)
    pred = np.where(rng.random(300) < 0.8, y, rng.integers(0, 3, 300))
    assert best_alignment_accuracy(y, pred) == pytest.approx(accuracy_score(y, pred))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), min_size=1, max_size=50),
    st.permutations([0, 1, 2, 3]),
)
def test_best_alignment_invariant_to_label_permutation(rows, perm):
    y = np.array([a for a, _ in rows])
    pred = np.array([b for _, b in rows])
    renamed = np.asarray(perm)[pred]
    assert best_alignment_accuracy(y, renamed) == pytest.approx(best_alignment_accuracy(y, pred))
    assert best_alignment_accuracy(y, pred) >= accuracy_score(y, pred) - 1e-12


def test_scores_by_magnitude_against_sklearn(rng):
    n = 600
    y = rng.integers(0, 2, n)
    mag = rng.uniform(16, 23, n)
    score = y * (23 - mag) / 3 + rng.normal(0, 1, n)  # separability falls with magnitude
    pred = (score > 0.5).astype(int)
    bins = [16, 19, 21, 23]
    table = scores_by_magnitude(y, pred, mag, y_score=score, bins=bins)
    assert list(table.index) == ["(16, 19]", "(19, 21]", "(21, 23]", "all"]
    for (lo, hi), (_, row) in zip(zip(bins[:-1], bins[1:]), table.iloc[:-1].iterrows()):
        sel = (mag > lo) & (mag <= hi)
        assert row["n"] == sel.sum() and row["n_positive"] == y[sel].sum()
        assert row["auc"] == pytest.approx(roc_auc_score(y[sel], score[sel]))
        assert row["accuracy"] == pytest.approx(accuracy_score(y[sel], pred[sel]))
        assert row["completeness"] == pytest.approx(recall_score(y[sel], pred[sel]))
        assert row["purity"] == pytest.approx(precision_score(y[sel], pred[sel]))
    assert table.loc["all", "n"] == n
    assert table.loc["all", "auc"] == pytest.approx(roc_auc_score(y, score))
    assert table["auc"].iloc[0] > table["auc"].iloc[2]


def test_scores_by_magnitude_unsupervised_orients_once(rng):
    y = np.r_[np.ones(50), np.zeros(50), np.ones(50), np.zeros(50)].astype(int)
    mag = np.r_[np.full(100, 17.0), np.full(100, 21.0)]
    # bright bin: high score = positive (perfect); faint bin: reversed (AUC 0 in that orientation)
    score = np.r_[np.ones(50), np.zeros(50), np.zeros(50), np.ones(50)] + np.arange(200) * 1e-6
    score[:100] *= 2  # overall AUC > 0.5 in the + orientation
    table = scores_by_magnitude(y, y, mag, y_score=-score, bins=[16, 18, 22], unsupervised=True)
    assert table["auc"].iloc[0] == pytest.approx(1.0)
    assert table["auc"].iloc[1] == pytest.approx(0.0)  # not flattered to 1.0


def test_scores_by_magnitude_empty_and_one_class_bins():
    table = scores_by_magnitude(
        ["G", "S", "S"], ["G", "S", "G"], [17, 17.5, 21], y_score=[0, 1, 0.5], bins=[16, 18, 20, 22],
        pos_label="S",
    )
    assert table["n"].tolist() == [2, 0, 1, 3]
    assert np.isnan(table["accuracy"].iloc[1]) and np.isnan(table["auc"].iloc[2])
    assert table["completeness"].iloc[2] == 0.0


def test_scores_by_magnitude_bad_bins():
    with pytest.raises(ValueError, match="'bins' parameter must be at least two increasing"):
        scores_by_magnitude([0, 1], [0, 1], [17, 18], bins=[20, 18])
