"""A trained model's serving graph, and its export for use without this
repository (run_export.py).

keypoints_graph() is what predicts: Predictor (serving/predictor.py) runs it, and
export() saves it as a TensorFlow SavedModel whose `serving_default`
signature takes `images` (uint8 [N, 96, 96, 1], Kaggle's gray pixels) and
returns `keypoints` (float32 [N, 30], pixels, in Kaggle's column order).
Everything prediction does is inside that graph: the scaling, the improved
recipe's mirror averaging with its learned offset, and the clipping to the
image. A second signature, `keypoint_columns`, returns the 30 column names.
Beside it: keypoints.tflite, converted from the SavedModel, and export.json,
which says the same in words.

An export gives the same numbers as the model folder it came from to about
0.0001 px: Predictor holds an improved model's weights as constants
(constant_weights()), which lets TensorFlow fold each batch norm into its
convolution.
"""

import json
import os
import secrets
import shutil

import tensorflow as tf

from ..constants import IMAGE_SIZE, KEYPOINT_COLUMNS, NUM_OUTPUTS, PIXEL_MAX
from ..files.fileio import refuse_pretrained
from ..improved import model as improved_model
from ..model import model
from ..predict import restore, trained_checkpoint
from ..runs import checkpoints, modeldir, which_model
from ..runs.errors import UserError, reason
from ..units import unscale_keypoints

tf1 = tf.compat.v1

TFLITE_FILE = 'keypoints.tflite'
INFO_FILE = 'export.json'
SIGNATURE = 'serving_default'


def architecture_of(path, recipe, saved):
    """The improved network's architecture (improved_model.architecture()) from
    its checkpoint at path, whose {name: shape} are saved; None for the other
    recipes. A checkpoint of another network is a UserError."""
    if recipe != 'improved':
        return None
    if 'mean_face' not in saved:
        raise UserError('checkpoint {} does not fit the improved network: mean_face is '
                        'missing, though {} names that recipe; was it edited?'.format(
                            path, os.path.join(os.path.dirname(path), 'hparams.json')))
    return improved_model.architecture(saved)


def keypoints_graph(x, recipe, architecture=None):
    """The prediction graph: x float32 [N, 96, 96, 1] in [0, 1] -> keypoints in
    pixels [N, 30], unclipped. Dropout is off (keep_prob 1.0).

    architecture: the improved network's, see improved_model.keypoints().
    """
    if recipe == 'blog':
        y_conv, _ = model(x, tf.zeros([1, NUM_OUTPUTS]), 1.0)
        return unscale_keypoints(y_conv)
    return improved_model.keypoints(x, architecture)


def clip_to_image(keypoints):
    """Every true keypoint lies inside the 96x96 image; so must a prediction."""
    return tf.clip_by_value(keypoints, 0.0, float(IMAGE_SIZE))


def constant_weights(sess):
    """A custom_getter for tf1.variable_scope that gives each variable, by name,
    its value in sess as a constant. A graph built under it has no variables
    left, so TensorFlow can fold each batch norm into its convolution: one
    face at a time is then about a quarter faster (nearly half with --bf16)."""
    with sess.graph.as_default():
        weights = sess.run({v.op.name: v for v in tf1.global_variables()})
    return lambda getter, name, *args, **kwargs: tf.constant(weights[name])


def signatures(images, keypoints, columns):
    """The SavedModel's signature_def_map: serving_default (images ->
    keypoints) and keypoint_columns (-> the 30 names)."""
    def info(t):
        return tf1.TensorInfo(name=t.name, dtype=t.dtype.as_datatype_enum,
                              tensor_shape=t.shape.as_proto())
    predict = tf1.saved_model.signature_constants.PREDICT_METHOD_NAME
    return {
        SIGNATURE: tf1.saved_model.build_signature_def(
            {'images': info(images)}, {'keypoints': info(keypoints)}, predict),
        'keypoint_columns': tf1.saved_model.build_signature_def(
            {}, {'keypoint_columns': info(columns)}, predict)}


