"""Save and load fitted estimators and pipelines, with a version stamp and across devices.

A saved model is a zip archive holding two members:

``metadata.json``
    Plain JSON, readable without trusting the file: the format version, the date, the estimator's
    class, the device its networks were on, the versions of python, galaxy_learn, torch,
    scikit-learn, skorch and numpy that wrote it, and the SHA-256 of the payload.
``estimator.pkl``
    The estimator itself, pickled (skorch nets pickle their torch modules through ``torch.save``).

Why loading needs ``allow_pickle=True``
    Unpickling runs code chosen by whoever wrote the file: a malicious model file can do anything
    your Python process can. There is no safe way to unpickle an arbitrary scikit-learn object, so
    :func:`load` refuses unless the caller says the file is trusted (``allow_pickle=True``), and its
    error shows the file's metadata (read safely) so one can decide. The SHA-256 (and the zip's
    CRC-32 of each member) detects a truncated or corrupted file, which is refused as "damaged or
    truncated" and never unpickled as a plain pickle; it is *not* a signature (anyone who can change the payload can change the
    hash). Raw torch weights anywhere in the toolkit are read with ``torch.load(weights_only=True)``.

Across devices
    A network fitted on a GPU can be loaded on a CPU-only machine: ``load(path, device="cpu")``
    maps every tensor to the CPU while unpickling (skorch's ``__setstate__`` mechanism) and sets
    the ``device`` parameter of every estimator in the loaded object, so ``transform`` runs on the
    CPU. Without ``device=``, networks stay where they were saved when that device exists, and fall
    back to the CPU with a warning otherwise.
"""
import datetime
import hashlib
import importlib.metadata
import json
import pickle
import platform
import warnings
import zipfile
from pathlib import Path

from ._io import check_input_path
from ._version import __version__

__all__ = ["ModelVersionWarning", "load", "read_metadata", "save"]

FORMAT_NAME = "galaxy_learn-model"
FORMAT_VERSION = 1
_METADATA = "metadata.json"
_PAYLOAD = "estimator.pkl"
# Packages whose versions change what a fitted estimator computes or whether it unpickles.
_STAMPED = ("galaxy_learn", "torch", "scikit-learn", "skorch", "numpy")


class ModelVersionWarning(UserWarning):
    """A model file was written with versions that differ from the running ones."""


def _damaged(path, detail):
    msg = (
        f"{str(path)!r} is a galaxy_learn model file that is damaged or truncated (checksum "
        f"mismatch: {detail}). Save the model again or restore the file from a copy."
    )
    return ValueError(msg)


def _check_path(path):
    return check_input_path(path, what="Model file", expected="a galaxy_learn model file")


def _is_ours(path):
    """Whether ``path`` starts like a file written by :func:`save`, readable or not.

    :func:`save` writes ``metadata.json`` as the first member, so its first zip local header
    names it; this survives truncation (which destroys the zip's central directory at the end)
    and so keeps a damaged model from being mistaken for a plain pickle.
    """
    with open(path, "rb") as fh:
        head = fh.read(30 + len(_METADATA))
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return False
    name_len = int.from_bytes(head[26:28], "little")
    return name_len == len(_METADATA) and head[30:30 + name_len] == _METADATA.encode()


def _read_member(zf, name, path):
    import zlib

    try:
        return zf.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        # NotImplementedError: a damaged header naming a zip version or compression method
        raise _damaged(path, f"member {name!r}: {exc}") from exc


def _installed_versions():
    versions = {"python": platform.python_version(), "galaxy_learn": __version__}
    for pkg in _STAMPED[1:]:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - core dependencies
            versions[pkg] = None
    return versions


def _estimators_in(value):
    """Estimators held by an attribute value: itself, or inside a list / tuple / dict."""
    if isinstance(value, dict):
        value = list(value.values())
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if isinstance(item, tuple):  # ("name", estimator) steps
            out += [c for c in item if _is_estimator(c)]
        elif _is_estimator(item):
            out.append(item)
    return out


