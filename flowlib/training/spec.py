"""A training run, typed: :class:`RunSpec`, the one description of a run that the Python API,
the command line (``python -m flowlib train``), the study runner's job files and the study
designs share.

A spec says what was *asked*: the loss and its options, the preset, the seed, the data, the
start, and each trainer setting given explicitly (``None``: not given). :meth:`RunSpec.config`
resolves it into the trainer's :class:`~flowlib.training.config.TrainConfig` in one place: the
preset's settings, then the loss's own defaults for what was not given (WGAN-GP: Flow-GAN's
5 critic steps, betas (0.5, 0.9), lr 1e-4), then what was given. So ``train(spec)`` from Python
and ``flowlib train`` with the same flags train the same model, bit for bit (a test).

The command line is generated from the fields (:func:`add_arguments`), and
:meth:`RunSpec.to_argv` writes a spec back as flags: ``RunSpec.from_argv(spec.to_argv()) ==
spec`` for every field (a test). A study job's ``job.json`` keeps its ``argv`` (files written
before this module are read the same way) and its ``spec``; two commands are the same run when
their specs are equal, whatever the order of their flags.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field, fields

from flowlib.core.errors import FlowlibError
from flowlib.core.presets import check_preset
from flowlib.training.config import WGAN_GP_DEFAULTS, TrainConfig, preset_config


COMMAND = "command.json"   # a run's command, kept beside it (flags after `train`)


class SpecError(FlowlibError, ValueError):
    """A run spec that cannot be read: the message names the flag or field and the fix."""


def _opt(help: str, flag: str | None = None, cfg: str | None = None, kind=str, choices=None,
         nargs=None, store_true: bool = False):
    """Field metadata: the command-line flag (default ``--<name>``), the TrainConfig field it
    sets (None: a setting of the run, not of the trainer), its type and help."""
    return {"help": help, "flag": flag, "cfg": cfg, "kind": kind, "choices": choices,
            "nargs": nargs, "store_true": store_true}


def _f(default, **meta):
    return field(default=default, metadata=_opt(**meta))


@dataclass(frozen=True)
class RunSpec:
    """One training run. Field order is the order of :meth:`to_argv`'s flags."""
    # the run
    loss: str = _f("nll", help="training loss: nll, nsgan, hybrid or wgan-gp")
    hybrid_lambda: float | None = _f(None, kind=float, help="weight of the NLL term (nats/dim) in --loss hybrid")
    preset: str = _f("quick", help="smoke | quick | full")
    seed: int = _f(0, kind=int, help="the run's seed (initialisation, data order, noise)")
    data: str = _f("mnist", choices=("mnist", "synthetic", "teacher-stream"),
                   help="MNIST; synthetic MNIST (a fixed set of teacher samples, see --train-size); "
                        "or fresh teacher samples every step")
    train_size: int | None = _f(None, kind=int, help="synthetic training-set size (a prefix of the 50k split)")
    init: str | None = _f(None, help="start from a model file ('teacher': the synthetic-MNIST teacher)")
    pretrain_disc: int = _f(0, kind=int, help="GAN losses: discriminator-only steps before the generator moves")
    device: str = _f("cpu", help="cpu (default: bit-reproducible), cuda, cuda:N or auto")
    # the trainer's settings, given explicitly (None: the preset's, then the loss's default)
    size: str | None = _f(None, cfg="size", help="model size (a Real NVP size name)")
    logit_alpha: float | None = _f(None, cfg="logit_alpha", kind=float,
                                   help="the model's logit pre-processing alpha (default: the size's, 0.05)")
    minutes: float | None = _f(None, cfg="minutes", kind=float, help="training-time budget")
    steps: int | None = _f(None, cfg="max_steps", kind=int, help="schedule length in steps")
    batch_size: int | None = _f(None, cfg="batch_size", kind=int, help="images per step")
    lr: float | None = _f(None, cfg="lr", kind=float, help="the generator's learning rate")
    threads: int | None = _f(None, cfg="threads", kind=int, help="torch threads")
    eval_every: int | None = _f(None, cfg="eval_every", kind=int, help="steps between validation bits/dim")
    quality_every: int | None = _f(None, cfg="quality_every", kind=int,
                                   help="steps between LeNet-FID/precision/recall/coverage checks and sample grids")
    quality_images: int | None = _f(None, cfg="quality_images", kind=int, help="samples per quality check")
    gan_beta1: float | None = _f(None, cfg="gan_beta1", kind=float,
                                 help="GAN losses: Adam beta1 of both players (default 0.5, DCGAN)")
    gan_beta2: float | None = _f(None, cfg="gan_beta2", kind=float,
                                 help="GAN losses: Adam beta2 of both players (default 0.999; WGAN-GP 0.9)")
    d_lr: float | None = _f(None, cfg="d_lr", kind=float,
                            help="GAN losses: the discriminator's lr (default: the generator's; TTUR if not)")
    d_steps: int | None = _f(None, cfg="d_steps", kind=int,
                             help="GAN losses: discriminator steps per generator step (default 1; 5 for wgan-gp)")
    r1: float | None = _f(None, cfg="r1", kind=float, help="GAN losses: R1 penalty weight gamma on real data")
    gp_weight: float | None = _f(None, cfg="gp_weight", kind=float, help="WGAN-GP: gradient-penalty weight (default 10)")
    spectral_norm: bool = _f(False, cfg="spectral_norm", store_true=True,
                             help="GAN losses: spectral normalisation in the discriminator")
    d_start: str | None = _f(None, cfg="d_start",
                             help="GAN losses: the discriminator's start: fresh (default) or exact "
                                  "(D = 1/2 everywhere: the Nash equilibrium)")
    freeze_disc: bool = _f(False, cfg="freeze_disc", store_true=True,
                           help="GAN losses: the discriminator never updates (a control)")
    gen_beta1: float | None = _f(None, cfg="gen_beta1", kind=float,
                                 help="the generator's Adam beta1 under any loss (default 0.9 for nll, "
                                      "--gan-beta1 for the GAN losses)")
    warmup_steps: int | None = _f(None, cfg="warmup_steps", kind=int, help="linear warm-up steps (0: none)")
    final_lr_frac: float | None = _f(None, cfg="final_lr_frac", kind=float,
                                     help="lr at the end of the cosine, as a fraction of --lr (1: constant)")
    optimizer: str | None = _f(None, cfg="optimizer",
                               help="the generator's optimiser: adam (default), adamax or sgd")
    dense_checks: tuple | None = _f(None, kind=int, nargs=2,
                                    help="extra checks every EVERY steps up to step UNTIL (e.g. 10 200)")
    reverse_kl: bool = _f(False, cfg="reverse_kl", store_true=True,
                          help="synthetic data: also log the exact KL(student || teacher)")
    checkpoint_every: int | None = _f(None, cfg="checkpoint_every", kind=int,
                                      help="steps between checkpoints (also every 2 training minutes)")
    no_ema: bool = _f(False, store_true=True, help="no weight averaging")
    no_progress: bool = _f(False, store_true=True, help="no progress bar")

    def __post_init__(self):
        if self.dense_checks is not None:
            object.__setattr__(self, "dense_checks", tuple(int(x) for x in self.dense_checks))

    # ------------------------------------------------------------ the trainer's settings
    def config(self) -> TrainConfig:
        """The trainer's settings: the preset's, the loss's defaults for what was not given,
        then what was given (validated by :class:`TrainConfig`)."""
        check_preset(self.preset)
        given = {f.metadata["cfg"]: getattr(self, f.name) for f in fields(self)
                 if f.metadata.get("cfg") and getattr(self, f.name) is not None
                 and getattr(self, f.name) is not False}   # 0 is a value given; False a flag not
        if self.dense_checks is not None:
            given["dense_every"], given["dense_until"] = self.dense_checks
        cfg = preset_config(self.preset, **given)
        if self.loss == "wgan-gp":   # Flow-GAN's settings where not given
            cfg = dataclasses.replace(cfg, **{k: v for k, v in WGAN_GP_DEFAULTS.items() if k not in given})
        if self.steps is not None and self.minutes is None:
            cfg = dataclasses.replace(cfg, minutes=None)
        if self.no_ema:
            cfg = dataclasses.replace(cfg, ema=None)
        return cfg

    # ------------------------------------------------------------ flags
    def to_argv(self, command: str = "train") -> list[str]:
        """The flags that give this spec (defaults left out), after ``command``."""
        argv = [command] if command else []
        for f in fields(self):
            v = getattr(self, f.name)
            if v == f.default:
                continue
            flag = _flag(f)
            if f.metadata["store_true"]:
                argv.append(flag)
            elif f.metadata["nargs"]:
                argv += [flag, *map(str, v)]
            else:
                argv += [flag, _text(v)]
        return argv

    @classmethod
    def from_argv(cls, argv) -> "RunSpec":
        """A spec from ``train`` flags (with or without the leading ``train``); ``--out`` and
        ``--resume`` are not part of a spec and are refused here."""
        argv = list(argv)
        if argv and argv[0] == "train":
            argv = argv[1:]
        parser = argparse.ArgumentParser(prog="python -m flowlib train", add_help=False,
                                         exit_on_error=False)
        add_arguments(parser)
        try:
            ns, rest = parser.parse_known_args(argv)
        except (argparse.ArgumentError, SystemExit) as err:
            raise SpecError(f"Cannot read the run's flags {' '.join(argv)!r}: {err}") from None
        if rest:
            raise SpecError(f"Unknown flag(s) for a training run: {' '.join(rest)}; "
                            "see `python -m flowlib train --help`.")
        return cls.from_namespace(ns)

    @classmethod
    def from_namespace(cls, ns) -> "RunSpec":
        return cls(**{f.name: getattr(ns, f.name) for f in fields(cls)})

    # ------------------------------------------------------------ the run
    def train(self, out, resume: bool = False):
        """Train this run into ``out`` (``resume``: continue its checkpoint): what ``python -m
        flowlib train`` does with the same flags, bit for bit. Bad settings are refused before
        anything is written; a new run keeps its command in ``out/command.json``, so that
        ``flowlib train --out OUT --resume`` can continue it. Returns the trainer's
        :class:`~flowlib.training.trainer.RunResult`."""
        import json
        from pathlib import Path

        from flowlib.core.paths import atomic_write_bytes
        from flowlib.core.runlock import hold_run
        from flowlib.training.data_sources import train_data
        from flowlib.training.losses import make_loss
        from flowlib.training.trainer import train

        cfg = self.config()
        loss = make_loss(self.loss, self.hybrid_lambda, self.pretrain_disc)
        data = None
        if self.data != "mnist" or self.init or self.train_size is not None:
            data = train_data(cfg, self.data, train_size=self.train_size, init=self.init)
        out = Path(out)
        # one writer per run folder: held before command.json is written, until the run ends
        with hold_run(out):
            if not resume and not (out / "checkpoint.pt").exists():
                atomic_write_bytes(out / COMMAND, (json.dumps({"argv": self.to_argv("")}, indent=1)
                                                   + "\n").encode())
            return train(cfg, out, loss=loss, seed=self.seed, resume=resume,
                         progress=not self.no_progress, preset=self.preset, data=data,
                         device=self.device)

    def as_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}


def _flag(f) -> str:
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def _text(v) -> str:
    """A value as a flag's text: floats short (``1e-4`` as ``0.0001``) where that is exact."""
    if isinstance(v, float):
        short = f"{v:g}"
        return short if float(short) == v else repr(v)
    return str(v)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``train`` command's flags, one per :class:`RunSpec` field, defaults from the spec."""
    for f in fields(RunSpec):
        m = f.metadata
        kw = {"dest": f.name, "help": m["help"], "default": f.default}
        if m["store_true"]:
            kw["action"] = "store_true"
        else:
            kw["type"] = m["kind"]
            if m["choices"]:
                kw["choices"] = m["choices"]
            if m["nargs"]:
                kw["nargs"], kw["metavar"] = m["nargs"], ("EVERY", "UNTIL")
        parser.add_argument(_flag(f), **kw)


def same_run(argv_a, argv_b) -> bool:
    """Whether two ``train`` commands describe the same run (equal specs, any flag order)."""
    return RunSpec.from_argv(argv_a) == RunSpec.from_argv(argv_b)
