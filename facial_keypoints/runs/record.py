"""run_files.json: the files a training run wrote in its model folder
(runs/modeldir.py lists them), so that --overwrite removes only those and no
run writes over a file of the user's that happens to bear a run's name."""

import os
import shutil

from ..files.fileio import atomic_write_json, final_path, read_json, same_file
from .errors import UserError, reason
from .modeldir import FIXED_NAMES, HPARAMS_FILE, LOCK_FILE, RECORD_FILE, RUN_FILE


def refuse_run_file(output, model_dir, flag='--output'):
    """UserError if output would replace a file of the run in model_dir."""
    for path in (output, final_path(output)):
        folder, name = os.path.split(os.path.abspath(path))
        if RUN_FILE.match(name) and same_file(folder, model_dir):
            raise UserError('{} {} is a file of the model in {}; writing there would '
                            'damage it.'.format(flag, output, model_dir))


def run_files(model_dir):
    """Names in model_dir that a training run wrote (sorted)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(n for n in os.listdir(model_dir) if RUN_FILE.match(n))


def holds_a_run(model_dir):
    """True if model_dir holds anything a run wrote but the lock file."""
    return any(n != LOCK_FILE for n in own_files(model_dir))


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
    write_record(model_dir, [n for n in record['wrote'] if os.path.lexists(
        os.path.join(model_dir, n))] + list(names))


def write_record(model_dir, names):
    """Start model_dir's record anew, listing names."""
    atomic_write_json(os.path.join(model_dir, RECORD_FILE), {'wrote': sorted(set(names))})


def _older_run(model_dir):
    """Whether model_dir holds a run saved before runs kept a record (its
    hparams.json has the run's seed and recipe). Read here, not through
    jsonfiles.read_hparams: jsonfiles records what it writes, through this module."""
    try:
        saved = read_json(os.path.join(model_dir, HPARAMS_FILE), dict, {})
    except UserError:
        return False
    return 'seed' in saved and 'recipe' in saved


def own_files(model_dir):
    """Names in model_dir that a run of this project wrote (sorted)."""
    foreign = set(foreign_files(model_dir))
    return [n for n in run_files(model_dir) if n not in foreign]


def remove_run(model_dir):
    """Delete what a previous run wrote (for --overwrite); the user's own
    files stay, whatever their names (see foreign_files)."""
    for name in own_files(model_dir):
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