def _is_estimator(obj):
    return hasattr(obj, "get_params") and not isinstance(obj, type)


def _iter_objects(obj, _seen=None):
    """Yield ``obj`` and every estimator nested in it, fitted or not, at any depth.

    Follows parameters (pipeline steps, ``extractor=``) and fitted attributes holding estimators
    (``best_estimator_``, ``extractor_``, ``scaler_``, ...), but not into skorch nets.
    """
    seen = set() if _seen is None else _seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    if _is_skorch_net(obj):
        return
    children = []
    if hasattr(obj, "get_params"):
        try:
            params = obj.get_params(deep=False)
        except Exception:  # noqa: BLE001 - foreign objects with an unusual get_params
            params = {}
        for value in params.values():
            children += _estimators_in(value)
    for name, value in getattr(obj, "__dict__", {}).items():
        if name.endswith("_") and name != "net_":
            children += _estimators_in(value)
    for child in children:
        yield from _iter_objects(child, seen)


def _is_skorch_net(obj):
    from .nets import is_net

    return is_net(obj)


def _nets_of(obj):
    """The skorch nets owned (as ``net_``) by estimators inside ``obj``, with their owners."""
    out = []
    for est in _iter_objects(obj):
        net = getattr(est, "__dict__", {}).get("net_")
        if net is not None and _is_skorch_net(net):
            out.append((est, net))
        elif _is_skorch_net(est):
            out.append((None, est))
    return out


def _net_devices(obj):
    return sorted({str(net.device) for _, net in _nets_of(obj)})


def save(estimator, path, *, protocol=pickle.HIGHEST_PROTOCOL):
    """Save a (fitted) estimator or pipeline to ``path`` with a version stamp.

    Parameters
    ----------
    estimator : object
        Any picklable estimator: a galaxy_learn estimator, a scikit-learn
        :class:`~sklearn.pipeline.Pipeline` holding some, a ``GridSearchCV``...
    path : str or path-like
        Destination file (conventionally ``*.glm``); parent folders are created.
    protocol : int, default=pickle.HIGHEST_PROTOCOL
        Pickle protocol of the payload.

    Returns
    -------
    path : pathlib.Path
        The file written.

    See Also
    --------
    load : Load it back (requires ``allow_pickle=True``: the payload is a pickle).
    read_metadata : Read the version stamp without unpickling anything.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.decomposition import PCA
    >>> from galaxy_learn.persistence import save, load
    >>> import numpy as np
    >>> pca = PCA(n_components=2).fit(np.random.default_rng(0).normal(size=(20, 4)))
    >>> path = save(pca, os.path.join(tempfile.mkdtemp(), "pca.glm"))
    >>> load(path, allow_pickle=True).n_components_
    2
    """
    path = Path(path)
    payload = pickle.dumps(estimator, protocol=protocol)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "estimator_repr": repr(estimator)[:2000],
        "devices": _net_devices(estimator),
        "versions": _installed_versions(),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload_bytes": len(payload),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(_METADATA, json.dumps(metadata, indent=2))
        zf.writestr(_PAYLOAD, payload)
    tmp.replace(path)  # never leave a half-written model under the final name
    return path


def read_metadata(path):
    """Return the JSON metadata of a model file, without unpickling anything (safe).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    metadata : dict
        Keys ``format``, ``format_version``, ``created_utc``, ``estimator_class``,
        ``estimator_repr``, ``devices``, ``versions`` (package → version), ``payload_sha256``.
    """
    path = _check_path(path)
    ours = _is_ours(path)
    if not zipfile.is_zipfile(path):
        if ours:
            raise _damaged(path, "the zip archive is incomplete")
        msg = (
            f"{str(path)!r} is not a galaxy_learn model file (expected a zip archive written by "
            "galaxy_learn.persistence.save). A plain pickle/joblib file can be loaded with "
            "load(path, allow_pickle=True), without a version check."
        )
        raise ValueError(msg)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if _METADATA not in names or _PAYLOAD not in names:
                if ours:
                    raise _damaged(path, f"members {sorted(names)}")
                msg = (
                    f"{str(path)!r} is a zip archive but not a galaxy_learn model file: it lacks "
                    f"{sorted({_METADATA, _PAYLOAD} - names)}."
                )
                raise ValueError(msg)
            raw = _read_member(zf, _METADATA, path)
    except (zipfile.BadZipFile, NotImplementedError) as exc:  # see _read_member
        if ours:
            raise _damaged(path, str(exc)) from exc
        msg = f"{str(path)!r} is not a readable zip archive: {exc}"
        raise ValueError(msg) from exc
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(path, f"unreadable metadata: {exc}") from exc
    if not isinstance(metadata, dict):
        raise _damaged(path, "the metadata is not a JSON object")
    if metadata.get("format") != FORMAT_NAME:
        msg = f"{str(path)!r} has format {metadata.get('format')!r}, expected {FORMAT_NAME!r}."
        raise ValueError(msg)
    return metadata


