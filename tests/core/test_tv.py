"""torchvision on CPU torch, through the one module that imports it."""
from __future__ import annotations

import ast
from pathlib import Path

import torch

from flowlib.core.paths import REPO_ROOT


def test_make_grid_transforms_v2_and_mnist_dataset(mnist_cache_file, tmp_path):
    from flowlib.core.tv import datasets, make_grid, transforms_v2
    from flowlib.data import mnist as data
    from tests.data.test_mnist import _write_idx

    x = data.load_mnist("test").images[:10]
    grid = make_grid(x.float() / 255, nrow=5, padding=2)
    assert grid.shape == (3, 2 * 28 + 3 * 2, 5 * 28 + 6 * 2)

    t = transforms_v2.Compose([transforms_v2.ToDtype(torch.float32, scale=True),
                               transforms_v2.RandomCrop(24)])
    out = t(x)
    assert out.shape == (10, 1, 24, 24) and out.dtype == torch.float32 and out.max() <= 1

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    test = data.load_mnist("test")
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", test.images[:100, 0].numpy())
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", test.labels[:100].numpy())
    ds = datasets.MNIST(str(tmp_path), train=False, download=False)
    img, label = ds[3]
    assert len(ds) == 100 and label == int(test.labels[3])


def test_torchvision_is_imported_in_exactly_one_module():
    importers = []
    for path in list((REPO_ROOT / "flowlib").rglob("*.py")) + list((REPO_ROOT / "book").glob("*.py")):
        # chapters may hold IPython magics (%matplotlib): not Python, not imports
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in path.read_text().splitlines())
        tree = ast.parse(source, filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(n == "torchvision" or n.startswith("torchvision.") for n in names):
                importers.append(str(Path(path).relative_to(REPO_ROOT)))
    assert sorted(set(importers)) == ["flowlib/core/tv.py"]
