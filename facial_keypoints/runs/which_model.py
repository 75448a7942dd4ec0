"""Which model a prediction uses (a named folder, ./model, or the pretrained
model), the line that says so, and which recipe reads that folder."""

import os

from .. import PRETRAINED
from ..constants import SAVE_PATH
from ..files.fileio import is_pretrained
from .checkpoints import best_checkpoint
from .errors import UserError
from .jsonfiles import read_hparams
from .modeldir import is_export


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
    if is_pretrained(model_dir):        # the package's, or a copy such as an installed one
        return ('model: the pretrained model shipped with the package ({}; trained on YouTube '
                'Faces frames, for research use: docs/pretrained.md)'.format(model_dir))
    if demo_model and os.path.realpath(model_dir) == os.path.realpath(demo_model):
        return ('model: {}, trained on the synthetic demo faces only, so its keypoints on real '
                'photos are rough; leave out --demo and --model-dir for the pretrained model'
                .format(model_dir))
    return 'model: {}'.format(model_dir)


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
