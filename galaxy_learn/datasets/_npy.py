"""Byte-level ``.npy`` reading: header parsing (cached), small fields by ``pread``, images
read straight into their destination with ``preadv`` (Unix), record normalisation.

:func:`_scan_npy` is the first pass of :func:`~galaxy_learn.datasets.load_sdss_npy` over one file
(header, count, metadata fields, labels, kept-record mask); :class:`_NpyFile` then reads the
images on demand.
"""
import io
import os
import pickle
import threading

import numpy as np

from ._files import _as_str

_PICKLE_HINT = (
    "It holds a numpy object array, which numpy can only read by unpickling, and unpickling "
    "runs arbitrary code from the file. Pass allow_pickle=True only for files you trust "
    "(structured arrays with fixed-size fields, e.g. class as '<U6', load without pickle)."
)

_HEADER_CACHE = {}  # raw .npy header bytes -> (shape, fortran_order, dtype)
# numpy parses .npy headers with ast.literal_eval, and CPython 3.11's ast is not thread-safe
# ("SystemError: AST constructor recursion depth mismatch" from concurrent reader threads).
_HEADER_LOCK = threading.Lock()

#: Metadata fields of an SDSS record kept beside the image.
_META_FIELDS = ("objID", "class", "z")


def _parse_header(head, path):
    """Parse the .npy header at the start of ``head`` (bytes) → (shape, fortran, dtype, offset).

    Parsing (a Python literal) is cached on the raw header bytes: a directory of records repeats
    the same few headers thousands of times. Returns None if ``head`` is too short.
    """
    if len(head) < 10 or head[:6] != b"\x93NUMPY":
        msg = f"File {str(path)!r} is not a .npy file (bad magic string) or is truncated."
        raise ValueError(msg)
    size_bytes = 2 if head[6] == 1 else 4
    start = 8 + size_bytes
    offset = start + int.from_bytes(head[8:start], "little")
    if len(head) < offset:
        return None
    raw = bytes(head[start:offset])
    parsed = _HEADER_CACHE.get(raw)
    if parsed is None:
        fh = io.BytesIO(head[:offset])
        version = np.lib.format.read_magic(fh)
        with _HEADER_LOCK:
            if version == (1, 0):
                parsed = np.lib.format.read_array_header_1_0(fh)
            else:  # 2.0 and 3.0 share the 4-byte header length
                parsed = np.lib.format.read_array_header_2_0(fh)
        if len(_HEADER_CACHE) > 4096:
            _HEADER_CACHE.clear()
        _HEADER_CACHE[raw] = parsed
    return (*parsed, offset)


def _read_fields(fd, dtype, count, offset, names):
    """Small fields of every record by ``pread`` (the images in between are not read)."""
    out = {}
    for name in names:
        field_dtype, field_offset = dtype.fields[name][:2]
        values = np.empty(count, dtype=field_dtype)
        raw = values.view(np.uint8).reshape(count, field_dtype.itemsize)
        for i in range(count):
            start = offset + i * dtype.itemsize + field_offset
            raw[i] = np.frombuffer(os.pread(fd, field_dtype.itemsize, start), np.uint8)
        out[name] = values
    return out


class _NpyFile:
    """One .npy file: header parsed, small fields read, images read on demand."""

    def __init__(self, path, allow_pickle, fields=()):
        self.path = path
        self.array = None
        self.fields = {}
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                head = os.pread(fd, 4096, 0)
                parsed = _parse_header(head, path)
                if parsed is None:  # a header longer than 4 KiB
                    head = os.pread(fd, 1 << 20, 0)
                    parsed = _parse_header(head, path)
                if parsed is None:
                    msg = f"File {str(path)!r} is truncated inside its .npy header."
                    raise ValueError(msg)
                self.shape, self.fortran, self.dtype, self.offset = parsed
                size = os.fstat(fd).st_size
                if self.dtype.hasobject:
                    if not allow_pickle:
                        msg = f"Cannot load {str(path)!r} with allow_pickle=False. {_PICKLE_HINT}"
                        raise ValueError(msg)
                    with open(path, "rb") as fh, _HEADER_LOCK:  # header parsed by ast
                        self.array = np.load(fh, allow_pickle=True)
                    return
                self.count = int(np.prod(self.shape))
                expected = self.offset + self.count * self.dtype.itemsize
                if size < expected:
                    msg = (
                        f"File {str(path)!r} is truncated: {size} bytes but its header "
                        f"describes an array of shape {self.shape} and dtype {self.dtype} "
                        f"needing {expected} bytes."
                    )
                    raise ValueError(msg)
                names = [n for n in fields if self.dtype.names and n in self.dtype.names]
                self.fields = _read_fields(fd, self.dtype, self.count, self.offset, names)
            finally:
                os.close(fd)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            msg = f"Could not read {str(path)!r} as a .npy file: {exc}"
            raise ValueError(msg) from exc
        except ValueError as exc:
            if str(path) in str(exc):
                raise
            msg = f"Could not read {str(path)!r} as a .npy file: {exc}"
            raise ValueError(msg) from exc

    def read(self):
        """The whole array (one read)."""
        if self.array is not None:
            return self.array
        arr = np.empty(self.count, dtype=self.dtype)
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            n_read = fh.readinto(arr.view(np.uint8).reshape(-1)) if self.count else 0
        if n_read != arr.nbytes:
            msg = f"File {str(self.path)!r} is truncated (read {n_read} of {arr.nbytes} bytes)."
            raise ValueError(msg)
        return arr.reshape(self.shape, order="F" if self.fortran else "C")

    def read_images_into(self, out, keep=None):
        """Read float32 images straight from disk into ``out`` (C-contiguous float32 rows).

        One ``preadv`` per record into the destination memory: no temporary copy. Returns
        False when the on-disk layout does not allow it (other dtype, Fortran order, pickle);
        the caller then reads and converts.
        """
        native = np.dtype(np.float32)
        if self.array is not None or self.fortran or not out.flags.c_contiguous:
            return False
        if self.dtype.names is not None:
            img_dtype, img_offset = self.dtype.fields["image"][:2]
            if img_dtype.base != native:
                return False
            stride = self.dtype.itemsize
            rows = np.arange(self.count) if keep is None else np.flatnonzero(keep)
        elif self.dtype == native:
            img_offset, stride = 0, out[0].nbytes if len(out) else 0
            rows = np.arange(len(out))
        else:
            return False
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for j, i in enumerate(rows):
                buf = memoryview(out[j]).cast("B")
                n_read = os.preadv(fd, [buf], self.offset + int(i) * stride + img_offset)
                if n_read != buf.nbytes:
                    msg = f"File {str(self.path)!r} is truncated (short read)."
                    raise ValueError(msg)
        finally:
            os.close(fd)
        return True


