"""Errors a user can cause, and how the command-line scripts report them."""

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
    moment (even while TensorFlow loads), is one line and status 130."""
    try:
        status = func(*args, **kwargs)
    except UserError as e:
        print('error: {}'.format(e), file=sys.stderr)
        return EXIT_USER_ERROR
    except Interrupted as e:
        print('interrupted: {}'.format(e), file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print('interrupted.', file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0 if status is None else status
