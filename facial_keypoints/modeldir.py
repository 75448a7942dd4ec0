"""What a training run keeps in its model folder (--model-dir), and nothing else.

  model-E.index, .data-*   the best model so far (validation), after epoch E
                           (with --all-rows, the latest): the network's
                           weights, what prediction needs.
                           `checkpoint` names the newest.
  last-N.index, .data-*,   the whole training state after N epochs (weights,
  last-N.json              Adam's slots, early-stopping counters) for --resume;
                           `checkpoint_last` names the newest.
  hparams.json             the settings the run used, and its best result.
  history.json             training and validation RMSE of every epoch.
  events.out.tfevents.*    TensorBoard's.
  learning_curve.png, validation_faces.png   with matplotlib.
  run_files.json           the record that a run of this project wrote here,
                           and the fixed names above it writes: --overwrite
                           removes only those and the numbered ones, and no
                           run starts where a file of such a name is not its own.

Every checkpoint is written under a new name, and the one before is removed
only once the new one is complete and named in the state file, so a run
killed at any moment leaves a loadable model. Names in the state files are relative and are
always looked up inside the folder, so a folder can be moved or copied.
"""

import contextlib
import errno
import json
import os
import re
import shutil

from .errors import UserError, reason
from .fileio import atomic_write_json, same_file

BEST_PREFIX, BEST_STATE = 'model', 'checkpoint'
LAST_PREFIX, LAST_STATE = 'last', 'checkpoint_last'
HPARAMS_FILE = 'hparams.json'
HISTORY_FILE = 'history.json'
LOCK_FILE = '.lock'
SAVED_MODEL_FILE = 'saved_model.pb'     # marks an export (run_export.py), not a run
PICTURES = ('learning_curve.png', 'validation_faces.png')
RECORD_FILE = 'run_files.json'
# The names a run writes that a user might also give a file of their own;
# the numbered and TensorFlow's names are a run's wherever its record is.
FIXED_NAMES = (BEST_STATE, LAST_STATE, HPARAMS_FILE, HISTORY_FILE) + PICTURES

# Exactly the names a run writes (TensorFlow's _temp folders are what a run
# killed while saving leaves behind).
_RUN_FILE = re.compile(r'^(?:(?:model|last)-\d+(?:\.index|\.data-\d{5}-of-\d{5}|\.json|_temp)'
                       r'|checkpoint|checkpoint_last|hparams\.json|history\.json|\.lock'
                       r'|run_files\.json'
                       r'|events\.out\.tfevents\..+|learning_curve\.png|validation_faces\.png)$')


def in_use(model_dir):
    """The process id (a string, maybe empty) of the training run holding
    model_dir's lock, or None when no run holds it."""
    try:
        with locked(model_dir, create=False):
            return None
    except UserError as e:
        if not hasattr(e, 'pid'):       # not another run: a folder it cannot read
            raise
        return e.pid


def refuse_run_file(output, model_dir, flag='--output'):
    """UserError if output would replace a file of the run in model_dir."""
    folder, name = os.path.split(os.path.abspath(output))
    if _RUN_FILE.match(name) and same_file(folder, model_dir):
        raise UserError('{} {} is a file of the model in {}; writing there would damage '
                        'it.'.format(flag, output, model_dir))


