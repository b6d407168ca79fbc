"""The pipeline's own errors, under one root, in two families that say whether a retry helps.

`chorus_pro.errors` does the same for the client (transient or business errors). Here, what a
run does with an error of its own depends only on its family: `RetryLater` leaves the work for
the next run (nothing is lost; bounded waits tell accounting if it lasts), `NeedsAction` stops
that piece of work until someone fixes what the message names (a setting, a file, a package).
"""

from __future__ import annotations

__all__ = ["NeedsAction", "PipelineError", "RetryLater"]


class PipelineError(Exception):
    """Any error the pipeline raises on purpose (not a bug, not the client's)."""


class RetryLater(PipelineError):
    """A later run can succeed without anyone acting: another run holds the work, a service
    did not answer."""


class NeedsAction(PipelineError):
    """No retry helps until someone acts: a wrong or missing setting, a refused account, an
    input the pipeline cannot use. The message says what to do."""
