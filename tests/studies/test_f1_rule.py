"""F1's rule on constructed inputs: a verdict needs a working adversarial baseline."""
from flowlib.studies.nll_vs_gan import alive, f1_verdict


def test_a_dead_baseline_is_never_a_win_for_nll():
    # NLL far lower in every seed, but every adversarial generator is dead
    status, detail = f1_verdict([(760.0, 5255.0, False)] * 3)
    assert status == "inconclusive: the adversarial baseline failed" and "0/3" in detail


def test_a_working_baseline_that_loses_wins_or_splits():
    assert f1_verdict([(700.0, 900.0, True)] * 3)[0] == "supported"
    assert f1_verdict([(700.0, 400.0, True)] * 3)[0] == "not supported"
    assert f1_verdict([(700.0, 900.0, True), (700.0, 400.0, True), (700.0, 800.0, True)])[0] == "mixed"
    # dead seeds are not counted either way
    status, detail = f1_verdict([(700.0, 400.0, True), (700.0, 5000.0, False)])
    assert status == "not supported" and "1 dead" in detail
    assert f1_verdict([])[0] == "no data"


def test_alive_needs_a_gradient_and_eight_classes():
    assert alive({"final_grad_norm": 0.3, "classes": 10})
    assert not alive({"final_grad_norm": 0.0, "classes": 10})   # vanished gradient
    assert not alive({"final_grad_norm": 0.3, "classes": 1})    # collapsed to one class
    assert not alive({"final_grad_norm": None, "classes": 9})
