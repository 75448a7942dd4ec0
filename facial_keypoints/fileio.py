"""Writing files so that an interrupted run never leaves a broken one."""

import json
import os
import tempfile

from .errors import UserError


def atomic_write_text(path, text):
    """Write text to path through a temporary file in the same folder.

    The old file (if any) stays whole until the new one is complete: the
    final os.replace is atomic on POSIX file systems.
    """
    atomic_write_bytes(path, text.encode('utf-8'))


def atomic_write_bytes(path, data):
    """atomic_write_text for bytes."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.',
                                   suffix='.tmp', dir=folder)
    except OSError as e:
        raise UserError('cannot write {}: {}.'.format(path, e.strerror or e))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove_quietly(tmp)
        raise UserError('cannot write {}: {}.'.format(path, e.strerror or e))
    except BaseException:
        _remove_quietly(tmp)
        raise


def atomic_write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass
