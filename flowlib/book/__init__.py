"""The book's layer: its build, its controls, its figures and one companion per chapter.

Importing it (as every chapter with a figure does, after ``%matplotlib inline``) makes each
inline figure carry its smallest text size, which the build checks for legibility
(:mod:`flowlib.book.legibility`).
"""
from flowlib.book.legibility import register_inline_check

register_inline_check()