def run_files(model_dir):
    """Names in model_dir that a training run wrote (sorted)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(n for n in os.listdir(model_dir) if _RUN_FILE.match(n))


def holds_a_run(model_dir):
    """True if model_dir holds anything a run wrote but the lock file."""
    return any(n != LOCK_FILE for n in _own_files(model_dir))


def foreign_files(model_dir):
    """Names in model_dir that a run would write but that no run of this
    project wrote there (the user's own): all of them where the folder holds
    no record, else those of FIXED_NAMES the record does not list."""
    names = [n for n in run_files(model_dir) if n != LOCK_FILE]
    record = read_json(os.path.join(model_dir, RECORD_FILE), list, None) \
        if RECORD_FILE in names else None
    if record is None:
        return [] if _older_run(model_dir) else names
    return [n for n in names if n in FIXED_NAMES and n not in record]


def _older_run(model_dir):
    """Whether model_dir holds a run saved before runs kept a record (its
    hparams.json has the run's seed and recipe)."""
    try:
        saved = read_hparams(model_dir)
    except UserError:
        return False
    return 'seed' in saved and 'recipe' in saved


def _own_files(model_dir):
    foreign = set(foreign_files(model_dir))
    return [n for n in run_files(model_dir) if n not in foreign]


def remove_run(model_dir):
    """Delete what a previous run wrote (for --overwrite); the user's own
    files stay, whatever their names (see foreign_files)."""
    for name in _own_files(model_dir):
        if name == LOCK_FILE:
            continue
        path = os.path.join(model_dir, name)
        try:
            if name.endswith('_temp') and os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.isfile(path) or os.path.islink(path):
                os.remove(path)
        except OSError as e:
            raise UserError('cannot remove {}: {}.'.format(path, reason(e)))


@contextlib.contextmanager
def locked(model_dir, create=True):
    """Hold model_dir for one training run. The operating system releases the
    lock when the process ends, however it ends, so a killed run leaves none.
    create=False only tries (and holds nothing) where there is no lock file."""
    path = os.path.join(model_dir, LOCK_FILE)
    if not create and not os.path.exists(path):
        yield
        return
    try:        # only to try, read-only is enough: a read-only folder is no run's
        f = open(path, 'a+' if create else 'r')
    except OSError as e:
        raise UserError('cannot {} in model folder {}: {}.'.format(
            'write' if create else 'read', model_dir, reason(e)))
    try:
        try:
            _try_lock(f)
        except OSError:
            f.seek(0)
            pid = f.read().strip()
            error = UserError('another training run{} is using {}; wait for it to finish or '
                              'choose another --model-dir.'.format(
                                  ' (process {})'.format(pid) if pid else '', model_dir))
            error.pid = pid
            raise error
        if create:
            try:        # unbuffered: a full disk fails here, not again when f closes
                os.ftruncate(f.fileno(), 0)
                os.write(f.fileno(), str(os.getpid()).encode())
            except OSError as e:
                raise UserError('cannot write in model folder {}: {}.'.format(
                    model_dir, reason(e)))
        yield
    finally:
        f.close()


def _try_lock(f):
    try:
        import fcntl
    except ImportError:                 # Windows
        import msvcrt
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def refuse_for_training(cfg):
    """Before a run (a TrainConfig) does any work, writing nothing: a
    UserError unless its model_dir can take it: a folder, no export, no
    other run using it, and holding no run unless to --resume or --overwrite it."""
    model_dir = cfg.model_dir
    refuse_file(model_dir)
    if is_export(model_dir):
        raise UserError('--model-dir {} holds an exported model ({}); train into another '
                        'folder.'.format(model_dir, SAVED_MODEL_FILE))
    pid = in_use(model_dir)
    if pid is not None:
        raise UserError('another training run{} is using {}; wait for it to finish or '
                        'choose another --model-dir.'.format(
                            ' (process {})'.format(pid) if pid else '', model_dir))
    if not cfg.resume:
        _refuse_to_replace(model_dir, cfg.overwrite)


@contextlib.contextmanager
def held_for_training(cfg):
    """Hold cfg.model_dir for one training run (a TrainConfig): create and lock
    it, remove the run it held (--overwrite), and write the run's settings in
    hparams.json (a resumed run's other saved keys stay). Leaving the block
    unlocks it."""
    import tensorflow as tf
    model_dir = cfg.model_dir
    try:
        os.makedirs(model_dir, exist_ok=True)
    except OSError as e:
        raise UserError('cannot create model folder {}: {}.'.format(model_dir, e.strerror))
    with locked(model_dir):
        if not cfg.resume:
            _refuse_to_replace(model_dir, cfg.overwrite)    # again, now that no other run can start
            remove_run(model_dir)
        atomic_write_json(os.path.join(model_dir, RECORD_FILE), list(FIXED_NAMES))
        write_hparams(model_dir, dict(read_hparams(model_dir) if cfg.resume else {},
                                      **cfg.hparams(), tensorflow=tf.__version__))
        yield


def _refuse_to_replace(model_dir, overwrite):
    foreign = foreign_files(model_dir)
    if foreign:
        names = ', '.join(foreign[:3]) + (' ...' if len(foreign) > 3 else '')
        raise UserError('{} holds {}, which no training run wrote there; move {} or choose '
                        'another --model-dir.'.format(
                            model_dir, names, 'it' if len(foreign) == 1 else 'them'))
    if holds_a_run(model_dir) and not overwrite:
        raise UserError('{} already holds a training run; pass --resume to continue it or '
                        '--overwrite to replace it.'.format(model_dir))


# ---- checkpoints -------------------------------------------------------------

def is_export(model_dir):
    """Whether model_dir holds an exported model (run_export.py) rather than a run."""
    return os.path.isfile(os.path.join(model_dir, SAVED_MODEL_FILE))


def refuse_file(model_dir):
    """A --model-dir that names a file, not a folder, or nothing at all ('')
    is one sentence."""
    if not model_dir:
        raise UserError('the model folder\'s name is empty; give --model-dir a folder.')
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise UserError('--model-dir {} is a file, not a model folder.'.format(model_dir))


def refuse_missing(model_dir):
    """A --model-dir to predict with that is a file or no folder at all is one
    sentence, before anything slow is loaded."""
    refuse_file(model_dir)
    if not os.path.isdir(model_dir):
        raise UserError('model folder {} does not exist: train first (python '
                        'run_train.py --model-dir {}).'.format(model_dir, model_dir))


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


def _newest(model_dir, prefix, state_file):
    """The checkpoint the state file names, looked up inside model_dir; if that
    file is missing or damaged, the highest-numbered complete one there."""
    if not os.path.isdir(model_dir):
        return None
    try:
        with open(os.path.join(model_dir, state_file)) as f:
            m = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', f.read(), re.M)
        named = os.path.join(model_dir, os.path.basename(m.group(1).replace('\\', '/')))
        if re.match(r'^{}-\d+$'.format(prefix), os.path.basename(named)) and _complete(named):
            return named
    except (OSError, AttributeError, UnicodeDecodeError):
        pass
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
    try:
        free, needed = shutil.disk_usage(model_dir).free, _bytes_to_save(saver, sess)
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
    pattern = re.compile(r'^{}-(\d+)(\.index|\.data-.*|\.json)$'.format(prefix))
    for name in os.listdir(model_dir):
        m = pattern.match(name)
        if m and int(m.group(1)) != step:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(model_dir, name))
    return os.path.join(model_dir, os.path.basename(path))


def _bytes_to_save(saver, sess):
    """The bytes of the tensors saver writes (its SaveV2 op's inputs), 0 where
    that cannot be told."""
    try:
        done = sess.graph.get_tensor_by_name(saver.saver_def.save_tensor_name).op
        (op,) = [c for c in done.control_inputs if c.type == 'SaveV2']
        return sum(t.shape.num_elements() * t.dtype.size for t in list(op.inputs)[3:])
    except (KeyError, ValueError, TypeError):
        return 0


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
    """A Saver whose state file holds relative names (a movable folder); old
    checkpoints are removed by save(), not by TensorFlow."""
    import tensorflow as tf
    return tf.compat.v1.train.Saver(var_list=var_list, max_to_keep=None,
                                    save_relative_paths=True)


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


# ---- hparams.json, history.json, last-N.json -------------------------------------

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
            path, 'object' if kind is dict else 'list'))
    return value


