"""Training: one loop (:class:`~flowlib.training.trainer.Trainer`) for every loss.

``config`` (settings per preset), ``losses`` (the registry: NLL and the GAN losses of
``gan``), ``data_sources`` (MNIST, synthetic MNIST, teacher streams), ``trainer`` (the loop,
checkpoints, resume), ``metrics_file`` (the run's ``metrics.jsonl``), ``monitor`` (quality
checks and the instability detector), ``publish`` (a finished run into ``results/``),
``cli`` (``python -m flowlib train``), ``toy2d`` (the 2-D flows' loop).
"""
from flowlib.training.config import (PRESETS, RESUME_MAY_CHANGE, ConfigError, TrainConfig,
                                    preset_config)
from flowlib.training.data_sources import TrainData, mnist_data, train_data
from flowlib.training.losses import GAN_LOSSES, LOSSES, LossError, NLLLoss, TrainLoss, make_loss
from flowlib.training.metrics_file import METRICS, read_metrics
from flowlib.training.publish import TEST_SUBSET, publish_run
from flowlib.training.trainer import (CHECKPOINT, EMA, MODEL, RunResult, Trainer, TrainError,
                                      TrainingDiverged, lr_factor, train)

__all__ = ["PRESETS", "RESUME_MAY_CHANGE", "ConfigError", "TrainConfig", "preset_config", "TrainData",
           "mnist_data", "train_data", "GAN_LOSSES", "LOSSES", "NLLLoss", "TrainLoss",
           "make_loss", "LossError", "METRICS", "read_metrics", "TEST_SUBSET", "publish_run", "CHECKPOINT",
           "MODEL", "EMA", "RunResult", "Trainer", "TrainError", "TrainingDiverged", "lr_factor",
           "train"]
