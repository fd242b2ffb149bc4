"""Keep glibc's malloc from handing large arrays back to the kernel after every step.

What it does. A training step allocates and frees the same large temporaries every
time (a CNN step of 128 images: im2col's columns, activations and their gradients, about
16 MB). By default glibc's malloc returns freed memory at the top of its heap to the
kernel once more than a threshold is free there, and serves blocks above another
threshold by mmap, unmapped again on free; both thresholds adapt to the sizes seen, but
not enough for this pattern. Every step then faults the same pages in again: about
4,400 minor page faults per CNN step, and the kernel's time zeroing them. On import this
module calls glibc's `mallopt` (through ctypes) twice:

- M_MMAP_THRESHOLD = 32 MiB (glibc's largest): blocks below it come from the heap, whose
  freed memory malloc reuses instead of unmapping it;
- M_TRIM_THRESHOLD = 256 MiB: the heap gives memory back only once that much is free at
  its top, so the pages of one step's temporaries (about 50 MiB at most for the CNN's
  batch of 128) serve the next step, and no more than that is kept unused.

The process's peak memory is unchanged (the temporaries were resident at the peak
anyway); what changes is that it stays near that peak instead of shrinking between
steps. Blocks of 32 MiB and more
(say, a whole test set's activations) are still mapped and unmapped, so they return.

When it is off: on anything but glibc (macOS, Windows, musl: there is no `mallopt` to
call, and nothing happens), and when the environment says how malloc should behave:
`AUTOGRAD_MALLOPT=0`, or glibc's own MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or
GLIBC_TUNABLES set, which this module then leaves alone. Switch it off by setting
`AUTOGRAD_MALLOPT=0` before `import nn`.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc refuses more (HEAP_MAX_SIZE / 2 on 64-bit)
TRIM_THRESHOLD = 256 * 1024 * 1024
MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def keep_freed_memory() -> bool:
    """Set the two thresholds, unless switched off; True when glibc took both."""
    if os.environ.get("AUTOGRAD_MALLOPT") == "0" or any(v in os.environ for v in MALLOC_VARIABLES):
        return False
    try:  # the symbols the process already has: libc's, without looking for the library
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


ACTIVE = keep_freed_memory()
