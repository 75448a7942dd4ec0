"""Training lowers the loss, checkpoints restore exactly, submit.csv follows the lookup."""

import json
import os

import numpy as np
import pandas as pd
import tensorflow as tf

from conftest import shared_path
from facial_keypoints import checkpoints, data, model
from facial_keypoints.predict import Predictor, predict_test_set, submission_text
from facial_keypoints.train import TrainingGraph
from facial_keypoints.recipes import get_recipe

tf1 = tf.compat.v1
tf1.disable_eager_execution()


def test_a_few_adam_steps_lower_the_loss_on_a_fixed_batch(tiny_data):
    X, y = data.input_data(data_dir=tiny_data)
    X, y = X[:16], y[:16]
    with tf.Graph().as_default():
        tf1.set_random_seed(0)
        x, y_, keep_prob = model.placeholders()
        y_conv, rmse = model.model(x, y_, keep_prob)
        train_step = tf1.train.AdamOptimizer(1e-3).minimize(rmse)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            before = sess.run(rmse, {x: X, y_: y})
            for _ in range(10):
                sess.run(train_step, {x: X, y_: y, keep_prob: 0.5})
            after = sess.run(rmse, {x: X, y_: y})
    assert after < 0.5 * before


def test_training_saves_best_checkpoint_and_hparams(trained):
    data_dir, model_dir, result = trained
    assert checkpoints.best_checkpoint(model_dir).endswith(
        'model-{}'.format(result['best_epoch']))
    hp = json.load(open(os.path.join(model_dir, 'hparams.json')))
    assert hp['recipe'] == 'blog' and hp['batch_size'] == 16 and hp['seed'] == 3
    assert hp['validation_rows'] == 8
    assert np.isclose(hp['best']['validation_rmse_px'], result['best_validation_rmse_px'])
    assert len(result['history']) == 2
    assert all(np.isfinite(h['validation_rmse_px']) for h in result['history'])


def test_restored_checkpoint_predicts_exactly_what_training_saw(trained):
    data_dir, model_dir, result = trained
    X, y = data.input_data(data_dir=data_dir)
    X_valid, y_valid = X[:8], y[:8]
    with Predictor(model_dir) as p:
        pred = p.predict(X_valid, clip=False)
    # The saved model's validation RMSE, recomputed from a fresh graph:
    err = np.sqrt(np.mean((pred - data.unscale_keypoints(y_valid)) ** 2))
    assert np.isclose(err, result['best_validation_rmse_px'], rtol=1e-5)
    with Predictor(model_dir) as p:   # and twice gives the same numbers
        assert np.array_equal(p.predict(X_valid, batch_size=3, clip=False), pred)


def test_training_graph_uses_adam_on_the_posts_rmse():
    with tf.Graph().as_default():
        g = TrainingGraph(get_recipe('blog'))
        assert g.rmse.name == 'rmse:0'
        adam = [op for op in tf1.get_default_graph().get_operations() if 'ApplyAdam' in op.type]
        assert len(adam) == 12           # one Adam update per trainable variable
        assert sum(int(np.prod(v.shape)) for v in tf1.trainable_variables()) == 8051502


def test_submit_csv_follows_lookup_rows_ids_order_and_pixels(trained, tmp_path):
    data_dir, model_dir, _ = trained
    out = tmp_path / 'submit.csv'
    predict_test_set(data_dir=data_dir, model_dir=model_dir, output=str(out), log=lambda *a: None)
    sub = pd.read_csv(out)
    lookup = pd.read_csv(os.path.join(data_dir, 'IdLookupTable.csv'))
    assert list(sub.columns) == ['RowId', 'Location']
    assert list(sub.RowId) == list(lookup.RowId)
    pixels, ids = data.load_test(data_dir)
    with Predictor(model_dir) as p:
        pred = p.predict(data.scale_images(pixels))
    for row, (image_id, feature) in enumerate(zip(lookup.ImageId, lookup.FeatureName)):
        i = list(ids).index(image_id)
        assert np.isclose(sub.Location[row], pred[i, data.keypoint_index[feature]])
    assert 0 <= sub.Location.min() and sub.Location.max() <= 96 and sub.Location.mean() > 10


def test_submission_for_kaggles_real_lookup_table():
    lookup = shared_path('kaggle', 'IdLookupTable.csv')
    sample = pd.read_csv(shared_path('kaggle', 'SampleSubmission.csv'))
    ids = np.arange(1, 1784)
    y = np.tile(np.arange(30, dtype=np.float32), (1783, 1))
    sub = pd.read_csv(pd.io.common.StringIO(submission_text(y, ids, lookup)))
    assert len(sub) == 27124 and list(sub.RowId) == list(sample.RowId)
    feats = pd.read_csv(lookup).FeatureName.map(data.keypoint_index)
    assert np.array_equal(sub.Location.to_numpy(), feats.to_numpy(np.float64))
