"""flowlib: the library behind the book *Likelihood versus adversaries*.

Real NVP normalizing flows trained by maximum likelihood (NLL) and as GAN
generators, FID and friends, a synthetic MNIST with a known density, and the
experiments of the book. Modules have one job each:

- :mod:`flowlib.data`     real MNIST (uint8, classic 50k/10k/10k split)
- :mod:`flowlib.tv`       the one place torchvision is imported (CPU-torch workaround)
- :mod:`flowlib.presets`  the ``smoke`` / ``quick`` / ``full`` sizes
- :mod:`flowlib.widgets`  controls that work live in Jupyter *and* in the static HTML
- :mod:`flowlib.book`     the book pipeline (jupytext -> papermill -> Jupyter Book)

Heavy modules are imported lazily, so ``import flowlib`` stays fast.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load_mnist": ("flowlib.data", "load_mnist"),
    "RealNVP": ("flowlib.realnvp", "RealNVP"),
    "RealNVPConfig": ("flowlib.realnvp", "RealNVPConfig"),
    "bits_per_dim": ("flowlib.realnvp", "bits_per_dim"),
    "fid": ("flowlib.fid", "fid"),
    "frechet_distance": ("flowlib.fid", "frechet_distance"),
}


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'flowlib' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
