"""Predictor: a trained model of either recipe, or an export, loaded once to
predict keypoints as often as needed (photos, video, exports, Python, and
predict.write_submission() for any model but the post's network). Not in the
post.

    with Predictor() as p:          # or Predictor('model'): a model folder or export
        keypoints = p.predict(X)    # X: [N, 96, 96, 1], uint8 or in [0, 1] -> pixels [N, 30]
"""

import numbers

import numpy as np
import tensorflow as tf

from ..constants import BATCH_SIZE, IMAGE_SIZE, NUM_OUTPUTS, PIXEL_MAX
from ..predict import restore, trained_checkpoint
from ..runs import bf16, checkpoints, modeldir, which_model
from ..runs.errors import UserError
from ..units import scale_images
from .export import (SIGNATURE, architecture_of, clip_to_image, constant_weights, keypoints_graph,
                     load_export)

tf1 = tf.compat.v1


class Predictor:
    """A trained model, loaded once: a model folder's best checkpoint, in its own
    graph and session, or an export (run_export.py). Without model_dir, ./model
    if it holds one, else the package's pretrained model (PRETRAINED); the
    folder used is self.model_dir. Call predict() as often
    as needed, then close() (or use it in a with block). The calling
    process's TensorFlow settings (eager mode included) are left as they are.
    """

    _closed = False

    def __init__(self, model_dir=None, use_bf16=False):
        model_dir = which_model.model_to_use(model_dir)
        self.model_dir = model_dir
        modeldir.refuse_file(model_dir)        # '' would read the current folder
        self.recipe = which_model.recipe_of_folder(model_dir)
        if self.recipe == 'export':
            self._export, self.sess, self.checkpoint = load_export(model_dir), None, model_dir
            return
        path = trained_checkpoint(model_dir)
        try:
            self._load(path, use_bf16)
        except UserError:
            # A run saving into model_dir removes the checkpoint before once the
            # next is complete; read while that happened, path is gone, and the
            # newest complete one is read instead, once.
            if self.sess is not None:
                self.sess.close()
            newer = checkpoints.best_checkpoint(model_dir)
            if newer in (None, path):
                raise
            self._load(newer, use_bf16)

    def _load(self, path, use_bf16):
        self.sess = None
        saved = checkpoints.variables(path)
        self.checkpoint = path
        architecture = architecture_of(path, self.recipe, saved)
        config = bf16.session_config(use_bf16)
        self._build(architecture)
        self.sess = tf1.Session(graph=self.graph, config=config)
        with self.graph.as_default():
            restore(checkpoints.saver(), self.sess, path, self.recipe, saved)
        if self.recipe == 'improved':     # rebuilt with constant weights: batch norm folds away
            as_constants = constant_weights(self.sess)
            self.sess.close()
            self._build(architecture, as_constants)
            self.sess = tf1.Session(graph=self.graph, config=config)

    def _build(self, architecture, custom_getter=None):
        self.graph = tf.Graph()
        with self.graph.as_default(), tf1.variable_scope(tf1.get_variable_scope(),
                                                          custom_getter=custom_getter):
            self.x = tf1.placeholder(tf.float32, [None, IMAGE_SIZE, IMAGE_SIZE, 1], name='x')
            self.keypoints = keypoints_graph(self.x, self.recipe, architecture)
            self.clipped = clip_to_image(self.keypoints)

    def predict(self, X, batch_size=BATCH_SIZE, clip=True):
        """Keypoints in pixels, float32 [N, 30], as the recipe predicts them.

        X: N gray 96x96 faces, [N, 96, 96, 1] or [N, 96, 96]: uint8 pixels
        0..255, or floats in [0, 1] (pixels / 255). Both are taken at the
        256 levels of a pixel (floats rounded to the nearest), as an export
        takes them, so a model folder and its export give the same numbers.
        clip: keep them inside the image (an export always clips). Anything
        else (other dtypes or shapes, values out of range, NaN, a batch_size
        that is not a whole number of at least 1) is a UserError.
        """
        if self._closed:
            raise UserError('this Predictor of {} is closed; make a new one to predict '
                            'again.'.format(self.model_dir))
        images = pixel_levels(X)
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) \
                or batch_size < 1:
            raise UserError('batch_size is {!r}; it must be a whole number of at least '
                            '1.'.format(batch_size))
        batch_size, out = int(batch_size), []
        for j in range(0, len(images), batch_size):
            batch = images[j:j + batch_size]
            if self.sess is None:
                out.append(self._export.signatures[SIGNATURE](
                    images=tf.constant(batch))['keypoints'].numpy())
            else:
                out.append(self.sess.run(self.clipped if clip else self.keypoints,
                                         {self.x: scale_images(batch)}))
        return np.concatenate(out) if out else np.zeros((0, NUM_OUTPUTS), np.float32)

    def close(self):
        """Free the model; predict() is then refused, whatever the model."""
        if self.sess is not None:
            self.sess.close()
        self._export, self._closed = None, True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def pixel_levels(X):
    """Faces as Predictor.predict() takes them -> uint8 pixels [N, 96, 96, 1];
    a UserError, in one sentence, for anything else."""
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    shape = X.shape
    if not (X.ndim in (3, 4) and shape[1:3] == (IMAGE_SIZE, IMAGE_SIZE)
            and (X.ndim == 3 or shape[3] == 1)):
        raise UserError('X has shape {}; predict() takes N faces shaped [N, 96, 96, 1] or '
                        '[N, 96, 96].'.format(shape))
    if X.dtype == np.uint8:
        return X.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
    if not np.issubdtype(X.dtype, np.floating):
        raise UserError('X is {}; predict() takes uint8 pixels 0..255 or floats in [0, 1] '
                        '(pixels / 255).'.format(X.dtype))
    if X.size and not np.isfinite(X).all():
        raise UserError('X holds NaN or infinite values; predict() takes pixels / 255 in '
                        '[0, 1].')
    if X.size and (X.min() < 0 or X.max() > 1):
        raise UserError('X holds values from {:g} to {:g}; floats must be pixels / 255 in '
                        '[0, 1] (or give uint8 pixels 0..255).'.format(X.min(), X.max()))
    return np.round(X * PIXEL_MAX).astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
