"""Where a run keeps its checkpoints and hyperparameters inside --model-dir.

  model-E.index/.data-*   the best model so far (validation), after epoch E;
                          `checkpoint` names the newest. Prediction reads these.
  last-E.index/.data-*    the whole training state (weights, Adam slots,
                          epoch and early-stopping counters) for --resume;
                          `checkpoint_last` names the newest.
  hparams.json            the hyperparameters the run used, and its best result.
  history.json            training and validation RMSE of every epoch.

TensorFlow writes each checkpoint under a new name and then replaces the small
`checkpoint` state file atomically, and the Savers keep the previous one, so a
run killed at any moment leaves the last complete checkpoint in place.
"""

import json
import os

import tensorflow as tf

from .errors import UserError, first_line
from .fileio import atomic_write_json

tf1 = tf.compat.v1

BEST_PREFIX = 'model'
LAST_PREFIX = 'last'
BEST_STATE = 'checkpoint'
LAST_STATE = 'checkpoint_last'
HPARAMS_FILE = 'hparams.json'
HISTORY_FILE = 'history.json'


def best_checkpoint(model_dir):
    """Path prefix of the best checkpoint in model_dir, or None."""
    return _latest(model_dir, BEST_STATE)


def last_checkpoint(model_dir):
    """Path prefix of the last training-state checkpoint in model_dir, or None."""
    return _latest(model_dir, LAST_STATE)


def _latest(model_dir, state_file):
    if not os.path.isdir(model_dir):
        return None
    path = tf1.train.latest_checkpoint(model_dir, latest_filename=state_file)
    return path if path and os.path.exists(path + '.index') else None


def _read_json(model_dir, name, missing):
    path = os.path.join(model_dir, name)
    if not os.path.exists(path):
        return missing
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise UserError('cannot read {}: {}.'.format(path, e))


def read_hparams(model_dir):
    """The hparams.json a training run wrote into model_dir ({} if none)."""
    return _read_json(model_dir, HPARAMS_FILE, {})


def write_hparams(model_dir, hparams):
    atomic_write_json(os.path.join(model_dir, HPARAMS_FILE), hparams)


def read_history(model_dir):
    """Per-epoch RMSE entries a run wrote (history.json), [] if none."""
    return _read_json(model_dir, HISTORY_FILE, [])


def write_history(model_dir, history):
    atomic_write_json(os.path.join(model_dir, HISTORY_FILE), history)


def remove_checkpoints(model_dir):
    """Delete what a previous run left in model_dir (for --overwrite)."""
    for name in os.listdir(model_dir):
        if (name in (BEST_STATE, LAST_STATE, HPARAMS_FILE, HISTORY_FILE)
                or name.startswith((BEST_PREFIX + '-', LAST_PREFIX + '-',
                                    'events.out.tfevents.'))):
            os.remove(os.path.join(model_dir, name))


def save(saver, sess, model_dir, prefix, step, state_file):
    """saver.save under a new name (prefix-step); a failure (full disk,
    read-only folder) is a UserError, and the checkpoint before stays usable."""
    try:
        return saver.save(sess, os.path.join(model_dir, prefix), global_step=step,
                          latest_filename=state_file)
    except (tf.errors.OpError, OSError) as e:
        raise UserError('cannot save a checkpoint in {} ({}); the previous one is '
                        'unchanged.'.format(model_dir, first_line(e)[:200]))


def restore(saver, sess, path, what):
    """saver.restore, with a mismatching checkpoint reported as a UserError."""
    try:
        saver.restore(sess, path)
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError,
            tf.errors.DataLossError) as e:
        raise UserError('checkpoint {} does not fit {} ({}).'.format(
            path, what, first_line(e)[:200]))
