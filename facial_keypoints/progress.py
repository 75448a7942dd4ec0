"""A one-line progress bar for the batches of an epoch (no dependency).

Drawn only on a terminal: in a log file it would be noise.
"""

import sys
import time


class Progress:
    def __init__(self, total, label, stream=None, enabled=True, width=30):
        self.total, self.label, self.width = total, label, width
        self.stream = stream or sys.stderr
        self.enabled = enabled and getattr(self.stream, 'isatty', lambda: False)()
        self.start = time.time()

    def update(self, done):
        if not self.enabled:
            return
        filled = int(self.width * done / max(self.total, 1))
        self.stream.write('\r{} [{}{}] {}/{} {:.0f} s'.format(
            self.label, '=' * filled, '.' * (self.width - filled), done, self.total,
            time.time() - self.start))
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write('\r' + ' ' * (self.width + len(self.label) + 30) + '\r')
            self.stream.flush()
