"""Parsed arrays cached beside the data, so a second run skips the parsing.

A cache must never be why an answer is wrong, so a cache file is named by
what the data file holds, one of two ways:

- its size, inode and nanosecond modification and change times, where the
  file system keeps times finer than a second and the file had not changed
  for SETTLE_SECONDS when it was parsed. The kernel sets the change time
  on every write, and nothing can set it back, so any later edit changes
  the name, without the file being read again;
- else (times in whole seconds, as on FAT, some NFS and ext4 with small
  inodes, or a file changed just before it was read) a SHA-256 of its
  bytes, read again on every run: a file rewritten within the same second
  at the same size is parsed again.

The cache goes in a .facial_keypoints_cache folder beside the data or,
where that folder cannot be written, or cannot be made because the data's
folder is marked read-only (a read-only data set, even to root), in
~/.cache/facial_keypoints.
"""

import hashlib
import io
import os
import time

import numpy as np

from ..runs.errors import UserError, reason
from .fileio import atomic_write_bytes

FOLDER_NAME = '.facial_keypoints_cache'
FORMAT = 4                 # bumped whenever what load() returns changes
SETTLE_SECONDS = 2.0
HOME_FOLDER = os.path.join(os.path.expanduser('~'), '.cache', 'facial_keypoints')


def file_key(path):
    """'<name>.<size>.<inode>.<mtime_ns>.<ctime_ns>' of the file at path, where
    those times name its content (see above); else None."""
    st = os.stat(path)
    fine = st.st_mtime_ns % 10 ** 9 and st.st_ctime_ns % 10 ** 9
    settled = time.time() - st.st_ctime > SETTLE_SECONDS
    return '{}.{}.{}.{}.{}'.format(os.path.basename(path), st.st_size, st.st_ino,
                                   st.st_mtime_ns, st.st_ctime_ns) if fine and settled else None


def content_key(path):
    """'<name>.<sha256 of its bytes, 32 hex digits>' of the file at path."""
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 22), b''):
                digest.update(block)
    except OSError as e:
        raise UserError('cannot read {}: {}.'.format(path, reason(e)))
    return '{}.{}'.format(os.path.basename(path), digest.hexdigest()[:32])


def _folders(path):
    return [os.path.join(os.path.dirname(os.path.abspath(path)), FOLDER_NAME), HOME_FOLDER]


def cached_arrays(path, load):
    """The arrays load() returns for the data file at path, from the cache when
    the file is unchanged. load: () -> dict of name -> numpy array."""
    key = file_key(path)
    content = None if key else content_key(path)
    name = '{}.v{}.npz'.format(key or content, FORMAT)
    for folder in _folders(path):
        try:
            with np.load(os.path.join(folder, name)) as z:
                return {k: z[k] for k in z.files}
        except Exception:         # noqa: BLE001 -- absent, or damaged in any way: parse again
            pass
    arrays = load()
    if (file_key(path) != key) if key else (content_key(path) != content):
        return arrays           # changed while it was read: nothing to cache
    for folder in _folders(path):
        if _store(folder, name, arrays, os.path.basename(path)):
            break
    return arrays


def _marked_read_only(folder):
    """Whether no one may write folder by its mode bits, which root may still
    write: a data set marked so is left as it is."""
    try:
        return not os.stat(folder).st_mode & 0o222
    except OSError:
        return False


def _store(folder, name, arrays, data_name):
    """Write arrays to folder/name atomically and drop that file's older
    caches; False if the folder cannot be written, or is not there and its
    parent is _marked_read_only()."""
    if not os.path.isdir(folder) and _marked_read_only(os.path.dirname(folder)):
        return False
    npz = io.BytesIO()
    np.savez(npz, **arrays)
    try:
        os.makedirs(folder, exist_ok=True)
        atomic_write_bytes(os.path.join(folder, name), npz.getvalue())
    except (OSError, UserError):
        return False
    for old in os.listdir(folder):
        if old.startswith(data_name + '.') and old.endswith('.npz') and old != name:
            try:
                os.remove(os.path.join(folder, old))
            except OSError:
                pass
    return True
