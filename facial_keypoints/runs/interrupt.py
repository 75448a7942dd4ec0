"""Ctrl-C during training, opt-in (run_train.py asks for it): the run stops
between two batches, never inside a save, and says what it kept."""

import signal
import threading

from . import checkpoints, jsonfiles
from .errors import Interrupted


class CtrlC:
    """In a with block (main thread only), Ctrl-C sets a flag that check()
    turns into Interrupted, a clean stop; a second Ctrl-C stops at once. The
    previous SIGINT handler is back after the block. enabled=False: Ctrl-C
    is left to the caller, and check() does nothing."""

    def __init__(self, cfg, enabled=True):
        self.model_dir, self.all_rows = cfg.model_dir, cfg.all_rows
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested, self._previous = False, None

    def __enter__(self):
        if self.enabled:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:      # None: not set from Python, nothing to put back
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self):
        """Interrupted, saying what the model folder keeps, if Ctrl-C was pressed."""
        if not self.requested:
            return
        state = checkpoints.last_checkpoint(self.model_dir)
        raise Interrupted('the {} model so far is {}; --resume continues from {}.'.format(
            'latest' if self.all_rows else 'best',
            checkpoints.best_checkpoint(self.model_dir) or 'not saved yet',
            'the training state saved after epoch {}'.format(
                jsonfiles.read_state(state)['epochs_done'] - 1) if state else 'the start'))
