"""Errors a user can cause, and how the command-line scripts report them."""

import sys


class UserError(Exception):
    """A problem the user can fix (a missing file, a malformed CSV, ...).

    The message is one plain sentence naming the file and the problem; the
    scripts print it without a traceback and exit with status 2.
    """


EXIT_USER_ERROR = 2


def first_line(e):
    """The first line of an exception's message (for one-sentence errors)."""
    text = str(e).strip().splitlines()
    return text[0].rstrip('.') if text else type(e).__name__


def run_cli(func, *args, **kwargs):
    """Call func; turn a UserError into one line on stderr and exit status 2.

    Returns the process exit status: func's return value (None counts as 0).
    """
    try:
        status = func(*args, **kwargs)
    except UserError as e:
        print('error: {}'.format(e), file=sys.stderr)
        return EXIT_USER_ERROR
    return 0 if status is None else status
