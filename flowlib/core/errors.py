"""One base class for every error flowlib raises on purpose.

Each says what is wrong and what to do about it; the command line prints such an error as
one line (``error: ...``) and exits 2, while any other exception is a bug and keeps its
traceback. Subclasses also derive from the built-in type a caller would expect
(``ValueError`` for bad input, ``RuntimeError`` for a run that cannot go on,
``FileNotFoundError`` for something missing), so ``except ValueError`` keeps working.
"""


class FlowlibError(Exception):
    """Base of flowlib's own errors: the message names the problem and the fix."""