def read_hparams(model_dir):
    """The hparams.json a training run wrote into model_dir ({} if none)."""
    return read_json(os.path.join(model_dir, HPARAMS_FILE), dict, {})


def write_hparams(model_dir, hparams):
    atomic_write_json(os.path.join(model_dir, HPARAMS_FILE), hparams)


def read_history(model_dir):
    """Per-epoch entries (history.json), [] if none; each must be an object
    with a whole-number 'epoch'."""
    path = os.path.join(model_dir, HISTORY_FILE)
    history = read_json(path, list, [])
    for k, entry in enumerate(history):
        if not (isinstance(entry, dict) and type(entry.get('epoch')) is int):
            raise UserError('{} entry {} has no whole-number "epoch"; it was edited or '
                            'damaged (remove the file to start the history afresh).'.format(
                                path, k + 1))
    return history


def write_history(model_dir, history):
    atomic_write_json(os.path.join(model_dir, HISTORY_FILE), history)


def read_state(path):
    """The counters saved beside a training-state checkpoint (last-N.json)."""
    state = read_json(path + '.json', dict, {})
    for key, kind in (('epochs_done', int), ('best_epoch', int), ('best_validation_loss', float),
                      ('seed', int)):
        if type(state.get(key)) is not kind:
            raise UserError('{}.json lacks a valid "{}"; it was edited or damaged (train '
                            'again with --overwrite).'.format(path, key))
    return state
