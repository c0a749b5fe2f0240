"""Settings that cannot train are refused with a message naming the setting and the fix, by the
command line and the Python API alike, before anything is written (TrainConfig.validate)."""
import dataclasses
import math

import pytest

from flowlib import training as T
from flowlib.core.errors import FlowlibError

BAD_FLAGS = [
    (["--steps", "-5"], "--steps (max_steps = -5)"),
    (["--steps", "0"], "--steps (max_steps = 0)"),
    (["--lr", "nan"], "--lr (lr = nan)"),
    (["--lr", "0"], "--lr (lr = 0.0)"),
    (["--lr=-1e-3"], "--lr (lr = -0.001)"),
    (["--lr", "inf"], "--lr (lr = inf)"),
    (["--batch-size", "0"], "--batch-size (batch_size = 0)"),
    (["--batch-size", "-8"], "--batch-size (batch_size = -8)"),
    (["--minutes", "-1"], "--minutes (minutes = -1.0)"),
    (["--eval-every", "0"], "--eval-every (eval_every = 0)"),
    (["--checkpoint-every", "0"], "--checkpoint-every (checkpoint_every = 0)"),
    (["--threads", "0"], "--threads (threads = 0)"),
    (["--warmup-steps", "-1"], "--warmup-steps (warmup_steps = -1)"),
    (["--final-lr-frac", "2"], "--final-lr-frac (final_lr_frac = 2.0)"),
    (["--loss", "nsgan", "--gan-beta2", "1"], "--gan-beta2 (gan_beta2 = 1.0)"),
    (["--loss", "nsgan", "--d-lr", "nan"], "--d-lr (d_lr = nan)"),
    (["--loss", "nsgan", "--d-steps", "0"], "--d-steps (d_steps = 0)"),
    (["--loss", "nsgan", "--r1", "-1"], "--r1 (r1 = -1.0)"),
    (["--optimizer", "adamw"], "--optimizer (optimizer = 'adamw')"),
    (["--loss", "hybrid", "--hybrid-lambda", "nan"], "a finite number above 0 (not nan)"),
    (["--data", "synthetic", "--train-size", "0"], "--train-size 0"),
]


@pytest.mark.parametrize("flags, named", BAD_FLAGS, ids=[" ".join(f) for f, _ in BAD_FLAGS])
def test_the_command_line_refuses_a_setting_that_cannot_train(tmp_path, capsys, flags, named):
    from flowlib.cli import main
    out = tmp_path / "run"
    # short, without quality checks: what a command that is wrongly accepted would train
    assert main(["train", "--preset", "smoke", "--no-progress", "--steps", "3", "--quality-every",
                 "0", *flags, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "finished" not in captured.out, captured.out
    err = captured.err.strip().splitlines()[-1]
    assert err.startswith("error: ") and named in err, err
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize("field, value", [
    ("max_steps", -5), ("lr", math.nan), ("lr", 0.0), ("batch_size", 0), ("batch_size", 2.5),
    ("ema", 1.0), ("grad_clip", math.nan), ("val_images", 0), ("quality_every", -1),
    ("snapshot_minutes", (-1,)), ("size", "huge"), ("gan_beta1", -0.1),
])
def test_the_python_api_refuses_the_same_settings(field, value):
    with pytest.raises(FlowlibError, match=f"{field} = ") as err:
        dataclasses.replace(T.PRESETS["smoke"], **{field: value})
    assert isinstance(err.value, T.ConfigError) and isinstance(err.value, ValueError)
    assert "must be" in str(err.value)
    with pytest.raises(FlowlibError, match=f"{field} = "):
        T.TrainConfig(**{field: value})


def test_every_preset_and_the_gan_settings_of_the_studies_stay_valid():
    for cfg in T.PRESETS.values():
        assert cfg.validate() is cfg
    T.preset_config("smoke", ema=None, warmup_steps=0, final_lr_frac=1.0, gan_beta1=0.0,
                    quality_every=0, max_steps=1, minutes=None, grad_clip=math.inf,
                    optimizer="sgd", dense_every=10, dense_until=200, snapshot_minutes=(0.01,))
