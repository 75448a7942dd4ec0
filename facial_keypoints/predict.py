"""Prediction: rebuild the inference graph, restore the best checkpoint,
predict in batches and write Kaggle's submit.csv through IdLookupTable.csv.

The graph that predicts (keypoints_graph) is also what run_export.py saves,
so an exported model gives the same numbers as the model folder it came from
(to about 0.0001 px: a model folder's improved graph holds its weights as
constants, which lets TensorFlow fold each batch norm into its convolution).
"""

import io
import os

import numpy as np
import tensorflow as tf

from . import bf16, constants, improved_model, modeldir
from .augment import FLIP_PERMUTATION
from .constants import IMAGE_SIZE, NUM_OUTPUTS
from .data import find_data_file, lookup_path, read_lookup_table, test_data
from .errors import UserError, reason
from .fileio import atomic_write_text, refuse_overwriting_inputs
from .model import model

tf1 = tf.compat.v1


def keypoints_graph(x, recipe, architecture=None):
    """The prediction graph: x float32 [N, 96, 96, 1] in [0, 1] -> keypoints in
    pixels [N, 30], unclipped. Dropout is off (keep_prob 1.0).

    The improved recipe also predicts each face's mirror image, mirrors that
    answer back at 95 + 2d (d: its learned label offset, in pixels) and
    averages the two, and then averages its members' answers.
    architecture: its (channels, fc_units, members), when not the recipe's
    own (improved_model.architecture() reads them off a checkpoint).
    """
    if recipe == 'blog':
        y_conv, _ = model(x, tf.zeros([1, NUM_OUTPUTS]), 1.0)
        return y_conv * IMAGE_SIZE
    channels, fc_units, members = architecture or (improved_model.CHANNELS,
                                                   improved_model.FC_UNITS, 1)
    both = tf.concat([x, tf.reverse(x, axis=[2])], 0)
    mirror = (IMAGE_SIZE - 1) / IMAGE_SIZE + 2 * improved_model.label_x_offset()
    answers = []
    for k in range(members):
        y_conv, y_mirror = tf.split(
            improved_model.network(both, 1.0, False, channels, fc_units, member=k), 2)
        answers.append(
            (y_conv + improved_model.flip_keypoints(y_mirror, mirror, FLIP_PERMUTATION)) / 2)
    return tf.add_n(answers) / members * IMAGE_SIZE


def clip_to_image(keypoints):
    """Every true keypoint lies inside the 96x96 image; so must a prediction."""
    return tf.clip_by_value(keypoints, 0.0, float(IMAGE_SIZE))


def recipe_of(checkpoint_variables):
    """'improved' or 'blog', from the variables a best checkpoint holds."""
    return 'improved' if 'mean_face' in checkpoint_variables else 'blog'


class Predictor:
    """A trained model, loaded once: a model folder's best checkpoint, in its own
    graph and session, or an export (run_export.py). Call predict() as often
    as needed, then close() (or use it in a with block). The calling
    process's TensorFlow settings (eager mode included) are left as they are.
    """

    def __init__(self, model_dir, use_bf16=False):
        self.model_dir = model_dir
        if modeldir.is_export(model_dir):
            self._load_export(model_dir)
            return
        path = modeldir.best_checkpoint(model_dir)
        if path is None:
            modeldir.refuse_file(model_dir)
            if not os.path.isdir(model_dir):
                raise UserError('model folder {} does not exist: train first (python '
                                'run_train.py --model-dir {}).'.format(model_dir, model_dir))
            raise UserError('no checkpoint in {}: train first (python run_train.py '
                            '--model-dir {}).'.format(model_dir, model_dir))
        saved = modeldir.variables(path)
        self.recipe = recipe_of(saved)
        self.checkpoint = path
        architecture = improved_model.architecture(saved)
        config = bf16.session_config(use_bf16)
        self._build(architecture)
        with self.graph.as_default():
            wanted = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
            wrong = sorted(k for k, shape in wanted.items() if saved.get(k) != shape)
            if wrong:
                raise UserError('checkpoint {} does not fit the {} network: {} {}.'.format(
                    path, self.recipe, ', '.join(wrong[:3]) + (' ...' if len(wrong) > 3 else ''),
                    'is missing or has another shape' if len(wrong) == 1 else
                    'are missing or have other shapes'))
            self.sess = tf1.Session(graph=self.graph, config=config)
            modeldir.restore(modeldir.saver(), self.sess, path)
        if self.recipe == 'improved':
            # The same graph with the weights as constants: TensorFlow then folds
            # each batch norm into its convolution, which makes one face at a time
            # about a quarter faster (nearly half with --bf16).
            with self.graph.as_default():
                weights = self.sess.run({v.op.name: v for v in tf1.global_variables()})
            self.sess.close()
            self._build(architecture, lambda getter, name, *a, **k: tf.constant(weights[name]))
            self.sess = tf1.Session(graph=self.graph, config=config)

    def _build(self, architecture, custom_getter=None):
        self.graph = tf.Graph()
        with self.graph.as_default(), tf1.variable_scope(tf1.get_variable_scope(),
                                                          custom_getter=custom_getter):
            self.x = tf1.placeholder(tf.float32, [None, IMAGE_SIZE, IMAGE_SIZE, 1], name='x')
            self.keypoints = keypoints_graph(self.x, self.recipe, architecture)
            self.clipped = clip_to_image(self.keypoints)

    def _load_export(self, model_dir):
        try:
            loaded = tf.saved_model.load(model_dir)
            self._signature = loaded.signatures['serving_default']
        except (OSError, ValueError, KeyError, tf.errors.OpError) as e:
            raise UserError('cannot load the exported model in {}: {}.'.format(
                model_dir, reason(e)))
        self._loaded, self.sess = loaded, None
        self.recipe, self.checkpoint = 'export', model_dir

    def predict(self, X, batch_size=constants.BATCH_SIZE, clip=True):
        """X float32 [N, 96, 96, 1] in [0, 1] -> keypoints in pixels [N, 30],
        as the recipe predicts. clip: keep them inside the image (an export
        always clips)."""
        out = []
        for j in range(0, len(X), batch_size):
            batch = X[j:j + batch_size]
            if self.sess is None:
                images = np.round(np.asarray(batch) * 255).astype(np.uint8)
                out.append(self._signature(images=tf.constant(images))['keypoints'].numpy())
            else:
                out.append(self.sess.run(self.clipped if clip else self.keypoints,
                                         {self.x: batch}))
        return np.concatenate(out) if out else np.zeros((0, NUM_OUTPUTS), np.float32)

    def close(self):
        if self.sess is not None:
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
                     lookup_file=None, batch_size=constants.BATCH_SIZE, use_bf16=False,
                     log=print):
    """The post's last step: predict test.csv and write output (submit.csv).

    Everything is checked before output is touched; it is then written
    under a temporary name and renamed into place.
    """
    lookup_file = lookup_file or lookup_path(data_dir)
    test_file = find_data_file(data_dir, constants.TEST_FILE)
    refuse_overwriting_inputs(output, [test_file, lookup_file])
    modeldir.refuse_run_file(output, model_dir)
    out_dir = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(out_dir):
        raise UserError('cannot write {}: folder {} does not exist.'.format(output, out_dir))
    if os.path.isdir(output):
        raise UserError('--output {} is a folder; give a file name such as submit.csv.'.format(
            output))
    X, image_ids = test_data(data_dir)
    read_lookup_table(lookup_file, image_ids)       # checked before the slower model work
    with Predictor(model_dir, use_bf16) as predictor:
        y_pred = predictor.predict(X, batch_size)
        log('predict test image done! {} images, {}'.format(len(y_pred), predictor.checkpoint))
    text = submission_text(y_pred, image_ids, lookup_file)
    atomic_write_text(output, text)
    log('wrote {} ({} rows)'.format(output, text.count('\n') - 1))
    return output
