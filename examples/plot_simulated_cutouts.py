"""
Simulated SDSS-like cutouts and fields
======================================

:func:`galaxy_learn.datasets.make_star_galaxy_cutouts` draws stars, quasars and galaxies with
SDSS-like colours, sizes, number counts, seeing and noise, in nanomaggies on 0.396" pixels.
This example shows a montage of colour composites from bright to faint, how the classical
concentration index separates point sources from galaxies (well when bright, poorly when faint),
and a simulated sky field with its truth segmentation map.
"""

import matplotlib.pyplot as plt
import numpy as np
from astropy.visualization import make_lupton_rgb
from sklearn.metrics import roc_auc_score

from galaxy_learn.datasets import make_sky_field, make_star_galaxy_cutouts
from galaxy_learn.photometry import concentration_index

X, y, truth = make_star_galaxy_cutouts(600, random_state=0)

# %%
# A montage: rows are classes, columns go from bright to faint (g, r, i as blue, green, red).


def rgb(image):
    g, r, i = image[1], image[2], image[3]
    return make_lupton_rgb(i, r, g, stretch=0.15, Q=6, minimum=-0.03)


fig, axes = plt.subplots(3, 6, figsize=(9, 5))
for row, cls in enumerate(["STAR", "GALAXY", "QSO"]):
    idx = np.flatnonzero(y == cls)
    idx = idx[np.argsort(truth["mag_r"].to_numpy()[idx])]
    picks = idx[np.linspace(0, idx.size - 1, 6).astype(int)]
    for ax, k in zip(axes[row], picks):
        ax.imshow(rgb(X[k]), origin="lower")
        ax.set_title(f"{cls[0]} r={truth['mag_r'][k]:.1f}", fontsize=8)
        ax.axis("off")
fig.tight_layout()

# %%
# The concentration index (flux in 1.5 px over flux in 4 px, g+r+i) per magnitude range.

ci = concentration_index(X)
ps = truth["point_source"].to_numpy()
mag = truth["mag_r"].to_numpy()
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, (lo, hi) in zip(axes, [(16, 20), (21, 22.5)]):
    sel = (mag >= lo) & (mag < hi)
    bins = np.linspace(0, 0.8, 41)
    ax.hist(ci[sel & ps], bins, alpha=0.6, label="point sources")
    ax.hist(ci[sel & ~ps], bins, alpha=0.6, label="galaxies")
    ax.set_title(f"r = {lo}–{hi}: AUC = {roc_auc_score(ps[sel], ci[sel]):.2f}")
    ax.set_xlabel("concentration index")
axes[0].legend()
fig.tight_layout()

# %%
# A 256 x 256 field (objects from number counts) and its truth segmentation above the
# 24.5 mag/arcsec^2 r-band isophote.

field, segmentation, catalog = make_sky_field((256, 256), random_state=1)
fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
axes[0].imshow(rgb(field), origin="lower")
axes[0].set_title(f"{len(catalog)} objects")
seg_show = np.ma.masked_equal(segmentation, 0)
axes[1].imshow(seg_show % 20, origin="lower", cmap="tab20", interpolation="nearest")
axes[1].set_title("truth segmentation")
for ax in axes:
    ax.axis("off")
fig.tight_layout()
plt.show()