def _records(arr, path):
    """Normalise an in-memory array to ``(images, {field: values})``.

    Accepted: a structured array (0-d or 1-d) with an ``image`` field and optional ``objID``,
    ``class``, ``z``; an object array of such records or dicts (pickle); a plain numeric array
    ``(C, H, W)`` or ``(k, C, H, W)`` of images.
    """
    if arr.dtype.names is not None:
        arr = arr.reshape(-1)
        if "image" not in arr.dtype.names:
            msg = f"File {str(path)!r} has fields {arr.dtype.names} but no 'image' field."
            raise ValueError(msg)
        fields = {k: arr[k] for k in _META_FIELDS if k in arr.dtype.names}
        images = arr["image"]
        if images.dtype.hasobject:  # one array object per record (pickled structured array)
            try:
                images = np.stack([np.asarray(im, dtype=np.float32) for im in images])
            except (ValueError, TypeError) as exc:
                msg = f"File {str(path)!r}: 'image' entries are not equal-shape arrays ({exc})."
                raise ValueError(msg) from exc
        return images, fields
    if arr.dtype.hasobject:
        items = [arr.item()] if arr.ndim == 0 else list(arr.reshape(-1))
        try:
            images = np.stack([np.asarray(item["image"], dtype=np.float32) for item in items])
        except Exception as exc:
            msg = f"File {str(path)!r}: object records without a usable 'image' entry ({exc})."
            raise ValueError(msg) from exc
        fields = {}
        for key in _META_FIELDS:
            try:
                fields[key] = np.array([item[key] for item in items])
            except (KeyError, ValueError, IndexError, TypeError):
                pass
        return images, fields
    if arr.dtype.kind in "biuf":
        return (arr[None] if arr.ndim == 3 else arr), {}
    msg = f"File {str(path)!r} holds an array of dtype {arr.dtype}, not image records."
    raise ValueError(msg)


def _scan_npy(path, allow_pickle, classes):
    """First pass over one file: header, count, small fields, labels, kept-record mask."""
    src = _NpyFile(path, allow_pickle, fields=_META_FIELDS)
    if src.array is not None:  # unpickled object array: already in memory
        images, fields = _records(src.array, path)
        image_shape, n = tuple(images.shape[1:]), images.shape[0] if images.ndim == 4 else -1
        if images.ndim != 4:
            image_shape = tuple(images.shape)
    elif src.dtype.names is not None:
        if "image" not in src.dtype.names:
            msg = f"File {str(path)!r} has fields {src.dtype.names} but no 'image' field."
            raise ValueError(msg)
        images = None
        fields = src.fields
        image_shape, n = tuple(src.dtype["image"].shape), src.count
    elif src.dtype.kind in "biuf":
        images, fields = None, {}
        image_shape = tuple(src.shape[-3:]) if len(src.shape) in (3, 4) else tuple(src.shape)
        n = 1 if len(src.shape) == 3 else (src.shape[0] if len(src.shape) == 4 else -1)
    else:
        msg = f"File {str(path)!r} holds an array of dtype {src.dtype}, not image records."
        raise ValueError(msg)
    if n < 0 or len(image_shape) != 3:
        msg = (
            f"File {str(path)!r} holds images of shape {image_shape}; expected "
            "(bands, height, width) per object."
        )
        raise ValueError(msg)
    labels = None
    if "class" in fields:
        labels = np.array([_as_str(c) for c in np.asarray(fields["class"]).reshape(-1)])
    keep = None
    if classes is not None:
        if labels is None:
            msg = f"classes={classes!r} was given but {str(path)!r} has no 'class' field."
            raise ValueError(msg)
        keep = np.isin(labels, classes)
    return {
        "source": src,
        "n": int(n),
        "image_shape": image_shape,
        "fields": tuple(sorted(fields)),
        "labels": labels,
        "objID": np.asarray(fields["objID"]).reshape(-1) if "objID" in fields else None,
        "z": np.asarray(fields["z"], dtype=np.float64).reshape(-1) if "z" in fields else None,
        "keep": keep,
        "images": images,  # only for unpickled object arrays
    }
