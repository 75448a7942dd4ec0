"""The post's prediction (在测试集上预测), as one function to read beside it.

    python run_predict.py        # is write_submission(), for the post's network

write_submission() follows the post in its order: the test set (the post's
input_data(test=True)), model(), the best checkpoint restored with a
tf.train.Saver (the post predicted in the session it had trained), y_conv
in batches of BATCH_SIZE fed with keep_prob 1.0, then IdLookupTable.csv and
submit.csv (submission.py). A model of the improved recipe, or an export,
predicts through Predictor (serving/predictor.py) instead: what the folder says it
holds (which_model.recipe_of_folder) chooses, at the top of write_submission().
"""

import numpy as np
import tensorflow as tf

from .constants import BATCH_SIZE, DATA_DIR, IMAGE_SIZE, SAVE_PATH, SUBMIT_FILE
from .data import reading, test_data
from .model import model, placeholders
from .runs import bf16, checkpoints, modeldir, which_model
from .runs.errors import UserError
from .submission import input_files, read_lookup_table, save_submission
from .units import unscale_keypoints

tf1 = tf.compat.v1


def write_submission(data_dir=DATA_DIR, model_dir=SAVE_PATH, output=SUBMIT_FILE,
                     lookup_file=None, batch_size=BATCH_SIZE, use_bf16=False, log=print):
    """Predict test.csv with the model in model_dir and write output
    (submit.csv): the post's network as the post did, any other model (the
    improved recipe's, an export) through Predictor. Every input is checked
    before output is touched. Returns output."""
    recipe = which_model.recipe_of_folder(model_dir)
    test_file, lookup_file = input_files(data_dir, lookup_file, output, model_dir)
    log(reading(test_file))
    X, image_ids = test_data(path=test_file)    # the post's input_data(test=True), with ImageIds
    read_lookup_table(lookup_file, image_ids)   # checked before the slower model work
    if recipe != 'blog':
        from .serving.predictor import Predictor
        with Predictor(model_dir, use_bf16) as predictor:
            y_pred = predictor.predict(X, batch_size)
        log('predict test image done! {} images, {}'.format(len(y_pred), predictor.checkpoint))
        save_submission(output, y_pred, image_ids, lookup_file, log)
        return output
    path = trained_checkpoint(model_dir)

    with tf.Graph().as_default():
        x, y_, keep_prob = placeholders()
        y_conv, rmse = model(x, y_, keep_prob)
        saver = tf1.train.Saver()
        with tf1.Session(config=bf16.session_config(use_bf16)) as sess:
            path = restore_newest(saver, sess, model_dir, path, 'blog')
            y_pred = []
            TEST_SIZE = X.shape[0]
            for j in range(0, TEST_SIZE, batch_size):
                y_batch = y_conv.eval(feed_dict={x: X[j:j + batch_size], keep_prob: 1.0})
                y_pred.extend(y_batch)
    log('predict test image done! {} images, {}'.format(TEST_SIZE, path))
    # 最后的y值要乘以96,因为之前缩放到[0,1]区间了; and every true keypoint lies
    # inside the image, so a prediction must too.
    y_pred = np.clip(unscale_keypoints(np.array(y_pred)), 0.0, float(IMAGE_SIZE))
    save_submission(output, y_pred, image_ids, lookup_file, log)
    return output


def trained_checkpoint(model_dir):
    """Path prefix of the best checkpoint in model_dir; a UserError that says
    to train first when there is none."""
    path = checkpoints.best_checkpoint(model_dir)
    if path is None:
        modeldir.refuse_missing(model_dir)
        raise UserError('no checkpoint in {}: train first (python run_train.py '
                        '--model-dir {}).'.format(model_dir, model_dir))
    return path


def restore_newest(saver, sess, model_dir, path, network):
    """restore(saver, sess, path, network), and the path restored: where a run
    saving into model_dir removed path while it was read (the one before goes
    once the next is complete), the newest complete one is read instead,
    once, as Predictor does."""
    try:
        restore(saver, sess, path, network)
        return path
    except UserError:
        newer = checkpoints.best_checkpoint(model_dir)
        if newer in (None, path):
            raise
        restore(saver, sess, newer, network)
        return newer


def restore(saver, sess, path, network, saved=None):
    """saver.restore(sess, path), once the checkpoint is known to hold every
    variable of sess's graph with its shape; a checkpoint of another network
    is a UserError that names them. saved: the checkpoint's {name: shape},
    when already read (checkpoints.variables)."""
    saved = saved or checkpoints.variables(path)
    with sess.graph.as_default():
        wanted = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
    wrong = sorted(k for k, shape in wanted.items() if saved.get(k) != shape)
    if wrong:
        raise UserError('checkpoint {} does not fit the {} network: {} {}.'.format(
            path, network, ', '.join(wrong[:3]) + (' ...' if len(wrong) > 3 else ''),
            'is missing or has another shape' if len(wrong) == 1 else
            'are missing or have other shapes'))
    checkpoints.restore(saver, sess, path)
