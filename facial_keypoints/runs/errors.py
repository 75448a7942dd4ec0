"""Errors a user can cause, and how the command-line scripts report them."""

import os
import re
import sys

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130          # what a shell reports for a process ended by Ctrl-C


class UserError(Exception):
    """A problem the user can fix (a missing file, a malformed CSV, ...).

    The message is one plain sentence naming the file and the problem; the
    scripts print it without a traceback and exit with status 2.
    """


class Interrupted(Exception):
    """Ctrl-C, turned into a clean stop; the message says what was kept."""


# What the operating system said, as TensorFlow's errors quote it inside
# longer text ("... : No space left on device").
_OS_REASONS = re.compile(r'(No space left on device|Read-only file system|Permission denied|'
                         r'Disk quota exceeded|Input/output error|No such file or directory|'
                         r'File name too long|Is a directory|Not a directory)')


def reason(e):
    """A short reason for an exception, fit to end a sentence (no final period).

    OSError gives its strerror; TensorFlow's errors are searched for the
    operating system's words first (their first line is often only
    "Graph execution error:"), then their first meaningful line.
    """
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = str(getattr(e, 'message', None) or e)
    found = _OS_REASONS.search(text)
    if found:
        return found.group(1)
    text = text.split('Original error:')[-1]
    for line in text.strip().splitlines():
        line = line.strip().rstrip('.:')
        if line and not line.startswith(('Graph execution error', 'Detected at node', 'File "',
                                         'Traceback', '[[')):
            return line
    return type(e).__name__


def run_cli(func, *args, **kwargs):
    """Call func and return the process exit status: func's return value (None
    is 0); a UserError is one line on stderr and status 2; Ctrl-C, at any
    moment (even while TensorFlow loads), is one line and status 130.

    A standard output that fails stops the printing, never the work: a reader
    that went away (`| head`) is left alone, and the work's status stands; any
    other failure (`> /dev/full`) is one line once the work is done, status 2."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Guarded(out), _Guarded(err)
    try:
        try:
            status = func(*args, **kwargs)
            sys.stdout.flush()
        except UserError as e:
            print('error: {}'.format(e), file=sys.stderr)
            return EXIT_USER_ERROR
        except Interrupted as e:
            print('interrupted: {}'.format(e), file=sys.stderr)
            return EXIT_INTERRUPTED
        except KeyboardInterrupt:
            print('interrupted.', file=sys.stderr)
            return EXIT_INTERRUPTED
        lost = sys.stdout.failure
        if lost is not None and not isinstance(lost, BrokenPipeError):
            print('error: cannot write to standard output: {}; the work itself is done, its '
                  'printed lines were lost.'.format(reason(lost)), file=sys.stderr)
            return EXIT_USER_ERROR
        return 0 if status is None else status
    finally:
        sys.stdout, sys.stderr = out, err


class _Guarded:
    """A stream (sys.stdout or sys.stderr) that, once a write fails, takes no
    more, so that printing cannot end the work. Its file descriptor then
    points at os.devnull, so that what Python still holds for it is dropped
    quietly at exit rather than reported."""

    def __init__(self, stream):
        self._stream, self.failure = stream, None

    def write(self, text):
        self._do(self._stream.write, text)
        return len(text)

    def flush(self):
        self._do(self._stream.flush)

    def _do(self, method, *args):
        if self.failure is not None:
            return
        try:
            method(*args)
        except OSError as e:
            self.failure = e
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._stream.fileno())
                os.close(devnull)
            except (OSError, ValueError, AttributeError):   # no file descriptor (a test's capture)
                pass

    def __getattr__(self, name):
        return getattr(self._stream, name)
