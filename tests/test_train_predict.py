"""The post's training loop: it learns, saves exactly when validation improves,
stops exactly when patience runs out; prediction restores the best checkpoint
and submit.csv follows the lookup table."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import run_train
from conftest import ROOT, float32_close, shared_path, tiny_config
from facial_keypoints.runs import checkpoints, cli, config
from facial_keypoints import constants, data, model, units
from facial_keypoints.improved.settings import COMPACT
from facial_keypoints.predict import write_submission
from facial_keypoints.serving.predictor import Predictor
from facial_keypoints.submission import submission_text
from facial_keypoints.train import train

tf1 = tf.compat.v1


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
    assert checkpoints.best_checkpoint(model_dir).endswith('model-{}'.format(result['best_epoch']))
    hp = json.load(open(os.path.join(model_dir, 'hparams.json')))
    assert hp['recipe'] == 'blog' and hp['batch_size'] == 16 and hp['seed'] == 3
    assert hp['validation_size'] == 8 and hp['epochs'] == 2 and hp['bf16'] is False
    assert np.isclose(hp['best']['validation_rmse_px'], result['best_validation_rmse_px'])
    assert [h['epoch'] for h in result['history']] == [0, 1]
    assert all(np.isfinite(h['validation_rmse_px']) for h in result['history'])


def test_restored_checkpoint_predicts_exactly_what_training_saw(trained):
    data_dir, model_dir, result = trained
    X, y = data.input_data(data_dir=data_dir)
    X_valid, y_valid = X[:8], y[:8]
    with Predictor(model_dir) as p:
        pred = p.predict(X_valid, clip=False)
        assert p.recipe == 'blog'
    # The saved model's validation RMSE, recomputed from a fresh graph:
    err = np.sqrt(np.mean((pred - units.unscale_keypoints(y_valid)) ** 2))
    assert np.isclose(err, result['best_validation_rmse_px'], rtol=1e-5)
    with Predictor(model_dir) as p:   # and again, in other batches, the same numbers
        assert float32_close(p.predict(X_valid, batch_size=3, clip=False), pred)


def scripted(values_px):
    """A validation RMSE for train(validation_rmse=...): each epoch's from values_px (pixels)."""
    values = iter(np.array(values_px) / 96.0)
    return lambda *a, **k: next(values)


@pytest.mark.usefixtures('small_post_network')
def test_saves_exactly_when_validation_improves_and_stops_after_patience(tiny_data, tmp_path):
    lines = []
    result = train(tiny_config(tiny_data, tmp_path / 'm', epochs=9, patience=3, quiet=False),
                   log=lines.append,
                   validation_rmse=scripted([5.0, 4.0, 4.5, 3.0, 3.5, 3.0, 3.2, 1.0, 0.5]))
    saved = [int(line.rsplit('-', 1)[1]) for line in lines if line.startswith('model save in')]
    assert saved == [0, 1, 3]                   # 3.0 again at epoch 5 is no improvement
    # epochs 4, 5 and 6 bring nothing: 6 - 3 >= 3 stops after epoch 6
    assert [h['epoch'] for h in result['history']] == [0, 1, 2, 3, 4, 5, 6]
    assert lines[-1] == 'early stopping'
    assert result['best_epoch'] == 3 and result['best_validation_rmse_px'] == pytest.approx(3.0)


@pytest.mark.usefixtures('small_post_network')
def test_patience_counts_from_the_last_improvement(tiny_data, tmp_path):
    result = train(tiny_config(tiny_data, tmp_path / 'm', epochs=5, patience=2),
                   validation_rmse=scripted([5.0, 6.0, 4.0, 6.0, 6.0]))
    assert len(result['history']) == 5 and result['best_epoch'] == 2


@pytest.mark.usefixtures('small_post_network')
def test_prediction_uses_the_best_checkpoint_not_the_last(tiny_data, tmp_path):
    model_dir = str(tmp_path / 'm')
    train(tiny_config(tiny_data, model_dir, epochs=4, patience=10),
          validation_rmse=scripted([5.0, 4.0, 6.0, 6.0]))
    X, _ = data.input_data(data_dir=tiny_data)
    with Predictor(model_dir) as p:
        assert p.checkpoint.endswith('model-1')
        best = p.predict(X[:8], clip=False)
    with tf.Graph().as_default():                   # the weights after the last epoch
        x, y_, keep_prob = model.placeholders()
        y_conv, _ = model.model(x, y_, keep_prob)
        with tf1.Session() as sess:
            tf1.train.Saver(tf1.trainable_variables()).restore(
                sess, checkpoints.last_checkpoint(model_dir))
            last = sess.run(y_conv, {x: X[:8]}) * 96
    assert not np.allclose(best, last, atol=1e-3)


