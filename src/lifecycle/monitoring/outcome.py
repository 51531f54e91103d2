"""How a monitor run ends: one exit code per outcome, so a scheduler can tell an alert from a
window with nothing in it, and either from a broken setup.

0 judged, no alert; 1 an alert fired; 2 nothing to judge (no predictions in the window);
3 no labelled prediction in the window (drift judged, performance not); 4 the window holds
only another model version's predictions; 5 the bundle or its reference profile is missing
or corrupt; 6 the database cannot be read.
"""

from __future__ import annotations

from enum import IntEnum

from lifecycle.errors import ExitCodeError


class Exit(IntEnum):
    FINE = 0
    ALERT = 1
    NOTHING_TO_JUDGE = 2
    NO_LABELS = 3
    OTHER_VERSION = 4
    BUNDLE = 5
    DATABASE = 6


class MonitorError(ExitCodeError):
    """A monitor run that cannot judge: one message and its exit code (`Exit`); nothing is written."""
