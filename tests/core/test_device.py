"""Training on a GPU: the same loop, the same random streams, the same files.

The CUDA tests run where torch sees a GPU (they are skipped on CI's CPU machine); the error
for asking a GPU that is absent runs everywhere it applies.
"""
from __future__ import annotations

import math

import pytest
import torch

from flowlib import training as T
from flowlib.core.devices import DeviceError, resolve_device
from flowlib.data.mnist import load_mnist
from flowlib.models.realnvp import RealNVP, bits_per_dim
from flowlib.studies.runner import Job, run_jobs

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def small_data():
    return load_mnist("train").images[:256], load_mnist("validation").images[:64]


def _cfg(**kw):
    return T.preset_config("smoke", max_steps=8, eval_every=4, checkpoint_every=4, log_every=2,
                           threads=1, quality_every=4, quality_images=64, grid_images=4, **kw)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_an_absent_gpu_is_a_clear_error(tmp_path, small_data):
    tr, va = small_data
    with pytest.raises(DeviceError, match="sees no CUDA device: use --device cpu"):
        T.train(_cfg(), tmp_path / "r", progress=False, train_images=tr, val_images=va,
                device="cuda")
    assert not (tmp_path / "r").exists()  # nothing written


def test_unknown_device_and_auto():
    with pytest.raises(DeviceError, match="Unknown device 'gpu'"):
        resolve_device("gpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@cuda
@pytest.mark.parametrize("loss", ["nll", "nsgan"])
def test_a_gpu_run_follows_the_cpu_run(tmp_path, small_data, loss):
    """Same seed, same data order and noise (CPU generators): the GPU run's training
    bits/dim track the CPU run's closely (float arithmetic differs, the draws do not)."""
    tr, va = small_data
    lf = lambda: T.make_loss(loss)
    cpu = T.train(_cfg(), tmp_path / "cpu", loss=lf(), progress=False, train_images=tr,
                  val_images=va)
    gpu = T.train(_cfg(), tmp_path / "gpu", loss=lf(), progress=False, train_images=tr,
                  val_images=va, device="cuda")
    key = "train_bpd" if loss == "nll" else "g_loss"
    a = [r[key] for r in cpu.metrics if key in r]
    b = [r[key] for r in gpu.metrics if key in r]
    assert len(a) == len(b) == 4
    # the first logged step is almost a pure function of the shared initialisation and draws
    assert abs(a[0] - b[0]) < 1e-3 * max(1.0, abs(a[0])), (a, b)
    start = next(r for r in gpu.metrics if r.get("event") == "start")
    assert start["device"].startswith("cuda")
    assert [r["step"] for r in gpu.metrics if "fid" in r] == [0, 4, 8]
    # the shipped model file is on CPU and loads anywhere
    m = RealNVP.load(tmp_path / "gpu" / T.MODEL)
    assert m.device.type == "cpu"
    assert math.isfinite(bits_per_dim(m, va))


@cuda
def test_gpu_resume_and_cpu_evaluation_agree(tmp_path, small_data):
    tr, va = small_data
    T.train(_cfg(), tmp_path / "r", progress=False, train_images=tr, val_images=va,
            device="cuda", stop_after_steps=4)
    res = T.train(_cfg(), tmp_path / "r", progress=False, train_images=tr, val_images=va,
                  device="cuda", resume=True)
    assert res.step == 8
    m = RealNVP.load(tmp_path / "r" / T.MODEL)
    on_cpu = bits_per_dim(m, va, seed=0)
    on_gpu = bits_per_dim(m.to("cuda"), va, seed=0)
    assert abs(on_cpu - on_gpu) < 1e-4, (on_cpu, on_gpu)


@cuda
def test_runner_passes_the_device_and_records_it(tmp_path):
    argv = ("train", "--preset", "smoke", "--steps", "6", "--eval-every", "3",
            "--quality-every", "3", "--no-progress")
    [r] = run_jobs([Job("gpu", argv, {"seed": 0})], tmp_path, device="cuda")
    assert r.status == "done", (tmp_path / "gpu" / "log.txt").read_text()[-2000:]
    import json
    man = json.loads((tmp_path / "gpu" / "manifest.json").read_text())
    assert "CPU" not in man["device"]
    assert json.loads((tmp_path / "gpu" / "job.json").read_text())["argv"] == list(argv)
