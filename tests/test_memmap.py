"""Streaming over memory-mapped arrays: bounded resident memory, no warnings, same numbers."""
import sys

import numpy as np
import pytest
import torch

from galaxy_learn.utils import batched_apply, check_images
from galaxy_learn.utils._memmap import iter_chunks, release_pages


def _rss_file_kib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    return None


@pytest.fixture
def readonly_memmap(tmp_path):
    X = np.random.default_rng(0).normal(size=(4096, 1, 64, 64)).astype(np.float32)  # 64 MiB
    np.save(tmp_path / "X.npy", X)
    return np.load(tmp_path / "X.npy", mmap_mode="r"), X


def test_iter_chunks_copies_and_covers(readonly_memmap):
    mm, X = readonly_memmap
    starts, chunks = zip(*iter_chunks(mm, 1000))
    assert starts == (0, 1000, 2000, 3000, 4000)
    assert all(c.flags.writeable and not isinstance(c, np.memmap) for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), X)


def test_release_pages_only_for_safe_maps(readonly_memmap, tmp_path):
    mm, X = readonly_memmap
    assert release_pages(mm[10:20])
    assert not release_pages(X[10:20])  # in memory: nothing to release
    cow = np.load(tmp_path / "X.npy", mmap_mode="c")
    cow[0] = 1.0
    assert not release_pages(cow[:10])  # copy-on-write edits must never be discarded
    assert cow[0].max() == 1.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_batched_apply_streams_a_readonly_memmap(readonly_memmap):
    mm, X = readonly_memmap
    fn = torch.nn.AvgPool2d(8)  # a stand-in for an encoder
    before = _rss_file_kib()
    out = batched_apply(lambda x: fn(x).flatten(1), mm, batch_size=256)  # no non-writable warning
    grown = _rss_file_kib() - before
    np.testing.assert_allclose(out, fn(torch.from_numpy(X)).flatten(1).numpy(), rtol=1e-6)
    assert grown < 16 * 1024, f"RSS grew by {grown} KiB streaming a 64 MiB memmap"


def test_check_images_on_memmap_counts_nan_in_chunks(tmp_path):
    X = np.zeros((3000, 1, 4, 4), np.float32)
    X[5, 0, 0, 0] = np.nan
    X[2500, 0, 1:3, 0] = np.inf
    np.save(tmp_path / "n.npy", X)
    mm = np.load(tmp_path / "n.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"3 non-finite pixel value\(s\) in 2 sample\(s\)"):
        check_images(mm)
