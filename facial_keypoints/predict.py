"""Prediction: rebuild the inference graph, restore the best checkpoint,
predict in batches and write Kaggle's submit.csv through IdLookupTable.csv."""

import io
import os

import numpy as np
import tensorflow as tf

from . import checkpoints, constants
from .data import (load_test, lookup_path, read_lookup_table, scale_images,
                   unscale_keypoints)
from .errors import UserError
from .fileio import atomic_write_text
from .model import placeholders
from .recipes import get_recipe
from .train import run_in_batches

tf1 = tf.compat.v1


class Predictor:
    """The best checkpoint of a model dir, loaded once in its own graph and
    session; call predict() as often as needed, then close()."""

    def __init__(self, model_dir):
        path = checkpoints.best_checkpoint(model_dir)
        if path is None:
            raise UserError('no checkpoint in {}: train first (python run_train.py '
                            '--model-dir {}).'.format(model_dir, model_dir))
        self.hparams = checkpoints.read_hparams(model_dir)
        recipe_name = self.hparams.get('recipe', 'blog')
        self.recipe = get_recipe(recipe_name)
        tf1.disable_eager_execution()
        self.graph = tf.Graph()
        with self.graph.as_default():
            # Dropout is off (keep_prob 1.0), but its op still needs a seed when a
            # seeded training run in this process turned on op determinism.
            tf1.set_random_seed(0)
            self.x, _, keep_prob = placeholders()
            training = tf1.placeholder_with_default(False, shape=[], name='training')
            with tf1.variable_scope('net'):
                self.y_conv = self.recipe.inference(self.x, keep_prob, training)
            saver = tf1.train.Saver(var_list=tf1.global_variables())
            self.sess = tf1.Session(graph=self.graph)
            checkpoints.restore(saver, self.sess, path,
                                'the {} model graph'.format(recipe_name))
        self.checkpoint = path

    def predict(self, X, batch_size=constants.BATCH_SIZE, clip=True):
        """X float32 [N, 96, 96, 1] in [0, 1] -> keypoints in pixels [N, 30],
        as the recipe predicts (the improved one also looks at each mirror
        image); keep_prob stays at its default, 1.0. clip: keep them inside
        the image, where every true keypoint lies."""
        def net(images):
            return run_in_batches(self.sess, self.y_conv, self.x, images, batch_size)
        y = unscale_keypoints(self.recipe.predict(net, X, self.hparams.get('best') or {}))
        return np.clip(y, 0.0, float(constants.IMAGE_SIZE)) if clip else y

    def close(self):
        self.sess.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def submission_text(y_pred, image_ids, lookup_file):
    """The submit.csv text: header RowId,Location, one row per lookup row.

    y_pred: keypoints in pixels [N, 30] for the test images whose ImageIds
    are image_ids, in that order.
    """
    row_ids, image_rows, features = read_lookup_table(lookup_file, image_ids)
    locations = y_pred[image_rows, features]
    out = io.StringIO()
    out.write('RowId,Location\n')
    for row_id, loc in zip(row_ids, locations):
        out.write('{},{}\n'.format(row_id, repr(float(loc))))
    return out.getvalue()


def predict_test_set(data_dir='.', model_dir=constants.SAVE_PATH, output='submit.csv',
                     lookup_file=None, batch_size=constants.BATCH_SIZE, log=print):
    """The post's last step: predict test.csv and write output (submit.csv).

    Everything is checked before output is touched; it is then written
    under a temporary name and renamed into place.
    """
    lookup_file = lookup_file or lookup_path(data_dir)
    pixels, image_ids = load_test(data_dir)
    # Check the lookup table before the (slower) model work.
    read_lookup_table(lookup_file, image_ids)
    with Predictor(model_dir) as predictor:
        y_pred = predictor.predict(scale_images(pixels), batch_size)
        log('predict test image done! {} images, checkpoint {}'.format(
            len(y_pred), predictor.checkpoint))
    text = submission_text(y_pred, image_ids, lookup_file)
    out_dir = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(out_dir):
        raise UserError('cannot write {}: folder {} does not exist.'.format(output, out_dir))
    atomic_write_text(output, text)
    log('wrote {} ({} rows)'.format(output, text.count('\n') - 1))
    return output
