"""The JSON files of a model folder: hparams.json, history.json and the
counters beside a training state (last-N.json)."""

import os

from ..files.fileio import atomic_write_json, read_json
from .errors import UserError
from .modeldir import HISTORY_FILE, HPARAMS_FILE
from .record import record_written


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
