"""One place for scikit-learn private helpers that move between releases.

Importing them from here means a scikit-learn release that renames one is a one-file fix.
"""
from sklearn.utils._param_validation import Interval, StrOptions, HasMethods  # noqa: F401
from sklearn.utils.validation import check_is_fitted  # noqa: F401

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def validate_data(estimator, X="no_validation", y="no_validation", reset=True, **kwargs):
        return estimator._validate_data(X, y, reset=reset, **kwargs)

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import _check_feature_names  # noqa: F401
except ImportError:  # pragma: no cover
    _check_feature_names = None

from sklearn.base import _fit_context  # noqa: E402,F401  (scikit-learn >= 1.3)
from sklearn.utils.validation import _check_feature_names_in  # noqa: E402,F401

__all__ = [
    "Interval",
    "StrOptions",
    "HasMethods",
    "check_is_fitted",
    "validate_data",
]
