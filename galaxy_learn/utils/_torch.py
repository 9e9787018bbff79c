"""Torch helpers shared by the estimators: device choice, local seeding, batched inference.

No global seed is ever set: :func:`torch_seeded` forks torch's RNG state for the duration of a
``fit`` so that a fixed ``random_state`` reproduces the fit while the caller's RNG is untouched.
"""
import contextlib
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["resolve_device", "seed_from_random_state", "torch_seeded", "batched_apply",
           "training_dtype"]


def resolve_device(device):
    """Map the ``device`` parameter (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``) to a string.

    ``"auto"`` picks ``"cuda"`` when a GPU is visible, else ``"cpu"``. Asking for CUDA on a
    machine without it raises a ``ValueError`` rather than failing deep inside torch.
    """
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        msg = f"The 'device' parameter must be 'auto', 'cpu' or 'cuda[:N]'. Got {device!r}."
        raise ValueError(msg)
    if device.startswith("cuda") and not torch.cuda.is_available():
        msg = f"device={device!r} was requested but torch sees no CUDA device; use device='cpu'."
        raise ValueError(msg)
    if not (device == "cpu" or device.startswith("cuda") or device == "mps"):
        msg = f"The 'device' parameter must be 'auto', 'cpu' or 'cuda[:N]'. Got {device!r}."
        raise ValueError(msg)
    return device


def training_dtype(precision, device):
    """The autocast dtype of a training step for the ``precision`` parameter, or None (float32).

    ``"float32"``: None. ``"bfloat16"``: ``torch.bfloat16``. ``"auto"``: bfloat16 where the
    device computes it natively, a CUDA GPU that supports it or a CPU with AVX512-BF16 or AMX
    instructions (oneDNN's check), float32 elsewhere, where emulated bfloat16 would be slower.
    Weights, optimiser state, losses and inference stay in float32 (mixed precision).
    """
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    if precision != "auto":
        msg = (f"The 'precision' parameter must be 'auto', 'float32' or 'bfloat16'. "
               f"Got {precision!r}.")
        raise ValueError(msg)
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if kind == "cpu":
        try:
            native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):  # pragma: no cover - torch without oneDNN
            native = False
        return torch.bfloat16 if native else None
    return None


def seed_from_random_state(random_state):
    """Draw a 31-bit integer seed from an int, None or ``numpy.random.RandomState``."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % (2**31)
    rng = check_random_state(random_state)
    return int(rng.randint(0, 2**31 - 1))


@contextlib.contextmanager
def torch_seeded(seed, device="cpu"):
    """Run a block with torch's RNG seeded to ``seed``, restoring the caller's state afterwards."""
    devices = []
    if str(device).startswith("cuda") and torch.cuda.is_available():
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def batched_apply(fn, X, *, batch_size=256, device="cpu", dtype=torch.float32):
    """Apply ``fn`` (tensor → tensor or tuple of tensors) over ``X`` in batches, without gradients.

    ``X`` may be a memory-mapped array: only one batch is materialised at a time. Returns numpy
    arrays (a tuple when ``fn`` returns a tuple).
    """
    from ._memmap import iter_chunks

    outputs = None
    with torch.no_grad():
        # iter_chunks copies one batch at a time (a read-only memmap gives writable tensors) and
        # releases the memmap's pages behind it, so RSS stays at about one batch.
        for _, chunk in iter_chunks(X, batch_size):
            xb = torch.as_tensor(chunk, dtype=dtype).to(device)
            out = fn(xb)
            single = not isinstance(out, tuple)
            out = (out,) if single else out
            if outputs is None:
                outputs = [[] for _ in out]
            for acc, o in zip(outputs, out):
                acc.append(o.detach().cpu().numpy())
    if outputs is None:
        msg = "batched_apply received an empty input."
        raise ValueError(msg)
    result = tuple(np.concatenate(acc, axis=0) for acc in outputs)
    return result[0] if single else result
