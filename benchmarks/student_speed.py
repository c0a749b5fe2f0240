"""How fast each Experiment 2 student trains, measured on a quiet machine (F6's "slow").

    python benchmarks/student_speed.py --preset quick     # writes results/student-speed-<preset>/

The study's own runs log images per second too, but they were made on a CPU shared with
other jobs, so those numbers say as much about how busy the machine was as about the
student. Here each design student (``flowlib.studies.misspecification.DESIGN_STUDENTS``, with
the teacher's base temperature, as in the study) takes NLL training steps of the preset's
batch size on synthetic-MNIST images, in the trainer's memory layout (channels-last unless
the preset turns it off; benchmarks written before 2026-12-07 used PyTorch's default layout and
say nothing of it), one thread, one student at a time, nothing else running: ``--repeats`` timings of ``--steps`` steps after ``--warmup`` steps; the median is
reported, the spread beside it. Run it with no background job on the machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowlib.core.manifest import write_benchmark  # noqa: E402
from flowlib.core.paths import results_root  # noqa: E402
from flowlib.core.presets import check_preset  # noqa: E402
from flowlib.data.synthetic import Teacher, synthetic_mnist  # noqa: E402
from flowlib.models.realnvp import SIZES, RealNVP  # noqa: E402
from flowlib.studies.misspecification import DESIGN_STUDENTS  # noqa: E402
from flowlib.training.config import preset_config  # noqa: E402


def speed(name: str, images: torch.Tensor, batch: int, steps: int, warmup: int, repeats: int,
          base_std: float, channels_last: bool = True) -> dict:
    torch.manual_seed(0)
    cfg = SIZES[name]
    model = RealNVP(type(cfg)(**{**cfg.to_dict(), "base_std": base_std}))
    if channels_last:   # the trainer's memory layout (TrainConfig.channels_last), so the step timed is the runs'
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def step(i):
        x = images[(i * batch) % (len(images) - batch):][:batch]
        opt.zero_grad(set_to_none=True)
        loss = -model.log_prob(x).mean()
        loss.backward()
        opt.step()
    for i in range(warmup):
        step(i)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            step(i)
        times.append(time.perf_counter() - t0)
    ips = [steps * batch / t for t in times]
    return {"parameters": model.num_parameters(), "images_per_s": float(np.median(ips)),
            "range": [float(min(ips)), float(max(ips))], "seconds": times}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="quick")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    preset = check_preset(args.preset)
    torch.set_num_threads(1)
    batch, layout = preset_config(preset).batch_size, preset_config(preset).channels_last
    teacher = Teacher.load()
    images = synthetic_mnist("train", 2000, teacher).images
    t0 = time.time()
    out = {}
    for s in DESIGN_STUDENTS:
        out[s] = speed(s, images, batch, args.steps, args.warmup, args.repeats, teacher.temperature,
                       layout)
        print(f"{s:8s} {out[s]['parameters']:>9,} parameters: {out[s]['images_per_s']:7.1f} images/s "
              f"({out[s]['range'][0]:.1f}-{out[s]['range'][1]:.1f})", flush=True)
    path = write_benchmark(results_root(f"student-speed-{preset}"), "speeds.json",
                           {"batch_size": batch, "threads": 1, "channels_last": layout,
                            "students": out},
                           config=vars(args), wall_time_s=time.time() - t0, threads=1)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
