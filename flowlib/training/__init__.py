"""Training: one loop (:class:`~flowlib.training.trainer.Trainer`) trains the Real NVP by every
loss (NLL, NSGAN, WGAN-GP, the hybrid), with one checkpoint format and one resume path.

Two small loops stay apart, on purpose, and share the Trainer's pieces rather than copy them:
``toy2d`` trains the 2-D chapter's flow in memory for a few seconds (no run folder, nothing to
resume; the Trainer's run folder, checkpoints, image data and bits/dim checks would be all of
its cost), and ``gan_control`` trains a *different generator*, the DCGAN positive control
(the Trainer is built around a flow's encode/decode, log-likelihood and bits/dim). Both take
their GAN step from :mod:`~flowlib.training.gan` (one NSGAN/WGAN-GP step for every model); the
control also takes the Trainer's EMA, schedule (``lr_factor``), atomic ``save_file``, run
lock and metrics file, and its resume is tested bit for bit
(``tests/training/test_gan_control.py``).

``config`` (settings per preset), ``losses`` (the registry: NLL and the GAN losses of
``gan``), ``data_sources`` (MNIST, synthetic MNIST, teacher streams), ``trainer`` (the loop,
checkpoints, resume), ``metrics_file`` (the run's ``metrics.jsonl``), ``monitor`` (quality
checks and the instability detector), ``publish`` (a finished run into ``results/``),
``cli`` (``python -m flowlib train``), ``toy2d`` (the 2-D flows' loop).
"""
from flowlib.training.config import (CANONICAL_SETTINGS, PRESETS, RESUME_MAY_CHANGE, ConfigError,
                                    TrainConfig, canonical_config, preset_config)
from flowlib.training.data_sources import TrainData, mnist_data, train_data
from flowlib.training.losses import GAN_LOSSES, LOSSES, LossError, NLLLoss, TrainLoss, make_loss
from flowlib.training.metrics_file import METRICS, read_metrics
from flowlib.training.publish import TEST_SUBSET, publish_run
from flowlib.training.trainer import (CHECKPOINT, EMA, MODEL, RunResult, Trainer, TrainError,
                                      TrainingDiverged, lr_factor, train)

__all__ = ["CANONICAL_SETTINGS", "PRESETS", "RESUME_MAY_CHANGE", "ConfigError", "TrainConfig",
           "canonical_config", "preset_config", "TrainData",
           "mnist_data", "train_data", "GAN_LOSSES", "LOSSES", "NLLLoss", "TrainLoss",
           "make_loss", "LossError", "METRICS", "read_metrics", "TEST_SUBSET", "publish_run", "CHECKPOINT",
           "MODEL", "EMA", "RunResult", "Trainer", "TrainError", "TrainingDiverged", "lr_factor",
           "train"]
