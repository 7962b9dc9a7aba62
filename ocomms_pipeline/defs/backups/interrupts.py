"""Publishing a bundle and recording it, as one step that a termination does not split.

A run is stopped (terminated from the UI, the daemon shut down) by a signal that Dagster
turns into an exception in the step's thread while the op's own code runs. Between the
rename that publishes a bundle and the last of its materializations being logged, that would
leave a published bundle whose assets the instance shows only in part, or not at all when
the materializations were held back as one batch (a backup's: Dagster buffers a batch until
its last event). Inside ``held_interrupts`` the signal is noted instead, and raised as
Dagster's own interruption once the block is done: the run still stops, a moment later, with
what it published recorded.

The block must not yield to Dagster: Dagster takes the signal back whenever it resumes the
op, and raises a noted one before the op's code runs again. So the events are logged inside
the block and yielded after it (``backups.jobs.recorded``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._utils.interrupts import capture_interrupts, pop_captured_interrupt


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Hold an interrupt until the block ends, then raise it as Dagster raises one.

    Only a step's main thread receives interrupts, and only there are they held; elsewhere
    this does nothing. An exception of the block's own goes out as it is.
    """
    with capture_interrupts():
        yield
        interrupted = pop_captured_interrupt()
    if interrupted:
        raise DagsterExecutionInterruptedError(
            "Execution was interrupted after the bundle was published and recorded."
        )
