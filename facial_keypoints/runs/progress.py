"""A one-line progress bar for the batches of an epoch (no dependency).

Drawn only on a terminal: in a log file it would be noise.
"""

import sys
import time


def batches(n, batch_size, label, enabled=True, before_each=lambda: None):
    """Start rows of the batches that cover n rows (0, batch_size, ...),
    drawing the progress bar; before_each() is called before each batch (a
    run stops there on Ctrl-C: interrupt.CtrlC.check)."""
    bar = Progress(n, label, enabled=enabled)
    try:
        for j in range(0, n, batch_size):
            before_each()
            yield j
            bar.update(min(j + batch_size, n))
    finally:
        bar.close()


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