def _check_versions(metadata, path, on_mismatch):
    saved = metadata.get("versions", {})
    running = _installed_versions()
    diffs = [
        f"{pkg} {saved[pkg]} (running {running[pkg]})"
        for pkg in _STAMPED
        if pkg in saved and saved[pkg] != running[pkg]
    ]
    if not diffs or on_mismatch == "ignore":
        return
    msg = (
        f"The model in {str(path)!r} was saved with " + ", ".join(diffs) + ". Unpickling across "
        "versions may fail or change results; re-fit the model with the running versions or "
        "install the saved ones. Pass on_version_mismatch='ignore' to silence this."
    )
    if on_mismatch == "error":
        raise ValueError(msg)
    warnings.warn(msg, ModelVersionWarning, stacklevel=3)


def _unpickle(data):
    """Unpickle ``data``; also tell whether skorch had to map CUDA tensors to the CPU."""
    from .nets import DeviceWarning

    with warnings.catch_warnings(record=True) as caught:
        # skorch warns (DeviceWarning) when a CUDA-saved net is mapped to the CPU because CUDA is
        # missing; we report that once ourselves below, naming the fix.
        warnings.simplefilter("always", DeviceWarning)
        obj = pickle.loads(data)  # noqa: S301 - only reached with allow_pickle=True
    fell_back = False
    for w in caught:
        if issubclass(w.category, DeviceWarning):
            fell_back = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return obj, fell_back


def _move_to_device(obj, device, param=None):
    """Set the ``device`` of every estimator and skorch net in ``obj``, moving the tensors.

    The tensors are moved with skorch's own mechanism: each net's state is pickled again with its
    ``device`` set to the target, so ``NeuralNet.__setstate__`` maps the modules, criteria and
    optimizer state there (in place, so a bare net used as a pipeline step moves too).
    """
    for est in _iter_objects(obj):
        if _is_skorch_net(est):
            continue
        params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
        if "device" in params and params["device"] is not None:
            est.set_params(device=device if param is None else param)
    from .nets import move_net

    for owner, net in _nets_of(obj):
        move_net(net, device)
        if owner is not None and "device_" in vars(owner):  # a recorded resolved device
            owner.device_ = device
    return obj


