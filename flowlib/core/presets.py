"""The three sizes every experiment of the book comes in.

``smoke``  proves a code path in seconds (CI);
``quick``  a 2-core laptop CPU: minutes per chapter, results that already show the effects;
``full``   a GPU: the thesis-scale run.

Each experiment keeps its own small config dataclass with one instance per preset
(one code path for every size); this module only names the presets and checks them.
"""
from __future__ import annotations

from flowlib.core.errors import FlowlibError

PRESETS = ("smoke", "quick", "full")


class PresetError(FlowlibError, ValueError):
    """An unknown preset name."""


def check_preset(name: str) -> str:
    """Return ``name`` if it is a known preset, else raise a one-paragraph error."""
    if name not in PRESETS:
        raise PresetError(
            f"Unknown preset {name!r}. flowlib knows exactly three presets: "
            f"{', '.join(PRESETS)} ('smoke' for CI in seconds, 'quick' for a laptop CPU in "
            "minutes, 'full' for the thesis-scale run on a GPU). Pass one of them, e.g. "
            "`make book PRESET=quick` or `--preset quick`.")
    return name


def pick(preset: str, table: dict):
    """``table[preset]`` after checking the name, with a clear error for a table missing it."""
    check_preset(preset)
    try:
        return table[preset]
    except KeyError:
        raise PresetError(f"No setting for preset {preset!r} in this table "
                          f"(it has {sorted(table)}).") from None
