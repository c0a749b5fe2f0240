# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Findings
#
# The thesis this book reproduces states six findings. One row each: what this book's runs
# say, the number that says it, why, and where the chapter shows it. Every cell is generated
# from the shipped runs, never typed. Beneath the table, each finding's readings (rules, sizes
# and settings), with one sentence saying how they fit together.

# %% tags=["parameters"]
preset = "quick"

# %% tags=["remove-input"]
from IPython.display import Markdown, display

from flowlib.book import findings as C
from flowlib.studies import findings

shown = preset if preset != "smoke" else "quick"   # smoke builds show the shipped quick results
rows = findings.findings_table(shown)
display(Markdown(C.page(rows, shown)))
