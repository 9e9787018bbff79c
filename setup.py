"""Installation script for galaxy_learn."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"', (HERE / "galaxy_learn" / "_version.py").read_text()
).group(1)

EXTRAS = {
    "test": [
        "pytest>=7",
        "pytest-xdist>=3",
        "hypothesis>=6",
        "galsim>=2.4",
        "sep>=1.2",
        "pytorch-msssim>=1.0",
        "import-linter>=2.1",  # lint-imports in .ci/run: the layer contracts of .importlinter
    ],
    "ssim": [],  # kept as an alias: pytorch-msssim is now a required dependency
    "cluster": ["hdbscan>=0.8.33", "umap-learn>=0.5"],
    "docs": ["sphinx>=7", "numpydoc>=1.6", "sphinx-gallery>=0.15", "pydata-sphinx-theme",
             "myst-parser>=2"],
    "dask": ["dask[distributed]>=2024.1"],
    "accelerate": ["accelerate>=0.26"],
}
EXTRAS["images"] = ["Pillow>=9.1"]  # load_galaxy_zoo (JPG / PNG cutouts)
EXTRAS["test"].append("Pillow>=9.1")
# The product's tests: Dask scale-out and the single-process Accelerate path run in CI.
EXTRAS["test"] += ["dask[distributed]>=2024.1", "accelerate>=0.26"]
# The docs build with -W is a test (tests/test_docs.py, ~25 s on 2 cores): its tools come along.
EXTRAS["test"] += EXTRAS["docs"]
EXTRAS["all"] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name="galaxy_learn",
    version=VERSION,
    description=(
        "scikit-learn compatible deep learning for astronomical images: unsupervised "
        "star/galaxy separation, pixel segmentation, denoising and clustering"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["galaxy_learn", "galaxy_learn.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "pandas>=2.0",
        "scikit-learn>=1.6",
        "torch>=2.2,<3",
        "skorch>=1.0",
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "astropy>=5.3",
        # ContrastiveDenoiser's SSIM losses: a public estimator must work after `pip install .`
        "pytorch-msssim>=1.0",
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["galaxy-learn=galaxy_learn.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Astronomy",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
