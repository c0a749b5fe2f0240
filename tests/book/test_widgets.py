"""The book's widget helpers: a choice of one offers no control that does nothing."""
import ipywidgets as W

from flowlib.book import widgets


def test_a_choice_of_one_shows_its_option_without_a_dead_dropdown():
    one = widgets.frame_choice({"seed 0": W.Label("frames")}, "seed")
    assert not any(isinstance(c, W.Dropdown) for c in one.children)
    assert "seed 0" in one.children[0].value
    two = widgets.frame_choice({"seed 0": W.Label("a"), "seed 1": W.Label("b")}, "seed")
    assert isinstance(two.children[0], W.Dropdown) and two.children[0].options == ("seed 0", "seed 1")
