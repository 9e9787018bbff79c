"""skorch callbacks shared by every network of the toolkit."""
import math

from skorch.callbacks import Callback

__all__ = ["DivergenceGuard"]


class TrainingDivergedError(FloatingPointError, ValueError):
    """Raised when a training loss becomes NaN or infinite."""


class DivergenceGuard(Callback):
    """Stop training with a clear error as soon as a batch loss is NaN or infinite.

    Without it skorch keeps training on NaN weights and ``transform`` silently returns NaN.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if loss is None:
            return
        value = float(loss.detach().item()) if hasattr(loss, "detach") else float(loss)
        if not math.isfinite(value):
            epoch = len(net.history)
            phase = "training" if training else "validation"
            msg = (
                f"The {phase} loss diverged (loss={value}) at epoch {epoch}. Lower 'lr', check "
                "the input scaling (galaxy_learn.preprocessing.ImageScaler) or the prior "
                "parameters."
            )
            raise TrainingDivergedError(msg)
