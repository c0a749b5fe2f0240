"""The kernel manager a book build gives papermill (named by string in
:func:`flowlib.book.build.kernel_config`, so ``jupyter_client`` is imported only by a build, not
by every ``python -m flowlib`` command)."""
from __future__ import annotations

from jupyter_client.manager import AsyncKernelManager


class QuietShutdownKernelManager(AsyncKernelManager):
    """A kernel manager that does not interrupt the kernel it is shutting down.

    Why: jupyter_client sends SIGINT before every shutdown request; a kernel that receives it
    between two polls of its event loop logs "KeyboardInterrupt caught in kernel" into the build
    log (2 of 14 chapters on a busy machine), though the chapter has finished. A chapter's kernel
    is idle when the build shuts it down; one that is not (a timeout) still gets the shutdown
    request, then SIGTERM and SIGKILL (``shutdown_wait_time``).
    """

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()
