"""Holding a model folder for one training run: its lock (.lock), and the
refusals a run meets before it writes anything."""

import contextlib
import os

from ..files.fileio import refuse_pretrained
from .errors import UserError, reason
from .jsonfiles import read_hparams, write_hparams
from .modeldir import LOCK_FILE, SAVED_MODEL_FILE, is_export, refuse_file
from .record import foreign_files, holds_a_run, own_files, remove_run, write_record


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
            raise UserError('another training run{} is using {}; wait for it to finish or '
                            'choose another --model-dir.'.format(
                                ' (process {})'.format(pid) if pid else '', model_dir))
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
    with locked(model_dir, create=False):   # only tries: another run holding it is refused
        pass
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
        write_record(model_dir, [] if not cfg.resume else own_files(model_dir))
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
