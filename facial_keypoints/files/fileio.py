"""Writing files so that an interrupted run never leaves a broken one, nor
replaces an input or a data file."""

import contextlib
import errno
import json
import os
import secrets
import stat

from .. import PRETRAINED, PRETRAINED_MARK, PRETRAINED_MARK_LINE
from ..constants import LOOKUP_FILE, TEST_FILE, TRAIN_FILE
from ..runs.errors import UserError, reason


def data_forms(file_name):
    """The names a data file may have, in the order they are read: training.csv,
    training.csv.gz, training.zip (Kaggle's download)."""
    return [file_name, file_name + '.gz', file_name[:-len('.csv')] + '.zip']


# Kaggle's data files, in every form the project reads: no output may replace one.
DATA_FILES = frozenset(n.lower() for f in (TRAIN_FILE, TEST_FILE, LOOKUP_FILE)
                       for n in data_forms(f))


# Paths that name a stream rather than a file (a shell's redirection, a pipe):
# written to where they are, never replaced.
STREAM_PATHS = ('/dev/stdout', '/dev/stderr', '/dev/fd/', '/proc/')


def is_stream(path):
    """Whether path names something to write into rather than a file to
    replace: a device (/dev/null), a named pipe (FIFO) or socket, or a
    standard stream (/dev/stdout, /dev/fd/N, /proc/.../fd/N)."""
    if os.path.abspath(path).startswith(STREAM_PATHS):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def final_path(path):
    """The file that writing path replaces: path itself, or where its symbolic
    links lead (the links stay links)."""
    return os.path.realpath(path) if os.path.islink(path) else path


def temporary_name(path, suffix='.tmp'):
    """A new name in the folder of final_path(path), for a file that becomes path."""
    folder, name = os.path.split(os.path.abspath(final_path(path)))
    return os.path.join(folder, '.{}.{}{}'.format(name, secrets.token_hex(4), suffix))