def load_export(model_dir):
    """The export in model_dir, loaded. Its .signatures[SIGNATURE] maps
    images=uint8 tensor [N, 96, 96, 1] -> {'keypoints': float32 [N, 30],
    pixels}; keep the object while calling it, it holds the weights."""
    try:
        loaded = tf.saved_model.load(model_dir)
        serving = loaded.signatures.get(SIGNATURE)
    except (OSError, ValueError, KeyError, tf.errors.OpError) as e:
        raise UserError('cannot load the exported model in {}: {}.'.format(
            model_dir, reason(e)))
    mine = 'not images uint8 [N, 96, 96, 1] -> keypoints [N, 30]; export a model folder with ' \
        'run_export.py'
    if serving is None:
        raise UserError('{} is not an export of this project: it has no {} signature, {}.'
                        .format(model_dir, SIGNATURE, mine))
    takes, gives = serving.structured_input_signature[1], serving.structured_outputs
    images, keypoints = takes.get('images'), gives.get('keypoints')
    if not (len(takes) == 1 and images is not None and images.dtype == tf.uint8
            and dims(images)[1:] == [IMAGE_SIZE, IMAGE_SIZE, 1]
            and keypoints is not None and dims(keypoints)[1:] == [NUM_OUTPUTS]):
        raise UserError('{} is not an export of this project: its {} signature takes {} and '
                        'gives {}, {}.'.format(model_dir, SIGNATURE, described(takes),
                                               described(gives), mine))
    return loaded


def dims(spec):
    """A tensor's shape as a list, 'N' for each unknown size, ['?'] for an
    unknown rank."""
    if spec.shape.rank is None:
        return ['?']
    return ['N' if d is None else d for d in spec.shape.as_list()]


def described(specs):
    """'name dtype [N, ...]' for each tensor of a signature's {name: spec}."""
    return ', '.join('{} {} [{}]'.format(name, spec.dtype.name, ', '.join(map(str, dims(spec))))
                     for name, spec in sorted(specs.items())) or 'nothing'


def export(model_dir, output, log=print):
    """Export the best checkpoint of model_dir as a SavedModel (and .tflite) in
    the new folder output, which is filled under a temporary name and renamed
    into place when complete. Returns output."""
    if not output:
        raise UserError('the export\'s name is empty; give --output a new folder.')
    refuse_pretrained(output)
    if os.path.exists(output):
        raise UserError('{} already exists; give a new folder for the export.'.format(output))
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise UserError('cannot write {}: folder {} does not exist.'.format(output, parent))
    if modeldir.is_export(model_dir):
        raise UserError('{} is an exported model already; export from the model folder it '
                        'came from.'.format(model_dir))
    path = trained_checkpoint(model_dir)
    saved = checkpoints.variables(path)
    recipe = which_model.recipe_of_folder(model_dir)
    architecture = architecture_of(path, recipe, saved)
    tmp = os.path.join(parent, '.{}.{}.tmp'.format(os.path.basename(output), secrets.token_hex(4)))
    try:
        os.mkdir(tmp)           # a folder it cannot write in is found here, before the work
        with tf.Graph().as_default(), tf1.Session() as sess:
            images = tf1.placeholder(tf.uint8, [None, IMAGE_SIZE, IMAGE_SIZE, 1], name='images')
            x = tf.cast(images, tf.float32) / PIXEL_MAX
            keypoints = tf.identity(clip_to_image(keypoints_graph(x, recipe, architecture)),
                                    name='keypoints')
            columns = tf.constant(KEYPOINT_COLUMNS, name='keypoint_columns')
            restore(checkpoints.saver(), sess, path, recipe, saved)
            builder = tf1.saved_model.Builder(tmp)
            builder.add_meta_graph_and_variables(
                sess, [tf1.saved_model.tag_constants.SERVING],
                signature_def_map=signatures(images, keypoints, columns))
            builder.save()
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, [SIGNATURE])
        with open(os.path.join(tmp, TFLITE_FILE), 'wb') as f:
            f.write(converter.convert())
        with open(os.path.join(tmp, INFO_FILE), 'w') as f:
            json.dump({'recipe': recipe, 'checkpoint': os.path.basename(path),
                       'input': 'images: uint8 [N, 96, 96, 1], gray pixels 0..255',
                       'output': 'keypoints: float32 [N, 30], pixels, clipped to 0..96',
                       'keypoint_columns': KEYPOINT_COLUMNS, 'tensorflow': tf.__version__},
                      f, indent=2)
        os.rename(tmp, output)
    except (OSError, tf.errors.OpError) as e:
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
