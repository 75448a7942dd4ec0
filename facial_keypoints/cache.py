"""Parsed arrays cached beside the data, so a second run skips the parsing.

A cache file is named by the data file's size, modification time and change
time: an edited file, even one of the same size and modification time, does
not get stale arrays. The cache goes in a
.facial_keypoints_cache folder beside the data or, where that folder cannot
be written (a read-only data set), in ~/.cache/facial_keypoints.
"""

import io
import os

import numpy as np

from .errors import UserError
from .fileio import atomic_write_bytes

FOLDER_NAME = '.facial_keypoints_cache'
FORMAT = 3                 # bumped whenever what load() returns changes
HOME_FOLDER = os.path.join(os.path.expanduser('~'), '.cache', 'facial_keypoints')


def file_key(path):
    """'<name>.<size>.<mtime_ns>.<ctime_ns>' of the file at path."""
    st = os.stat(path)
    # The kernel sets the change time on every write, and nothing can set it
    # back (a restored modification time cannot), so an edit always changes
    # the key, without reading the file.
    return '{}.{}.{}.{}'.format(os.path.basename(path), st.st_size, st.st_mtime_ns,
                                st.st_ctime_ns)


def _folders(path):
    return [os.path.join(os.path.dirname(os.path.abspath(path)), FOLDER_NAME), HOME_FOLDER]


def cached_arrays(path, load):
    """The arrays load() returns for the data file at path, from the cache when
    the file is unchanged. load: () -> dict of name -> numpy array."""
    name = '{}.v{}.npz'.format(file_key(path), FORMAT)
    for folder in _folders(path):
        try:
            with np.load(os.path.join(folder, name)) as z:
                return {k: z[k] for k in z.files}
        except Exception:         # noqa: BLE001 -- absent, or damaged in any way: parse again
            pass
    arrays = load()
    for folder in _folders(path):
        if _store(folder, name, arrays, os.path.basename(path)):
            break
    return arrays


def _store(folder, name, arrays, data_name):
    """Write arrays to folder/name atomically and drop that file's older
    caches; False if the folder cannot be written."""
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