def test_submit_csv_follows_lookup_rows_ids_order_and_pixels(trained, tmp_path):
    data_dir, model_dir, _ = trained
    out = tmp_path / 'submit.csv'
    write_submission(data_dir=data_dir, model_dir=model_dir, output=str(out), log=lambda *a: None)
    sub = pd.read_csv(out)
    lookup = pd.read_csv(os.path.join(data_dir, 'IdLookupTable.csv'))
    assert list(sub.columns) == ['RowId', 'Location']
    assert list(sub.RowId) == list(lookup.RowId)
    X, ids = data.test_data(data_dir)
    with Predictor(model_dir) as p:
        pred = p.predict(X)
    for row, (image_id, feature) in enumerate(zip(lookup.ImageId, lookup.FeatureName)):
        i = list(ids).index(image_id)
        assert np.isclose(sub.Location[row], pred[i, constants.keypoint_index[feature]])
    assert 0 <= sub.Location.min() and sub.Location.max() <= 96 and sub.Location.mean() > 10


def test_the_posts_prediction_runs_nothing_of_the_improved_recipe(trained, tmp_path):
    data_dir, model_dir, _ = trained
    out = tmp_path / 'submit.csv'
    code = ('import sys\n'
            'from facial_keypoints.predict import write_submission\n'
            'write_submission({!r}, {!r}, {!r}, log=lambda *a: None)\n'
            'print(" ".join(m for m in sys.modules if m.startswith("facial_keypoints")))\n'
            ).format(data_dir, model_dir, str(out))
    p = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    modules = p.stdout.split()
    assert 'facial_keypoints.model' in modules
    for other in ('improved.model', 'improved.train', 'improved.augment', 'serving.predictor',
                  'serving.export', 'train', 'runs.loop', 'runs.state'):
        assert 'facial_keypoints.' + other not in modules
    assert len(pd.read_csv(out)) == len(pd.read_csv(os.path.join(data_dir, 'IdLookupTable.csv')))


def test_importing_the_package_leaves_tensorflow_until_predictor_is_named():
    code = ('import sys, facial_keypoints\n'
            'print("tensorflow" in sys.modules)\n'
            'from facial_keypoints import Predictor\n'
            'print("tensorflow" in sys.modules, Predictor.__module__)\n')
    p = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split() == ['False', 'True', 'facial_keypoints.serving.predictor']


def test_submission_for_kaggles_real_lookup_table():
    lookup = shared_path('kaggle', 'IdLookupTable.csv')
    sample = pd.read_csv(shared_path('kaggle', 'SampleSubmission.csv'))
    ids = np.arange(1, 1784)
    y = np.tile(np.arange(30, dtype=np.float32), (1783, 1))
    sub = pd.read_csv(pd.io.common.StringIO(submission_text(y, ids, lookup)))
    assert len(sub) == 27124 and list(sub.RowId) == list(sample.RowId)
    feats = pd.read_csv(lookup).FeatureName.map(constants.keypoint_index)
    assert np.array_equal(sub.Location.to_numpy(), feats.to_numpy(np.float64))


def test_predictor_leaves_eager_mode_alone(trained):
    _, model_dir, _ = trained
    with Predictor(model_dir) as p:
        p.predict(np.zeros((2, 96, 96, 1), np.float32))
    assert tf.executing_eagerly() and tf.constant(2).numpy() == 2


@pytest.mark.parametrize('recipe', config.RECIPES)
def test_the_command_line_and_python_get_the_same_settings(recipe):
    from_cli = cli.train_config(run_train.parse_args(['--recipe', recipe, '--seed', '5']))
    from_python = config.TrainConfig(recipe=recipe, seed=5)
    assert from_cli.hparams() == from_python.hparams()
    assert from_cli.model_dir == from_python.model_dir
    assert from_cli.epochs == config.DEFAULTS[from_cli.recipe]['epochs']
    assert from_cli.patience == (10 if recipe == 'blog' else 40)
    if recipe == 'compact':     # the improved recipe with the compact network, saved as such
        assert from_cli.recipe == 'improved' and from_cli.options == COMPACT
