"""Checkpoints in a model folder: saved under a new name each time, the one
before removed only once the new one is complete, and found again by the
state file that names them (or, that file lost, by their numbers)."""

import contextlib
import errno
import os
import re
import shutil

from .errors import UserError, reason
from .modeldir import BEST_PREFIX, BEST_STATE, LAST_PREFIX, LAST_STATE
from .record import record_written


def best_checkpoint(model_dir):
    """Path prefix of the best checkpoint in model_dir, or None."""
    return _newest(model_dir, BEST_PREFIX, BEST_STATE)


def last_checkpoint(model_dir):
    """Path prefix of the newest training-state checkpoint in model_dir, or None."""
    path = _newest(model_dir, LAST_PREFIX, LAST_STATE)
    return path if path and os.path.exists(path + '.json') else None


def _complete(path):
    folder, stem = os.path.split(path)
    return (os.path.exists(path + '.index')
            and any(n.startswith(stem + '.data-') for n in os.listdir(folder)))


def named_checkpoint(model_dir, prefix, state_file):
    """The name (prefix-N) of the checkpoint that state_file in model_dir
    names, whether or not it is complete; None where there is none."""
    try:
        with open(os.path.join(model_dir, state_file)) as f:
            m = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', f.read(), re.M)
        name = os.path.basename(m.group(1).replace('\\', '/'))
    except (OSError, AttributeError, UnicodeDecodeError):
        return None
    return name if re.match(r'^{}-\d+$'.format(prefix), name) else None


def _newest(model_dir, prefix, state_file):
    """The checkpoint the state file names, looked up inside model_dir; if that
    file is missing or damaged, the highest-numbered complete one there."""
    if not os.path.isdir(model_dir):
        return None
    named = named_checkpoint(model_dir, prefix, state_file)
    if named and _complete(os.path.join(model_dir, named)):
        return os.path.join(model_dir, named)
    steps = [int(m.group(1)) for m in (re.match(r'^{}-(\d+)\.index$'.format(prefix), n)
                                       for n in os.listdir(model_dir)) if m]
    for step in sorted(steps, reverse=True):
        path = os.path.join(model_dir, '{}-{}'.format(prefix, step))
        if _complete(path):
            return path
    return None


def save(saver, sess, model_dir, prefix, step):
    """saver.save as prefix-step in model_dir; once it is complete and named in
    the state file, the older ones go. A failure (full disk, read-only
    folder) is a UserError that leaves no part of the new one behind, and
    the checkpoint before stays usable. A disk too full for it is found
    before TensorFlow starts to write. Returns the path prefix."""
    import tensorflow as tf
    state_file = BEST_STATE if prefix == BEST_PREFIX else LAST_STATE
    previous = _newest(model_dir, prefix, state_file)
    stem = '{}-{}'.format(prefix, step)
    record_written(model_dir, state_file, stem + '.index', stem + '.data-00000-of-00001',
                   stem + '_temp')
    try:
        free, needed = shutil.disk_usage(model_dir).free, _bytes_to_save(saver, sess.graph)
        if free < needed:
            raise OSError(errno.ENOSPC, 'No space left on device ({:.1f} MB free, the '
                          'checkpoint needs {:.1f} MB)'.format(free / 1e6, needed / 1e6))
        path = saver.save(sess, os.path.join(model_dir, prefix), global_step=step,
                          latest_filename=state_file, write_meta_graph=False)
    except (tf.errors.OpError, OSError) as e:
        if not previous or os.path.basename(previous) != '{}-{}'.format(prefix, step):
            _remove_partial(model_dir, '{}-{}'.format(prefix, step))
        kept = ('the previous one, {}, is unchanged'.format(os.path.basename(previous))
                if previous else 'there was no earlier {} to keep'.format(
                    'model' if prefix == BEST_PREFIX else 'training state'))
        raise UserError('cannot save a checkpoint in {}: {}; {}.'.format(
            model_dir, reason(e), kept))
    record_written(model_dir, *(n for n in os.listdir(model_dir) if n.startswith(stem + '.')))
    pattern = re.compile(r'^{}-(\d+)(\.index|\.data-.*|\.json)$'.format(prefix))
    for name in os.listdir(model_dir):
        m = pattern.match(name)
        if m and int(m.group(1)) != step:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(model_dir, name))
    return os.path.join(model_dir, os.path.basename(path))


def _bytes_to_save(saver, graph):
    """About the bytes saver's checkpoint takes: its variables' values (those
    saver() was given, else all of graph's), plus 1% and 64 kB for the index
    and the names."""
    import tensorflow as tf
    with graph.as_default():
        variables = getattr(saver, 'variables', None) or tf.compat.v1.global_variables()
    values = sum(v.shape.num_elements() * v.dtype.base_dtype.size for v in variables)
    return int(values * 1.01) + 2 ** 16


def _remove_partial(model_dir, stem):
    """What a failed save of stem (e.g. model-4) left: TensorFlow's temporary
    files and folder, a half-written .index or .data, and the .json of a
    training state."""
    partial = re.compile(r'^{}(\.index|\.data-\d{{5}}-of-\d{{5}}|\.json)?'
                         r'(\.tempstate\d+|_temp)?$'.format(re.escape(stem)))
    for name in os.listdir(model_dir):
        if partial.match(name) and name != stem:
            path = os.path.join(model_dir, name)
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)


def save_model(saver_, sess, model_dir, epoch, log=print):
    """The post's save_model(saver, sess, SAVE_PATH): the best model so far,
    as model-<epoch> in model_dir. Returns its path prefix."""
    path = save(saver_, sess, model_dir, BEST_PREFIX, epoch)
    log('model save in :{0}'.format(path))
    return path


def restore_best(saver_, sess, model_dir):
    """The best model in model_dir, restored into sess (if it has one)."""
    path = best_checkpoint(model_dir)
    if path:
        restore(saver_, sess, path)


def saver(var_list=None):
    """A Saver of var_list (default: every global variable) whose state file
    holds relative names (a movable folder); old checkpoints are removed by
    save(), not by TensorFlow. It keeps var_list as .variables, which save()
    sizes the checkpoint from."""
    import tensorflow as tf
    saver_ = tf.compat.v1.train.Saver(var_list=var_list, max_to_keep=None,
                                      save_relative_paths=True)
    saver_.variables = list(var_list) if var_list is not None else None
    return saver_


def variables(path):
    """{name: shape} of the variables in the checkpoint at path, after reading
    every value once; a damaged checkpoint is a UserError that says so."""
    import tensorflow as tf
    try:
        reader = tf.train.load_checkpoint(path)
        shapes = reader.get_variable_to_shape_map()
        for name in shapes:
            reader.get_tensor(name)
    except Exception as e:          # noqa: BLE001 -- the reader raises many kinds
        raise UserError('checkpoint {} is damaged or unreadable ({}); train again, or copy '
                        'the model folder again.'.format(path, reason(e)))
    return {name: list(shape) for name, shape in shapes.items()}


def restore(saver_, sess, path):
    """saver.restore; a damaged checkpoint is a UserError that says so."""
    import tensorflow as tf
    try:
        saver_.restore(sess, path)
    except (tf.errors.OpError, ValueError) as e:
        raise UserError('checkpoint {} is damaged or unreadable ({}); train again, or copy '
                        'the model folder again.'.format(path, reason(e)))
