"""pytest settings for the whole repository (unit tests and nbval on every notebook).

nbval starts one Jupyter kernel per notebook. With ``-n auto`` two workers may start kernels at the
same moment, and a kernel can die before it answers (jupyter_client chooses its TCP ports by binding
free ones and letting them go, so two kernels can pick the same port; CI saw "Kernel died before
replying to kernel_info" once in a dozen runs). A kernel that fails to *start* is tried again, up to
three times in all; a notebook whose kernel starts and then fails still fails, and so does a kernel
that cannot start three times.
"""
import logging

try:
    import nbval.kernel
except ImportError:          # nbval is a dev dependency; without it there are no notebook tests
    nbval = None

START_ATTEMPTS = 3

if nbval is not None:
    _start_new_kernel = nbval.kernel.start_new_kernel

    def _start_new_kernel_with_retries(*args, **kwargs):
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                return _start_new_kernel(*args, **kwargs)
            except RuntimeError as exc:
                if attempt == START_ATTEMPTS:
                    raise
                logging.getLogger("nbval").warning("kernel start %d of %d failed (%s); trying again",
                                                   attempt, START_ATTEMPTS, exc)

    nbval.kernel.start_new_kernel = _start_new_kernel_with_retries
