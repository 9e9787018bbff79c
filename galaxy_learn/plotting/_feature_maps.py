"""Grids of convolutional feature maps: what each layer of a ConvNet responds to (seed 004)."""
import numpy as np

from ._common import _show

__all__ = ["FeatureMapDisplay"]


def _default_layers(module):
    features = getattr(module, "features", None)
    if features is not None and len(list(features.children())):
        return [f"features.{name}" for name, _ in features.named_children()]
    convs = [name for name, m in module.named_modules() if type(m).__name__ == "Conv2d"]
    if not convs:
        msg = f"{type(module).__name__} has no convolutional layers to show; pass layers=."
        raise ValueError(msg)
    return convs


def _capture(module, x, layers):
    """Run ``module`` on ``x`` (1, C, H, W) and return ``{layer name: activations (C', H', W')}``."""
    import torch

    named = dict(module.named_modules())
    unknown = [name for name in layers if name not in named]
    if unknown:
        msg = f"Unknown layer name(s) {unknown}; available: {[n for n in named if n][:40]}."
        raise ValueError(msg)
    maps, hooks = {}, []
    for name in layers:
        def hook(_m, _inp, out, name=name):
            maps[name] = out.detach().cpu().numpy()[0]
        hooks.append(named[name].register_forward_hook(hook))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            param = next(module.parameters(), None)
            device = param.device if param is not None else "cpu"
            module(torch.as_tensor(np.asarray(x, dtype=np.float32)).to(device))
    finally:
        for h in hooks:
            h.remove()
        module.train(was_training)
    return {name: maps[name] for name in layers if name in maps and maps[name].ndim == 3}


class FeatureMapDisplay:
    """One row per layer: the input cutout, then the first ``n_maps`` feature maps of the layer.

    Parameters
    ----------
    image : ndarray of shape (bands, height, width)
        The input shown in the first column.
    feature_maps : dict of {str: ndarray of shape (channels, h, w)}
        Activations per layer name, in row order.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of matplotlib Axes, shape (n_layers, n_maps + 1)

    Examples
    --------
    >>> import torch
    >>> from galaxy_learn.nn import ConvNet
    >>> from galaxy_learn.plotting import FeatureMapDisplay
    >>> net = ConvNet((1, 16, 16), channels=(4, 8), dense_units=(8,))
    >>> disp = FeatureMapDisplay.from_module(net, torch.rand(1, 16, 16).numpy(), n_maps=4)
    >>> disp.axes_.shape
    (2, 5)
    """

    def __init__(self, image, feature_maps):
        self.image = image
        self.feature_maps = feature_maps

    def plot(self, *, n_maps=8, panel_size=1.1, cmap="magma"):
        """Draw the grid.

        Returns
        -------
        display : FeatureMapDisplay
        """
        import matplotlib.pyplot as plt

        n_rows = len(self.feature_maps)
        fig, axes = plt.subplots(n_rows, n_maps + 1, squeeze=False,
                                 figsize=(panel_size * (n_maps + 1) + 0.8, panel_size * n_rows))
        for r, (name, maps) in enumerate(self.feature_maps.items()):
            _show(axes[r, 0], self.image, title="input" if r == 0 else None)
            axes[r, 0].set_ylabel(f"{name}\n{maps.shape[0]}x{maps.shape[1]}x{maps.shape[2]}",
                                  fontsize=7)
            for k in range(n_maps):
                ax = axes[r, k + 1]
                ax.set_xticks([])
                ax.set_yticks([])
                if k < len(maps):
                    ax.imshow(maps[k], origin="lower", cmap=cmap, interpolation="nearest")
                    if r == 0:
                        ax.set_title(f"map {k}", fontsize=7)
                else:
                    ax.axis("off")
        fig.subplots_adjust(wspace=0.05, hspace=0.12, left=0.09, right=0.99, top=0.93, bottom=0.02)
        self.figure_, self.axes_ = fig, axes
        return self

    @classmethod
    def from_module(cls, module, image, *, layers=None, n_maps=8, display_image=None, **kwargs):
        """Feature maps of a torch ``module`` for one ``image`` ``(bands, H, W)``.

        Parameters
        ----------
        module : torch.nn.Module
            E.g. a :class:`galaxy_learn.nn.ConvNet`.
        image : ndarray of shape (bands, height, width)
            Input, already scaled as the network expects.
        layers : list of str, default=None
            Names from ``module.named_modules()``; default: each block of ``module.features``
            (a ConvNet) or every ``Conv2d``.
        n_maps : int, default=8
            Maps shown per layer (the first ones).
        display_image : ndarray of shape (bands, height, width), default=None
            Picture shown in the first column (default ``image``), e.g. the unscaled cutout.

        Returns
        -------
        display : FeatureMapDisplay
        """
        image = np.asarray(image, dtype=np.float32)
        if image.ndim == 2:
            image = image[None]
        layers = _default_layers(module) if layers is None else list(layers)
        maps = _capture(module, image[None], layers)
        shown = image if display_image is None else np.asarray(display_image)
        return cls(shown, maps).plot(n_maps=n_maps, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, image, *, layers=None, n_maps=8, **kwargs):
        """Feature maps of a fitted :class:`~galaxy_learn.classification.CNNClassifier`.

        ``image`` is a raw cutout ``(bands, H, W)``; the estimator's fitted scaler is applied
        first, as in ``predict`` (the raw cutout is what the first column shows).

        Returns
        -------
        display : FeatureMapDisplay
        """
        raw = np.asarray(image, dtype=np.float32)
        scaled = raw
        scaler = getattr(estimator, "scaler_", None)
        if scaler is not None:
            scaled = np.asarray(scaler.transform(raw[None]), dtype=np.float32)[0]
        return cls.from_module(estimator.net_.module_, scaled, layers=layers, n_maps=n_maps,
                               display_image=raw, **kwargs)
