"""Controls that work in both places a reader meets them.

In the static HTML there is no kernel: a control can only switch between outputs
that were computed when the chapter was executed. So every control here is a
client-side link (``ipywidgets.jslink``) from a slider or drop-down to a ``Stack``
of precomputed frames; its state is saved in the notebook by papermill, and the
bundled widget manager (see ``_config.yml``) renders it offline. In a running
kernel the same control works, and ``recompute=`` adds a panel that calls Python
to render settings that were not precomputed.

Compose them: ``frame_choice({"train": frame_slider(...), "test": frame_slider(...)})``.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import ipywidgets as W

from flowlib.book.legibility import frame_png as to_png
from flowlib.core.images import image_grid  # noqa: F401 (chapters use it from here)

# CSS classes the browser test reads: a control that steps through precomputed frames (it
# must respond in the static page), and a panel that needs a running kernel (it must say so).
FRAME_CONTROL = "flowlib-frame-control"
KERNEL_ONLY = "flowlib-kernel-only"

STATIC_NOTE = ("Showing {n} frames precomputed when this chapter was executed; "
               "they respond in the static page too.")


def frame_slider(frames: Sequence, labels: Sequence[str] | None = None, description: str = "",
                 *, caption: str | None = None, width: str | None = None,
                 recompute: Callable | None = None, recompute_controls=None, start: int = 0):
    """A slider stepping through precomputed ``frames`` (figures, arrays or PNG bytes).

    ``labels[i]`` is shown beside the slider for frame ``i``. ``recompute(**values)``, if
    given, is called in a live kernel with the values of ``recompute_controls`` (a
    mapping name -> widget) and must return one frame; it is shown below the slider.
    ``start``: the frame shown first (the reader's first look). Returns an ``ipywidgets.VBox``.
    """

    if len(frames) == 0:
        raise ValueError("frame_slider needs at least one frame")
    labels = list(labels) if labels is not None else [str(i) for i in range(len(frames))]
    if len(labels) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(labels)} labels: give one label per frame")
    layout = W.Layout(width=width) if width else W.Layout()
    if not 0 <= start < len(frames):
        raise ValueError(f"start={start} is not a frame index (0..{len(frames) - 1})")
    images = W.Stack([W.Image(value=to_png(f), format="png", layout=layout) for f in frames],
                     selected_index=start)
    readout = W.Stack([W.HTML(f"<b>{lab}</b>") for lab in labels], selected_index=start)
    slider = W.IntSlider(value=start, min=0, max=len(frames) - 1, step=1, description=description,
                         readout=False, continuous_update=True,
                         style={"description_width": "initial"})
    # Client-side links: they keep working in the static HTML, where no kernel answers.
    W.jslink((slider, "value"), (images, "selected_index"))
    W.jslink((slider, "value"), (readout, "selected_index"))
    slider.add_class(FRAME_CONTROL)
    note = W.HTML(f"<small><i>{caption or STATIC_NOTE.format(n=len(frames))}</i></small>")
    # one frame: nothing to step through, so no slider (a control that moves nothing)
    head = W.HBox([slider, readout]) if len(frames) > 1 else readout
    children = [head, images] + ([note] if len(frames) > 1 else [])
    if recompute is not None:
        children.append(recompute_panel(recompute, recompute_controls or {}))
    box = W.VBox(children)
    box.add_class("flowlib-frames")
    return box


def frame_choice(options: Mapping[str, object], description: str = "", *, dropdown: bool = True):
    """A drop-down (or toggle buttons) choosing which of several widgets is visible."""

    names = list(options)
    if not names:
        raise ValueError("frame_choice needs at least one option")
    if len(names) == 1:
        # a drop-down with one entry is a control that does nothing: name the one option
        label = W.HTML(f"<b>{description}</b>: {names[0]}" if description else names[0])
        box = W.VBox([label, options[names[0]]])
        box.add_class("flowlib-choice")
        return box
    stack = W.Stack([options[n] for n in names], selected_index=0)
    if dropdown:
        chooser = W.Dropdown(options=names, index=0, description=description,
                             style={"description_width": "initial"})
    else:
        chooser = W.ToggleButtons(options=names, index=0, description=description,
                                  style={"description_width": "initial"})
    # a selection's *index* is what syncs to the browser (its value does not)
    W.jslink((chooser, "index"), (stack, "selected_index"))
    chooser.add_class(FRAME_CONTROL)
    box = W.VBox([chooser, stack])
    box.add_class("flowlib-choice")
    return box


def recompute_panel(recompute: Callable, controls: Mapping[str, object]):
    """Controls and a Recompute button that call ``recompute(**values)`` in a running kernel
    and show the frame it returns. Marked, in the page, as needing a kernel."""

    button = W.Button(description="Recompute", tooltip="needs a running Jupyter kernel",
                      icon="refresh", layout=W.Layout(width="auto", min_width="8em"))
    out = W.Output()
    # In the static book nothing answers these controls: say so where the reader looks.
    status = W.HTML("<small><b>Needs a running Jupyter kernel.</b> On this static page these "
                    "controls do nothing; open the chapter in Jupyter (see the preface) to "
                    "recompute with your settings.</small>")

    def _on_click(_):
        values = {name: w.value for name, w in controls.items()}
        status.value = f"<small>computing {values} ...</small>"
        frame = recompute(**values)
        with out:
            out.clear_output(wait=True)
            from IPython.display import Image, display
            display(Image(to_png(frame)))
        status.value = f"<small>computed for {values}</small>"

    button.on_click(_on_click)
    # the button on its own line: squeezed beside the sliders its label was cut to "Recomp..."
    panel = W.VBox([W.HBox(list(controls.values())), button, status, out])
    panel.add_class(KERNEL_ONLY)
    return panel