def load(path, *, allow_pickle=False, device=None, on_version_mismatch="warn"):
    """Load an estimator saved by :func:`save`.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save` (or, with ``allow_pickle=True``, a plain pickle / joblib
        file, loaded without a version check).
    allow_pickle : bool, default=False
        The payload is a Python pickle, and unpickling can execute arbitrary code chosen by
        whoever wrote the file. Set to True only for files you trust (you wrote them, or they come
        from a source you trust). With False, a ``ValueError`` is raised showing the file's
        metadata.
    device : {"cpu", "cuda", "cuda:N", "auto"} or None, default=None
        Where the loaded networks run. Every tensor is mapped there and the ``device`` parameter
        of every estimator inside the loaded object is set to it (a model fitted on a GPU loads on
        a CPU-only machine with ``device="cpu"``). None keeps the saved device when available and
        falls back to the CPU, with a warning, when the saved CUDA device is missing.
    on_version_mismatch : {"warn", "error", "ignore"}, default="warn"
        What to do when the versions of galaxy_learn, torch, scikit-learn, skorch or numpy that
        wrote the file differ from the running ones: a :class:`ModelVersionWarning`, a
        ``ValueError``, or nothing.

    Returns
    -------
    estimator : object
        The loaded estimator.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from galaxy_learn.persistence import save, load
    >>> path = save(StandardScaler().fit(np.arange(6.0).reshape(3, 2)),
    ...             os.path.join(tempfile.mkdtemp(), "scaler.glm"))
    >>> load(path, allow_pickle=True).mean_
    array([2., 3.])
    """
    from .utils import resolve_device

    if on_version_mismatch not in ("warn", "error", "ignore"):
        msg = (
            "The 'on_version_mismatch' parameter must be 'warn', 'error' or 'ignore'. "
            f"Got {on_version_mismatch!r}."
        )
        raise ValueError(msg)
    if allow_pickle not in (True, False):
        msg = f"The 'allow_pickle' parameter must be True or False. Got {allow_pickle!r}."
        raise ValueError(msg)
    target = None if device is None else resolve_device(device)
    path = _check_path(path)
    if not _is_ours(path) and not zipfile.is_zipfile(path):
        if not allow_pickle:
            msg = (
                f"{str(path)!r} is not a galaxy_learn model file but may be a plain pickle/joblib "
                "file. Unpickling can execute arbitrary code from the file: pass "
                "allow_pickle=True only if you trust it."
            )
            raise ValueError(msg)
        import joblib

        warnings.warn(
            f"{str(path)!r} has no galaxy_learn version stamp; loading it as a plain "
            "joblib/pickle file without a version check.",
            ModelVersionWarning,
            stacklevel=2,
        )
        obj, fell_back = joblib.load(path), False
    else:
        metadata = read_metadata(path)
        if not allow_pickle:
            versions = ", ".join(f"{k} {v}" for k, v in metadata.get("versions", {}).items())
            msg = (
                f"Refusing to load {str(path)!r} without allow_pickle=True. A model file holds a "
                "Python pickle, and unpickling executes code chosen by whoever wrote the file. "
                "Pass allow_pickle=True only if you trust its source. The file says it holds a "
                f"{metadata.get('estimator_class')} saved on {metadata.get('created_utc')} with "
                f"{versions}."
            )
            raise ValueError(msg)
        if metadata.get("format_version", 0) > FORMAT_VERSION:
            msg = (
                f"{str(path)!r} uses model format version {metadata['format_version']}, newer "
                f"than this galaxy_learn ({__version__}) reads ({FORMAT_VERSION}); upgrade "
                "galaxy_learn."
            )
            raise ValueError(msg)
        _check_versions(metadata, path, on_version_mismatch)
        try:
            with zipfile.ZipFile(path) as zf:
                data = _read_member(zf, _PAYLOAD, path)
        except (zipfile.BadZipFile, NotImplementedError) as exc:  # see _read_member
            raise _damaged(path, str(exc)) from exc
        digest = hashlib.sha256(data).hexdigest()
        if digest != metadata.get("payload_sha256"):
            raise _damaged(path, "the payload's SHA-256 differs from the one recorded at save")
        if target is not None:
            from .nets import DeviceWarning

            with warnings.catch_warnings():
                # The caller chose the device explicitly: skorch's fallback notice is moot.
                warnings.simplefilter("ignore", DeviceWarning)
                obj = pickle.loads(data)  # noqa: S301 - allow_pickle=True
            fell_back = False
        else:
            obj, fell_back = _unpickle(data)
    if target is not None:
        _move_to_device(obj, target, param="auto" if device == "auto" else None)
    elif fell_back:
        _move_to_device(obj, "cpu")
        warnings.warn(
            f"The model in {str(path)!r} was saved on a CUDA device, which this machine lacks; "
            "it was loaded on the CPU. Pass device='cpu' to load(...) to do this silently.",
            UserWarning,
            stacklevel=2,
        )
    return obj
