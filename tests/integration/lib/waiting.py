"""Event waits for the python parts of the integration tests.

Imported by the snippets the scripts run (common.sh exports TEST_PYLIB, the
directory of this file): a step that must happen while another thread or
process is blocked in poll() waits for that to be true, not for a guessed
delay that a loaded machine may overrun.
"""
import time


def sleeping_in_poll(tid):
    """True while thread (or process) TID sleeps in poll(2)."""
    try:
        with open("/proc/%d/wchan" % tid) as f:
            return "poll" in f.read()
    except OSError:
        return False


def wait_for(pred, secs=60.0):
    """Poll PRED until it holds or SECS pass (a watchdog, not a measure)."""
    deadline = time.monotonic() + secs
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