def atomic_write_bytes(path, data):
    """Write data to path through a temporary file in the same folder.

    The old file (if any) stays whole until the new one is complete: the
    final os.replace is atomic on POSIX file systems. A new file gets the
    permissions the user's umask gives; a replaced one keeps its own. A
    symbolic link's target is what is replaced; a stream (is_stream) is
    written to instead.
    """
    if is_stream(path):
        return write_stream(path, [data])
    tmp = temporary_name(path)
    try:
        # os.open applies the umask to 0o666, as a plain open() would.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise UserError('cannot write {}: {}.'.format(path, reason(e)))
    try:
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise UserError('cannot write {}: {}.'.format(path, reason(e)))
        publish(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def publish(tmp, path):
    """Put the complete file tmp (made by temporary_name(path)) in path's
    place: renamed over final_path(path), keeping the permissions of the file
    it replaces, or, for a stream, copied into it and removed."""
    try:
        if is_stream(path):
            with open(tmp, 'rb') as f:
                write_stream(path, iter(lambda: f.read(1 << 20), b''))
            os.remove(tmp)
            return
        target = final_path(path)
        try:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except OSError as e:
        raise UserError('cannot write {}: {}.'.format(path, reason(e)))


def write_stream(path, chunks):
    """Write the bytes of chunks into the stream at path (is_stream) as it is,
    appending to a file a standard stream leads to. A named pipe nobody reads
    is refused at once rather than waited on."""
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            raise UserError('cannot write {}: it is a socket, not a file.'.format(path))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise UserError('cannot write {}: it is a named pipe (FIFO) that no program is '
                            'reading.'.format(path))
        raise UserError('cannot write {}: {}.'.format(path, reason(e)))
    try:
        with os.fdopen(fd, 'wb') as f:
            os.set_blocking(fd, True)
            for chunk in chunks:
                f.write(chunk)
    except BrokenPipeError:     # the reader took what it wanted (`| head`)
        pass
    except OSError as e:
        raise UserError('cannot write {}: {}.'.format(path, reason(e)))


def atomic_write_text(path, text):
    atomic_write_bytes(path, text.encode('utf-8'))


def atomic_write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


def read_json(path, kind, missing=None):
    """The JSON object or list at path (missing if the file is absent); the
    wrong kind of value or a damaged file is a UserError."""
    if not os.path.exists(path):
        return missing
    try:
        with open(path, encoding='utf-8') as f:
            value = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError('cannot read {}: {}.'.format(path, reason(e)))
    if not isinstance(value, kind):
        raise UserError('{} should hold a JSON {}; it was edited or damaged.'.format(
            path, 'object' if kind is dict else 'list' if kind is list else 'object or list'))
    return value


def not_a_file(path):
    """Why path, named as a file to read, is not one ('does not exist', 'is a
    folder, not a file', 'is a named pipe (FIFO), not a file', 'is a broken
    symbolic link ...'), or None when it is a plain file. Never opens it, so
    a FIFO cannot block."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            return 'is a symbolic link that leads back to itself (a loop)'
        if os.path.islink(path):
            return 'is a broken symbolic link (to {}, which does not exist)'.format(
                os.readlink(path))
        return 'does not exist' if e.errno == errno.ENOENT else 'cannot be read: {}'.format(
            reason(e))
    for test, kind in ((stat.S_ISREG, None), (stat.S_ISDIR, 'a folder'),
                       (stat.S_ISFIFO, 'a named pipe (FIFO)'), (stat.S_ISSOCK, 'a socket'),
                       (stat.S_ISCHR, 'a device'), (stat.S_ISBLK, 'a device')):
        if test(mode):
            return kind and 'is {}, not a file'.format(kind)
    return 'is not a plain file'


def same_file(a, b):
    """True if paths a and b name one existing file (links and case included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def is_pretrained(folder):
    """Whether folder is the package's pretrained model or a copy of it: one
    whose PRETRAINED_MARK file (a plain file) begins with PRETRAINED_MARK_LINE."""
    if same_file(folder, PRETRAINED):
        return True
    mark = os.path.join(folder, PRETRAINED_MARK)
    if not os.path.isfile(mark):        # nor a FIFO of that name, whose reading would block
        return False
    try:
        with open(mark, encoding='utf-8', errors='replace') as f:
            return f.readline().rstrip('\r\n') == PRETRAINED_MARK_LINE
    except OSError:
        return False


def refuse_pretrained(path, flag='--output'):
    """UserError if path is the package's pretrained model folder (or a copy of
    it, such as an installed package's) or inside it: it is read-only,
    whatever the file system allows."""
    folder = os.path.realpath(path)
    while not is_pretrained(folder):
        if os.path.dirname(folder) == folder:
            return
        folder = os.path.dirname(folder)
    raise UserError('{} {} is {}the package\'s pretrained model, which is read-only; choose '
                    'another.'.format(flag, path,
                                      'inside ' if os.path.realpath(path) != folder else ''))


def refuse_overwriting_inputs(output, inputs, flag='--output', written=None):
    """UserError if writing the file written (default: output itself, else a
    file that output implies, such as its .csv) would replace one of the input
    files, a data file of any name in DATA_FILES, or a file of the package's
    pretrained model."""
    written = written or output
    refuse_pretrained(written, flag)
    for item in inputs:
        if item and same_file(written, item):
            raise UserError('{} {} is an input file; writing there would destroy it.'.format(
                flag, output) if written == output else '{} {} would write {}, an input file; '
                'choose another name.'.format(flag, output, written))
    for replaced in (written, final_path(written)):
        if os.path.basename(replaced).lower() in DATA_FILES and os.path.lexists(replaced):
            raise UserError('{} {} would replace the data file {}; choose another name.'.format(
                flag, output, replaced))


def refuse_replacing_another_table(table, header, writer=None, what='a keypoints table'):
    """UserError unless table is absent or a CSV whose first line is header:
    the CSV beside a picture or video (writer), or a submission (writer None),
    replaces what an earlier run wrote, never a file of the user's that shares
    its name. A stream (is_stream) is written into, not replaced, and is never
    opened here."""
    if is_stream(table):
        return
    try:
        with open(table, encoding='utf-8-sig', errors='replace') as f:   # a BOM, as Excel saves
            first = f.readline().rstrip('\r\n')
    except FileNotFoundError:
        return
    except OSError as e:
        raise UserError('cannot write {}: {}.'.format(table, reason(e)))
    if first != header:
        who = ('writing {} would replace {}, which'.format(writer, table) if writer else
               '{} already exists and'.format(table))
        raise UserError('{} is not {} this program wrote; choose another --output.'.format(
            who, what))


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass
