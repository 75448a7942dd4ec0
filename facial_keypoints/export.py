"""Export a trained model for use without this repository (run_export.py).

Writes a TensorFlow SavedModel whose `serving_default` signature takes
`images` (uint8 [N, 96, 96, 1], Kaggle's gray pixels) and returns
`keypoints` (float32 [N, 30], pixels, in Kaggle's column order). Everything
prediction does is inside the graph: the scaling, the improved recipe's
mirror averaging with its learned offset, and the clipping to the image; it
is the graph Predictor runs (predict.keypoints_graph). A second signature,
`keypoint_columns`, returns the 30 column names. Beside it: keypoints.tflite,
converted from the SavedModel, and export.json, which says the same in words.
"""

import json
import os
import secrets
import shutil

import tensorflow as tf

from . import improved_model, modeldir
from .constants import IMAGE_SIZE, KEYPOINT_COLUMNS
from .errors import UserError, reason
from .predict import clip_to_image, keypoints_graph, recipe_of

tf1 = tf.compat.v1

TFLITE_FILE = 'keypoints.tflite'
INFO_FILE = 'export.json'


def _tensor_info(t):
    return tf1.TensorInfo(name=t.name, dtype=t.dtype.as_datatype_enum,
                          tensor_shape=t.shape.as_proto())


def export(model_dir, output, log=print):
    """Export the best checkpoint of model_dir as a SavedModel (and .tflite) in
    the new folder output, which is filled under a temporary name and renamed
    into place when complete. Returns output."""
    if os.path.exists(output):
        raise UserError('{} already exists; give a new folder for the export.'.format(output))
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise UserError('cannot write {}: folder {} does not exist.'.format(output, parent))
    if modeldir.is_export(model_dir):
        raise UserError('{} is an exported model already; export from the model folder it '
                        'came from.'.format(model_dir))
    path = modeldir.best_checkpoint(model_dir)
    if path is None:
        modeldir.refuse_file(model_dir)
        raise UserError('no checkpoint in {}: train first.'.format(model_dir))
    saved = modeldir.variables(path)
    recipe = recipe_of(saved)
    tmp = os.path.join(parent, '.{}.{}.tmp'.format(os.path.basename(output), secrets.token_hex(4)))
    try:
        with tf.Graph().as_default(), tf1.Session() as sess:
            images = tf1.placeholder(tf.uint8, [None, IMAGE_SIZE, IMAGE_SIZE, 1], name='images')
            keypoints = clip_to_image(keypoints_graph(tf.cast(images, tf.float32) / 255.0, recipe,
                                                      improved_model.architecture(saved)))
            keypoints = tf.identity(keypoints, name='keypoints')
            columns = tf.constant(KEYPOINT_COLUMNS, name='keypoint_columns')
            modeldir.restore(modeldir.saver(), sess, path)
            builder = tf1.saved_model.Builder(tmp)
            predict = tf1.saved_model.signature_constants.PREDICT_METHOD_NAME
            builder.add_meta_graph_and_variables(
                sess, [tf1.saved_model.tag_constants.SERVING], signature_def_map={
                    'serving_default': tf1.saved_model.build_signature_def(
                        {'images': _tensor_info(images)}, {'keypoints': _tensor_info(keypoints)},
                        predict),
                    'keypoint_columns': tf1.saved_model.build_signature_def(
                        {}, {'keypoint_columns': _tensor_info(columns)}, predict)})
            builder.save()
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, ['serving_default'])
        with open(os.path.join(tmp, TFLITE_FILE), 'wb') as f:
            f.write(converter.convert())
        with open(os.path.join(tmp, INFO_FILE), 'w') as f:
            json.dump({'recipe': recipe, 'checkpoint': os.path.basename(path),
                       'input': 'images: uint8 [N, 96, 96, 1], gray pixels 0..255',
                       'output': 'keypoints: float32 [N, 30], pixels, clipped to 0..96',
                       'keypoint_columns': KEYPOINT_COLUMNS, 'tensorflow': tf.__version__},
                      f, indent=2)
        os.rename(tmp, output)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError('cannot write {}: {}.'.format(output, reason(e)))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(output)
               for n in names)
    log('exported {} ({} recipe, {}) to {}: SavedModel and {}, {:.1f} MB'.format(
        model_dir, recipe, os.path.basename(path), output, TFLITE_FILE, size / 1e6))
    return output
