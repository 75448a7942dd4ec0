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
  run_files.json           the files (and TensorFlow's _temp folders) that the
                           runs of this project wrote here, each recorded
                           before it is written: --overwrite removes only
                           those, and no run starts where a file of a run's
                           name is not in it (the user's own).

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

from .. import PRETRAINED
from ..constants import SAVE_PATH
from .errors import UserError, reason
from ..files.fileio import atomic_write_json, final_path, refuse_pretrained, same_file

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
    for path in (output, final_path(output)):
        folder, name = os.path.split(os.path.abspath(path))
        if _RUN_FILE.match(name) and same_file(folder, model_dir):
            raise UserError('{} {} is a file of the model in {}; writing there would '
                            'damage it.'.format(flag, output, model_dir))


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
    project wrote there (the user's own): those its record does not list.
    An older record (a list: the FIXED_NAMES its run wrote) speaks for those
    names only, and the numbered and TensorFlow's names are then taken as
    the run's; a folder with no record is all the user's, unless its
    hparams.json shows a run saved before runs kept one."""
    names = [n for n in run_files(model_dir) if n not in (LOCK_FILE, RECORD_FILE)]
    record = _read_record(model_dir)
    if isinstance(record, dict):
        return [n for n in names if n not in record['wrote']]
    if record is None:
        return [] if _older_run(model_dir) else names
    return [n for n in names if n in FIXED_NAMES and n not in record]


def _read_record(model_dir):
    """run_files.json: {"wrote": [names]}, the older [fixed names], or None."""
    path = os.path.join(model_dir, RECORD_FILE)
    if not os.path.lexists(path):
        return None
    record = read_json(path, (dict, list), None)
    if isinstance(record, dict) and not (isinstance(record.get('wrote'), list) and all(
            isinstance(n, str) for n in record['wrote'])):
        raise UserError('{} should list the files a run wrote under "wrote"; it was edited or '
                        'damaged.'.format(path))
    return record


def record_written(model_dir, *names):
    """Add names to the files model_dir's record says a run wrote, before the
    run writes them (so a run killed while writing leaves none unrecorded);
    names no longer there are dropped from it, so a file of that name made
    later is the user's. Only a run's own record (held_for_training) is
    kept up: elsewhere nothing is written."""
    record = _read_record(model_dir) if os.path.isdir(model_dir) else None
    if not isinstance(record, dict) or set(names) <= set(record['wrote']):
        return
    _write_record(model_dir, [n for n in record['wrote'] if os.path.lexists(
        os.path.join(model_dir, n))] + list(names))


def _write_record(model_dir, names):
    atomic_write_json(os.path.join(model_dir, RECORD_FILE), {'wrote': sorted(set(names))})


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
    refuse_pretrained(model_dir, '--model-dir')
    if is_export(model_dir):
        raise UserError('--model-dir {} holds an exported model ({}); train into another '
                        'folder.'.format(model_dir, SAVED_MODEL_FILE))
    pid = in_use(model_dir)
    if pid is not None:
        raise UserError('another training run{} is using {}; wait for it to finish or '
                        'choose another --model-dir.'.format(
                            ' (process {})'.format(pid) if pid else '', model_dir))
    if cfg.resume:
        _refuse_foreign(model_dir)      # a resumed run could write over them
    else:
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
        _write_record(model_dir, [] if not cfg.resume else _own_files(model_dir))
        write_hparams(model_dir, dict(read_hparams(model_dir) if cfg.resume else {},
                                      **cfg.hparams(), tensorflow=tf.__version__))
        yield


def _refuse_to_replace(model_dir, overwrite):
    _refuse_foreign(model_dir)
    if holds_a_run(model_dir) and not overwrite:
        raise UserError('{} already holds a training run; pass --resume to continue it or '
                        '--overwrite to replace it.'.format(model_dir))


def _refuse_foreign(model_dir):
    foreign = foreign_files(model_dir)
    if foreign:
        names = ', '.join(foreign[:3]) + (' ...' if len(foreign) > 3 else '')
        raise UserError('{} holds {}, which no training run wrote there; move {} or choose '
                        'another --model-dir.'.format(
                            model_dir, names, 'it' if len(foreign) == 1 else 'them'))


# ---- which model predicts -------------------------------------------------------

def model_to_use(model_dir=None):
    """The model folder to predict with: model_dir when one is named; else
    ./model (SAVE_PATH) when it holds a trained model or an export; else the
    package's pretrained model (PRETRAINED)."""
    if model_dir is not None:
        return model_dir
    if is_export(SAVE_PATH) or best_checkpoint(SAVE_PATH):
        return SAVE_PATH
    return PRETRAINED


def describe(model_dir, demo_model=None):
    """One line that names the model a prediction uses. demo_model: the demo's
    model folder, whose faces are synthetic (its keypoints on real photos are rough)."""
    def names(folder):
        return folder and os.path.realpath(model_dir) == os.path.realpath(folder)
    if names(PRETRAINED):
        return ('model: the pretrained model shipped with the package ({}; trained on YouTube '
                'Faces frames, for research use: docs/pretrained.md)'.format(PRETRAINED))
    if names(demo_model):
        return ('model: {}, trained on the synthetic demo faces only, so its keypoints on real '
                'photos are rough; leave out --demo and --model-dir for the pretrained model'
                .format(model_dir))
    return 'model: {}'.format(model_dir)


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


def recipe_of_folder(model_dir):
    """What predicts with model_dir, as the folder says: 'export' (run_export.py),
    else hparams.json's "recipe" ('blog' or 'improved'), else, where that file
    is absent or unreadable, 'improved' if the best checkpoint holds the
    improved recipe's mean face, and 'blog' for anything else (whose path
    says what is wrong with a missing or damaged model)."""
    if is_export(model_dir):
        return 'export'
    try:
        recipe = read_hparams(model_dir).get('recipe')
    except UserError:
        recipe = None
    if recipe in ('blog', 'improved'):
        return recipe
    import tensorflow as tf
    path = best_checkpoint(model_dir)
    try:
        names = dict(tf.train.list_variables(path)) if path else {}
    except (tf.errors.OpError, ValueError, OSError):
        names = {}
    return 'improved' if 'mean_face' in names else 'blog'


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
            path, 'object' if kind is dict else 'list' if kind is list else 'object or list'))
    return value


def read_hparams(model_dir):
    """The hparams.json a training run wrote into model_dir ({} if none)."""
    return read_json(os.path.join(model_dir, HPARAMS_FILE), dict, {})


def write_hparams(model_dir, hparams):
    record_written(model_dir, HPARAMS_FILE)
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
    record_written(model_dir, HISTORY_FILE)
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
