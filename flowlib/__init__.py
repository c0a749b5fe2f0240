"""flowlib: the library behind the book *Likelihood versus adversaries*.

Real NVP normalizing flows trained by maximum likelihood (NLL) and as GAN generators, FID and
friends, a synthetic MNIST with a known density, and the book's studies. The package is in
layers; a module imports from its own layer and those below it, never from one above
(``tests/test_layout.py`` checks it):

==========  ====================================================================================
layer       what lives there
==========  ====================================================================================
core        paths and atomic writes, manifests (provenance), presets, errors (one
            :class:`~flowlib.core.errors.FlowlibError` base), devices, images, torchvision
models      flow steps with one protocol (:mod:`~flowlib.models.flows`), the MNIST Real NVP,
            the 2-D flow, the discriminators
data        real MNIST, synthetic MNIST from a teacher with known weights, 2-D toy densities
metrics     likelihood units and exact estimates (KL, entropy, independent checks), FID with
            precision/recall/coverage, the LeNet classifier, a run's final evaluation
training    settings per preset, the loss registry (NLL, GAN losses), data sources, the one
            :class:`~flowlib.training.trainer.Trainer`, the metrics file, the monitor, the CLI
studies     the runner (jobs, Slurm), the registry of studies by name, reading results,
            one module per study (``nll_vs_gan``, ``nash``, ``misspecification``, ``teacher``),
            the findings table
book        the build pipeline, widgets, shared plots, one companion module per chapter
            (``flowlib.book.<chapter>`` for ``book/<chapter>.py``)
==========  ====================================================================================

A study has one name everywhere: module ``flowlib.studies.<name>``, results folder
``results/<name>-<preset>``, command ``python -m flowlib experiment <name>``, chapter
``book/<name>.py`` and companion ``flowlib.book.<name>`` (hyphens become underscores).

The most used names are importable from the top (lazily, so ``import flowlib`` stays fast):
``load_mnist``, ``RealNVP``, ``RealNVPConfig``, ``bits_per_dim``, ``fid``, ``frechet_distance``.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load_mnist": ("flowlib.data.mnist", "load_mnist"),
    "RealNVP": ("flowlib.models.realnvp", "RealNVP"),
    "RealNVPConfig": ("flowlib.models.realnvp", "RealNVPConfig"),
    "bits_per_dim": ("flowlib.models.realnvp", "bits_per_dim"),
    "fid": ("flowlib.metrics.fid", "fid"),
    "frechet_distance": ("flowlib.metrics.fid", "frechet_distance"),
}


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'flowlib' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
