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
  .lock                    the training process's id, locked while it runs;
                           it stays, unlocked, after the run.
  run_files.json           the files (and TensorFlow's _temp folders) that the
                           runs of this project wrote here, each recorded
                           before it is written: --overwrite removes only
                           those, and no run starts where a file of a run's
                           name is not in it (the user's own).

This module holds those names and the checks of what a folder is; each job
on the folder has its own module beside it:

  lock.py          holding the folder for one run (.lock), and the refusals before it
  record.py        run_files.json, and what --overwrite removes
  checkpoints.py   saving and restoring checkpoints, and finding the newest
  jsonfiles.py     hparams.json, history.json, last-N.json
  which_model.py   which folder a prediction uses, and which recipe reads it
"""

import os
import re

from .errors import UserError

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
RUN_FILE = re.compile(r'^(?:(?:model|last)-\d+(?:\.index|\.data-\d{5}-of-\d{5}|\.json|_temp)'
                      r'|checkpoint|checkpoint_last|hparams\.json|history\.json|\.lock'
                      r'|run_files\.json'
                      r'|events\.out\.tfevents\..+|learning_curve\.png|validation_faces\.png)$')


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
