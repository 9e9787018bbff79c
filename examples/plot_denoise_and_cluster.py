"""
=======================================================
Denoising and clustering galaxies with a U-Net + SimCLR
=======================================================

:class:`~galaxy_learn.ContrastiveDenoiser` learns, without labels, to remove the noise of galaxy
images (a U-Net trained on noisy views of the images, with a foreground SSIM loss and a background
"darkening" loss) and an embedding in which galaxies of similar appearance are close (an NT-Xent
contrastive loss between the two noisy views of each galaxy).

We simulate galaxies of five morphologies with
:func:`~galaxy_learn.datasets.make_galaxy_images`, fit the denoiser, look at denoised images, and
cluster the embeddings with HDBSCAN and k-means, shown on a UMAP (or t-SNE) map and as an image
grid per cluster.
The sizes are small so that the example runs in a few minutes on a CPU; see
``benchmarks/bench_denoiser.py`` for the measured numbers.
"""
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from galaxy_learn import ContrastiveDenoiser
from galaxy_learn.datasets import make_galaxy_images
from galaxy_learn.plotting import ImageGridDisplay, LatentSpaceDisplay

torch.set_num_threads(1)

# %%
# Simulated galaxies: noisy images (what a survey gives) and the noiseless truth
X, y, truth, X_clean = make_galaxy_images(
    600, image_size=32, bands="gri", return_clean=True, random_state=0
)
print(truth[["morphology", "n_arms", "pitch_angle", "has_bar", "inclination"]].head())

# %%
# Fit the denoiser on the noisy images only
est = ContrastiveDenoiser(
    8, depth=3, max_epochs=8, batch_size=16, lr=2e-3, device="auto", random_state=0
)
est.fit(X)
denoised = est.denoise(X)
embedding = est.transform(X)


def to_rgb(img, ref):
    """asinh stretch of a gri image into an RGB array (i -> red, r -> green, g -> blue)."""
    soft = 0.05 * ref.max()
    rgb = np.arcsinh(np.clip(img[::-1], 0, None) / soft) / np.arcsinh(ref.max() / soft)
    return np.clip(rgb.transpose(1, 2, 0), 0, 1)


# %%
# Noisy input, denoised output and noiseless truth
fig, axes = plt.subplots(3, 6, figsize=(9, 4.8))
for j in range(6):
    for i, (img, title) in enumerate(
        ((X[j], "noisy"), (denoised[j], "denoised"), (X_clean[j], "truth"))
    ):
        axes[i, j].imshow(to_rgb(img, X_clean[j]))
        axes[i, j].set_axis_off()
        if j == 0:
            axes[i, j].set_title(title, loc="left", fontsize=9)
fig.tight_layout()

# %%
# Cluster the embeddings and compare with the true morphology.
# The embedding is the pooled bottleneck (``embedding="bottleneck"``); the two views of
# each galaxy differ in brightness during training (``brightness_range``) so that it follows
# shape and colour rather than flux. With so few images and epochs HDBSCAN (the seed's choice)
# calls most galaxies noise; k-means with the number of classes shows the structure better
# (``benchmarks/bench_denoiser.py`` measures both on 2,000 64x64 images).
Z = StandardScaler().fit_transform(embedding)
hdb = HDBSCAN(min_cluster_size=15, copy=True).fit_predict(Z)
print(f"HDBSCAN: {len(set(hdb) - {-1})} clusters, {np.mean(hdb == -1):.0%} noise points, "
      f"ARI = {adjusted_rand_score(y, hdb):.2f}")
labels = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(Z)
print(f"k-means (k=5): ARI = {adjusted_rand_score(y, labels):.2f}")

# %%
# A 2-D map of the embedding: UMAP when umap-learn is installed
# (``pip install 'galaxy_learn[cluster]'``), t-SNE otherwise, coloured by cluster and by the true
# morphology
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
disp = LatentSpaceDisplay.from_manifold(Z, labels, name="k-means clusters", ax=axes[0])
LatentSpaceDisplay(disp.Z, y, name="true morphology").plot(ax=axes[1])
fig.tight_layout()

# %%
# A few denoised galaxies of each cluster
ImageGridDisplay.from_predictions(denoised, labels, n_per_group=8, rgb_bands=(2, 1, 0))
plt.show()
