"""Reading a study's results: the runs under a study folder, their numbers, their provenance.

A study folder (``results/<study>-<preset>``, or one a chapter made) holds one run per job:
its ``job.json`` (what the job was, :mod:`flowlib.studies.runner`), ``manifest.json``
(outcome, device, commit), ``metrics.jsonl`` (:mod:`flowlib.training.metrics_file`),
fixed-noise ``grids/step-NNNNNN.png`` and, where the study has one, ``final.json``
(:mod:`flowlib.metrics.final`). Everything here reads those files; nothing trains, and nothing
is typed in by hand.
"""
from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flowlib.core.errors import FlowlibError
from flowlib.core.manifest import read_manifest
from flowlib.core.paths import REPO_ROOT, results_root
from flowlib.data.synthetic import retired_teachers_dir, teacher_dir
from flowlib.training.metrics_file import read_metrics
from flowlib.training.monitor import replay


class StudyMissing(FlowlibError, FileNotFoundError):
    """No finished run of the study where it was looked for."""


@dataclass
class Run:
    name: str
    loss: str
    seed: int
    directory: Path
    manifest: dict
    rows: list
    final: dict | None
    grids: dict = field(default_factory=dict)   # step -> png path
    spec: dict = field(default_factory=dict)    # what the job was (job.json): loss, seed, ...

    @property
    def outcome(self) -> str:
        return self.manifest.get("results", {}).get("outcome", "done")

    @property
    def events(self) -> list[dict]:
        """Instability events by today's rules (:func:`flowlib.training.monitor.replay` of the record:
        the same as the run logged, plus any rule added since), and a divergence if any."""
        return replay(self.rows) + [r for r in self.rows if r.get("event") == "diverged"]

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of the quality/validation rows holding ``key`` (None -> nan)."""
        pts = [(r["step"], r[key]) for r in self.rows if key in r and not r.get("event")]
        if not pts:
            return np.array([]), np.array([])
        s, v = zip(*pts)
        return np.asarray(s), np.array([np.nan if x is None else x for x in v], dtype=float)


# The weight policy (issue 37): a shipped run keeps its weights only where a chapter or a test
# loads them; every other run ships its metrics, manifest, log and sample grids, which is all a
# chapter reads. Each pattern (under results/) names who loads the files it matches; a weight
# file that matches none, or any under superseded/, is refused by tests/test_layout.py.
SHIPPED_WEIGHTS: dict[str, str] = {
    "teacher/model.pt": "the synthetic MNIST: every synthetic sample is drawn from it",
    "retired-teachers/*/model.pt": "Teacher.by_sha256: re-verifying runs made with a retired teacher",
    "classifier/lenet.pt": "LeNet-FID, every chapter's image-quality number",
    "realnvp-nll-quick/model.pt": "chapter Real NVP on MNIST; tests/models/test_realnvp.py",
    "realnvp-lr-sweep/tiny-lr0.005-b32-model.pt": "tests/models/test_realnvp.py (the sweep's reference run)",
    "gan-control-quick/seed0/model.pt": "tests/studies/test_gan_control_shipped.py",
    "gan-control-recipe-quick/seed0/model.pt": "tests/studies/test_gan_control_shipped.py (the bar, re-measured)",
    "nll-vs-gan-quick/*-seed0/model.pt": "the temperature rule and the final-figure re-check (tests/studies/test_nll_vs_gan.py)",
    "nll-vs-gan-search-quick/*/model.pt": "tests/studies/test_search.py: the dead configurations' saturated sigmoid",
    "nash-quick/*-seed0/model.pt": "tests/data/test_synthetic.py: the exact KL re-measured from the weights",
    "misspecification-quick/*-seed0/model.pt": "tests/studies/test_misspecification.py: KL re-measured",
    "misspecification-lr-quick/*/model.pt": "tests/studies/test_misspecification.py: KL re-measured",
    "misspecification-long-quick/*-seed0/model.pt": "tests/studies/test_calibrated_shipped.py: KL re-measured",
    "misspecification-shared-lr-quick/*-seed0/model.pt": "tests/studies/test_calibrated_shipped.py: KL re-measured",
    "in-progress/*/*/checkpoint.pt": "a run cut off by a session's end resumes from it (results/in-progress/README.md)",
}


def unexplained_weights(files) -> list[str]:
    """The weight files (paths relative to results/, POSIX) that the policy does not allow:
    any under ``superseded/`` (kept for the record: metrics and manifests, not weights), and
    any that no :data:`SHIPPED_WEIGHTS` pattern names."""
    from fnmatch import fnmatchcase
    return [f for f in files if f.startswith("superseded/")
            or not any(fnmatchcase(f, pat) and f.count("/") == pat.count("/")
                       for pat in SHIPPED_WEIGHTS)]


def value_at(run: Run, key: str, step: int | None = None):
    """``key`` at ``step`` (None: the last check); None when the run never recorded it."""
    s, v = run.series(key)
    if not len(s):
        return None
    if step is None:
        return float(v[-1])
    hit = np.nonzero(s == step)[0]
    return float(v[hit[0]]) if len(hit) else None


def shipped_results(name: str, preset: str) -> Path:
    """The shipped results folder another study reads at ``preset``: ``results/<name>-<preset>``,
    and at ``smoke`` the ``quick`` one (a smoke run only exercises the code); under
    :func:`flowlib.core.paths.results_root`, resolved at call time."""
    return results_root(f"{name}-{'quick' if preset == 'smoke' else preset}")


def load_study(root, order=()) -> list[Run]:
    """Every finished run under ``root`` (a run with a ``manifest.json``), in the order of
    ``order`` (a study's loss names) then seed."""
    root = Path(root)
    runs = []
    for m in sorted(root.glob("*/manifest.json")):
        d = m.parent
        man = read_manifest(d)
        spec = json.loads((d / "job.json").read_text()).get("spec", {}) if (d / "job.json").exists() else {}
        final = json.loads((d / "final.json").read_text()) if (d / "final.json").exists() else None
        grids = {int(p.stem.split("-")[1]): p for p in sorted((d / "grids").glob("step-*.png"))}
        runs.append(Run(d.name, spec.get("loss", man["config"].get("loss")),
                        int(spec.get("seed", man.get("seed") or 0)), d, man, read_metrics(d),
                        final, grids, spec))
    if not runs:
        raise StudyMissing(f"No finished run under {root}: run the study first (`python -m flowlib "
                           "experiment NAME --preset quick`), or build the book with the shipped "
                           "results/.")
    rank = {k: i for i, k in enumerate(order)}
    return sorted(runs, key=lambda r: (rank.get(r.loss, 99), r.seed))


# ------------------------------------------------------------------ numbers


def median_range(values, spec: str = ".1f", infinite: bool = False) -> str:
    """'median (min–max)' over seeds, each number formatted by ``spec`` (``".3f"``, ``".3g"``):
    the book's one summary, since its values (FIDs of dead and live generators, KLs that
    leave an equilibrium) often span orders of magnitude, where a mean and standard deviation
    mislead. ``None`` (never recorded) is left out; non-finite values are dropped, or with
    ``infinite`` counted as '+ k infinite' (a KL recorded as infinite). One value: no range;
    none: '—'."""
    v = [x for x in values if x is not None]
    fin = [float(x) for x in v if math.isfinite(x)]
    bad = len(v) - len(fin) if infinite else 0
    if not fin:
        return f"{bad} infinite" if bad else "—"
    text = f"{np.median(fin):{spec}}" + (f" ({min(fin):{spec}}–{max(fin):{spec}})"
                                        if min(fin) != max(fin) else "")
    return text + (f" + {bad} infinite" if bad else "")


def verdict(hits: int, total: int) -> str:
    """The book's one three-way rule: *supported* when a comparison goes the claimed way in
    every pair, *not supported* in none, *mixed* otherwise; *no data* without pairs."""
    if total == 0:
        return "no data"
    return "supported" if hits == total else "not supported" if hits == 0 else "mixed"


def shown(path) -> str:
    """``path`` relative to the repository when inside it (what a reader can find)."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def provenance(runs: list[Run], shown: str = "") -> str:
    """A study's provenance as one small-print footnote (HTML in Markdown): what ran, the code's
    commit, the device, when, and where the details are. ``shown``: the sentence saying which
    study is shown (:func:`flowlib.studies.registry.locate`), kept in the footnote.

    Scientific caveats are not provenance: see :func:`teacher_notes`, which chapters show in
    the text."""
    if not runs:
        return f'<p class="flowlib-provenance">{inline_html(shown)} No runs.</p>'

    def short(commit):
        return str(commit or "?")[:7]

    commits = sorted({short(r.manifest.get("commit")) + ("+" if r.manifest.get("dirty") else "")
                      for r in runs})
    fcommits = sorted({short((r.final or {}).get("commit")) for r in runs if r.final})
    devices = sorted({r.manifest.get("device", "?") for r in runs})
    days = sorted({str(r.manifest.get("finished_utc", "?"))[:10] for r in runs})
    total = sum(r.manifest.get("wall_time_s", 0) for r in runs) / 60
    sizes = {(r.rows[0].get("config") or {}).get("name", "?") if r.rows else "?":
             r.manifest.get("results", {}).get("parameters") for r in runs}
    if len(sizes) == 1:
        [(size, params)] = sizes.items()
        what = f"`{size}` Real NVP" + (f" ({params:,} parameters)" if isinstance(params, int) else "")
    else:
        what = f"{len(sizes)} Real NVP sizes"
    steps = sorted({r.manifest.get("results", {}).get("steps") for r in runs} - {None})
    roots = sorted({r.directory.parent for r in runs})
    details = [f"`{(root / 'source.json').relative_to(REPO_ROOT)}`" for root in roots
               if (root / "source.json").exists() and root.is_relative_to(REPO_ROOT)]
    parts = [f"{len(runs)} run{'s' if len(runs) != 1 else ''} of the {what}"
             + (f", {steps[0]:,} steps each" if len(steps) == 1 else ""),
             "code " + ", ".join(commits)
             + (f" (final evaluation {', '.join(fcommits)})" if fcommits and fcommits != commits else ""),
             "; ".join(devices),
             days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}",
             f"{total:.0f} training minutes in all"]
    if details:
        parts.append("how they were made: " + ", ".join(details))
    return (f'<p class="flowlib-provenance"><b>Provenance.</b> {inline_html(shown)} '
            + inline_html(" · ".join(parts)) + ".</p>")


def inline_html(text: str) -> str:
    """Markdown's inline code (`x`) and bold (**x**) as HTML, the rest escaped: for text
    inside an HTML block, where neither Jupyter nor the book parses Markdown (a footnote's
    file names would otherwise show their backticks)."""
    codes = []

    def hold(m):
        codes.append(f"<code>{html.escape(m.group(1), quote=False)}</code>")
        return f"\0{len(codes) - 1}\0"

    out = html.escape(re.sub(r"`([^`]*)`", hold, text), quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return re.sub("\0(\\d+)\0", lambda m: codes[int(m.group(1))], out)


def teacher_notes(runs: list[Run]) -> list[str]:
    """A warning when runs on synthetic MNIST were made with a teacher that has since been
    replaced: their numbers are about the old teacher and await a rerun on the new one."""
    shas = {r.rows[0].get("teacher_sha256") for r in runs if r.rows} - {None}
    if not shas:
        return []
    current = read_manifest(teacher_dir()).get("results", {}).get("model_sha256")
    old = sorted(s for s in shas if s != current)
    if not old:
        return []
    return [f"**These runs were made with a retired teacher (SHA-256 {', '.join(s[:12] + '…' for s in old)}, "
            f"kept in `results/{retired_teachers_dir().name}/`), not the current one: their numbers "
            "describe that teacher's synthetic MNIST and await a rerun on the new teacher.**"]
