"""The improved recipe: masked loss, flips that move keypoints with pixels,
group validation, and prediction that finds the recipe by itself."""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import SMALL_IMPROVED, fit, float32_close, make_tiny_data, tiny_config
from facial_keypoints.improved import augment, train as improved, model as improved_model, splits
from facial_keypoints import constants, data, units
from facial_keypoints.files import demo
from facial_keypoints.runs import checkpoints, jsonfiles
from facial_keypoints.runs.errors import UserError
from facial_keypoints.improved.model import masked_rmse
from facial_keypoints.improved.settings import MAP_PRIOR_WEIGHT, MAX_TURN, Options
from facial_keypoints.serving.predictor import Predictor

tf1 = tf.compat.v1
NAMES = constants.KEYPOINT_NAMES


def loss_and_grad(pred, target):
    with tf.Graph().as_default():
        y_conv = tf.constant(pred)
        y_ = tf1.placeholder(tf.float32, [None, 30])
        loss = masked_rmse(y_conv, y_)
        grad = tf.gradients(loss, y_conv)[0]
        with tf1.Session() as sess:
            return sess.run([loss, grad], {y_: target})


def test_masked_rmse_averages_only_present_values():
    rng = np.random.default_rng(0)
    pred = rng.random((4, 30), dtype=np.float32)
    target = rng.random((4, 30), dtype=np.float32)
    target[1, 4:] = np.nan
    target[3, 7] = np.nan
    loss, grad = loss_and_grad(pred, target)
    have = ~np.isnan(target)
    assert np.isclose(loss, np.sqrt(np.mean((pred - target)[have] ** 2)), rtol=1e-5)
    assert np.all(grad[~have] == 0) and np.all(np.isfinite(grad))


def test_a_missing_value_changes_nothing_in_the_others_gradient():
    rng = np.random.default_rng(1)
    pred = rng.random((3, 30), dtype=np.float32)
    target = rng.random((3, 30), dtype=np.float32)
    target[0, 10] = np.nan
    _, g1 = loss_and_grad(pred, target)
    wild = pred.copy()
    wild[0, 10] = 1e6              # whatever the net says where there is no label
    _, g2 = loss_and_grad(wild, target)
    assert np.array_equal(g1, g2)


def test_flip_twice_is_identity_and_keeps_nan():
    rng = np.random.default_rng(2)
    X = rng.random((3, 96, 96, 1), dtype=np.float32)
    y = rng.random((3, 30), dtype=np.float32)
    y[1, 6:] = np.nan
    X2, y2 = augment.flip_horizontal(*augment.flip_horizontal(X, y))
    assert np.array_equal(X2, X)
    assert np.allclose(y2, y, equal_nan=True, atol=1e-7)
    assert np.isnan(augment.flip_horizontal(X, y)[1][1]).sum() == 24


def test_flip_pairs_cover_every_left_right_point():
    paired = {n for pair in improved_model.FLIP_PAIRS for n in pair}
    assert paired == {n for n in NAMES if 'left' in n or 'right' in n}
    assert sorted(improved_model.FLIP_PERMUTATION) == list(range(30))


def sample(img, points, name):
    i = NAMES.index(name)
    return img[int(round(points[2 * i + 1])), int(round(points[2 * i]))]


def test_flipped_keypoints_land_on_the_flipped_features():
    rng = np.random.default_rng(3)
    for _ in range(10):
        pixels, points = demo.draw_face(rng)
        X = units.scale_images(pixels[None].reshape(1, -1))
        y = units.scale_keypoints(points[None])
        Xf, yf = augment.flip_horizontal(X, y)
        pf = units.unscale_keypoints(yf)[0]
        img, imgf = X[0, :, :, 0], Xf[0, :, :, 0]
        # Pixel column i went to 95 - i, and so did every keypoint's x.
        assert np.array_equal(imgf, img[:, ::-1])
        assert np.allclose(pf[0::2], 95 - points[improved_model.FLIP_PERMUTATION][0::2], atol=1e-4)
        # After the flip, the subject's left eye is again on the image's right,
        # and it lands on the (dark) iris of the mirrored right eye.
        assert pf[0] > pf[2]
        for name in NAMES:
            partner = dict(improved_model.FLIP_PAIRS + [(b, a) for a, b in improved_model.FLIP_PAIRS]).get(name, name)
            i, j = NAMES.index(name), NAMES.index(partner)
            assert abs(pf[2 * i] - (95 - points[2 * j])) < 1e-3
        assert sample(imgf, pf, 'left_eye_center') == sample(img, points, 'right_eye_center')


def test_shift_moves_keypoints_with_the_pixels():
    rng = np.random.default_rng(4)
    pixels, points = demo.draw_face(rng)
    X = units.scale_images(pixels[None].reshape(1, -1))
    y = units.scale_keypoints(points[None])
    Xs, ys = augment.shift(X, y, np.array([2]), np.array([-3]))
    ps = units.unscale_keypoints(ys)[0]
    assert np.allclose(ps[0::2], points[0::2] + 2, atol=1e-4)
    assert np.allclose(ps[1::2], points[1::2] - 3, atol=1e-4)
    for name in NAMES:
        assert sample(Xs[0, :, :, 0], ps, name) == sample(X[0, :, :, 0], points, name)


def test_learned_label_offset_is_lowest_loss_at_the_datas_offset():
    """Labels 1 px right of the pixels: with flips mirrored at 95 - x, only
    d = 1 px makes a net that is right on real faces right on flipped ones."""
    rng = np.random.default_rng(3)
    content = rng.uniform(20, 76, (16, 30)).astype(np.float32)   # pixel indices
    labels = content.copy()
    labels[:, 0::2] += 1.0
    flipped = np.arange(16) % 2 == 1
    _, y = augment.flip_horizontal(np.zeros((8, 96, 96, 1), np.float32), labels[flipped] / 96)
    targets = labels / 96
    targets[flipped] = y
    # What the flipped images show: their features at 95 - x, left and right swapped.
    seen = content.copy()
    seen[flipped] = content[flipped][:, improved_model.FLIP_PERMUTATION]
    seen[flipped, 0::2] = 95 - seen[flipped, 0::2]
    net = seen.copy()
    net[:, 0::2] += 1.0            # a net that learned the real faces' labels
    with tf.Graph().as_default():
        y_ = tf1.placeholder(tf.float32, [None, 30])
        fed = tf1.placeholder_with_default(np.zeros(16, bool), [None])
        loss = improved_model.loss(tf.constant(net / 96), y_, fed)
        d = improved_model.label_x_offset()
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            losses = []
            for offset in (0.0, 0.5, 1.0, 1.5):
                sess.run(d.assign(offset / 96))
                losses.append(sess.run(loss, {y_: targets, fed: flipped}) * 96)
            unfed = sess.run(loss, {y_: targets}) * 96      # default: no row flipped
    assert np.isclose(unfed, losses[0], atol=1e-4)
    assert np.argmin(losses) == 2 and losses[2] < 1e-3
    assert np.isclose(losses[0], np.sqrt(0.25 * 2 ** 2), atol=1e-3)   # half of x off by 2


def improved_prediction(X, offset_px, seed=0):
    """What an improved model with random weights and the learned offset predicts."""
    with tf.Graph().as_default():
        tf1.set_random_seed(seed)
        x = tf1.placeholder(tf.float32, [None, 96, 96, 1])
        keypoints = improved_model.keypoints(x)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            sess.run(improved_model.label_x_offset().assign(offset_px / 96))
            return sess.run(keypoints, {x: X})


def test_mirror_averaging_is_exactly_mirror_symmetric_at_the_learned_offset():
    """The prediction for a mirror image is the prediction mirrored at 95 + 2d,
    whatever the weights; and the offset moves every x by d, nothing else."""
    rng = np.random.default_rng(4)
    X = rng.random((3, 96, 96, 1), dtype=np.float32)
    d = 1.3
    p = improved_prediction(X, d)
    p_mirror = improved_prediction(X[:, :, ::-1, :], d)
    mirrored = improved_model.flip_keypoints(p / 96, (95 + 2 * d) / 96) * 96
    assert np.allclose(p_mirror, mirrored, atol=1e-3)
    p0 = improved_prediction(X, 0.0)
    assert np.allclose(p[:, 0::2] - p0[:, 0::2], d, atol=1e-3)
    assert np.allclose(p[:, 1::2], p0[:, 1::2], atol=1e-4)


def test_flip_keypoints_mirrors_arrays_and_tensors_alike():
    y = np.random.default_rng(5).random((4, 30)).astype(np.float32)
    y[1, 4:] = np.nan
    with tf.Graph().as_default(), tf1.Session() as sess:
        graph = sess.run(improved_model.flip_keypoints(tf.constant(y), 97.6 / 96))
    array = improved_model.flip_keypoints(y, 97.6 / 96)
    assert np.allclose(graph, array, atol=1e-6, equal_nan=True)
    swapped = y[:, improved_model.FLIP_PERMUTATION]
    assert np.allclose(array[:, 0::2] * 96, 97.6 - swapped[:, 0::2] * 96, atol=1e-4,
                       equal_nan=True)
    assert np.array_equal(array[:, 1::2], swapped[:, 1::2], equal_nan=True)


def test_augment_batch_leaves_inputs_alone_and_stays_in_range():
    rng = np.random.default_rng(5)
    X = rng.random((8, 96, 96, 1), dtype=np.float32)
    y = rng.random((8, 30), dtype=np.float32) * 0.5 + 0.25
    X0, y0 = X.copy(), y.copy()
    Xa, ya, flipped = augment.augment_batch(X, y, rng)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)
    assert Xa.min() >= 0 and Xa.max() <= 1 and Xa.shape == X.shape
    assert not np.array_equal(Xa, X)
    assert flipped.dtype == bool and 0 < flipped.sum() < 8


def test_turns_turn_about_half_the_faces_and_leave_the_other_draws_alone():
    """Options(turns=True): the same flips, shifts and lighting as without;
    about TURN_PROBABILITY of the faces turned, each within MAX_TURN degrees
    (the eye line of the keypoints turns with the face), the rest as they were."""
    rng = np.random.default_rng(11)
    X = rng.random((400, 96, 96, 1), dtype=np.float32)
    y = np.tile(units.scale_keypoints(np.array([30.0, 40.0, 66.0, 40.0] + [48.0] * 26)), (400, 1))
    plain = augment.augment_batch(X, y, np.random.default_rng(2),
                                  Options(flips=False, turns=False))
    turned = augment.augment_batch(X, y, np.random.default_rng(2),
                                   Options(flips=False, turns=True))
    same = np.all(turned[0] == plain[0], axis=(1, 2, 3))
    assert np.array_equal(turned[2], plain[2])
    assert np.array_equal(same, np.isclose(turned[1], plain[1], atol=1e-6).all(axis=1))
    assert 0.4 < 1 - same.mean() < 0.6
    eyes = units.unscale_keypoints(turned[1][:, :4]).reshape(-1, 2, 2)
    tilt = np.degrees(np.arctan2(eyes[:, 1, 1] - eyes[:, 0, 1], eyes[:, 1, 0] - eyes[:, 0, 0]))
    assert np.all(tilt[same] == 0) and np.abs(tilt).max() <= MAX_TURN + 1e-3
    assert np.abs(tilt[~same]).mean() > MAX_TURN / 3


def test_group_split_keeps_near_duplicates_together():
    rng = np.random.default_rng(6)
    faces = np.stack([demo.draw_face(rng)[0] for _ in range(30)]).astype(np.float32)
    # three noisy copies of each face: frames of one "person"
    X = np.concatenate([faces + rng.normal(0, 2, faces.shape) for _ in range(3)])
    X = (X / 255.0).reshape(-1, 96, 96, 1)
    groups = splits.near_duplicate_groups(X)
    assert len(np.unique(groups)) == 30
    assert np.array_equal(groups[:30], groups[30:60])
    train_rows, valid_rows = splits.group_split(X, 0.2, seed=1)
    assert len(valid_rows) >= 18 and len(set(train_rows) | set(valid_rows)) == 90
    assert not set(groups[train_rows]) & set(groups[valid_rows])
    again = splits.group_split(X, 0.2, seed=1)
    assert np.array_equal(again[1], valid_rows)


def test_improved_checkpoint_predicts_without_being_told_the_recipe(tmp_path):
    data_dir = make_tiny_data(tmp_path / 'data', n_train=80)
    model_dir = tmp_path / 'model'
    result = fit(tiny_config(data_dir, model_dir, recipe='improved', epochs=2,
                             options=Options(**SMALL_IMPROVED)))
    os.remove(model_dir / 'hparams.json')         # the checkpoint alone says what it is
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    with Predictor(str(model_dir)) as p:
        assert p.recipe == 'improved'
        pred = p.predict(X, clip=False)
        clipped = p.predict(X)
    assert pred.shape == (80, 30) and np.isfinite(pred).all()
    assert clipped.min() >= 0 and clipped.max() <= 96
    assert all(np.isfinite(h['label_x_offset_px']) for h in result['history'])
    # Its validation figure is what the predictor scores on the validation rows.
    _, valid_rows = improved.validation_split(X, y, 'training.csv')
    err = np.sqrt(np.mean((pred[valid_rows] - units.unscale_keypoints(y[valid_rows])) ** 2))
    assert np.isclose(err, result['best_validation_rmse_px'], rtol=1e-5)


def test_the_recipes_network_has_six_stages_and_reads_heat_maps_drawn_from_four():
    """Six stages of 3x3 convolutions, each halving the 96-pixel face (96 ->
    48 -> ... -> 3); the stages at 24, 12, 6 and 3 pixels feed a feature
    pyramid of 64 channels that draws one heat map a keypoint; no dense
    layer. A network holds 4.17 M values; the checkpoint's names say which
    network it is, and the dense network of before is still built when asked."""
    with tf.Graph().as_default():
        x = tf1.placeholder(tf.float32, [None, 96, 96, 1])
        improved_model.network(x, 1.0, False)
        shapes = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
    assert [shapes['conv{}/W'.format(i)] for i in range(1, 7)] == [
        [3, 3, 1, 32], [3, 3, 32, 64], [3, 3, 64, 128], [3, 3, 128, 256], [3, 3, 256, 512],
        [3, 3, 512, 512]]
    assert [shapes['lateral{}/W'.format(i)][2] for i in (3, 4, 5, 6)] == [128, 256, 512, 512]
    assert 'lateral2/W' not in shapes and 'conv7/W' not in shapes and 'W_fc2' not in shapes
    assert shapes['heat_maps/W'] == [1, 1, 64, 15]
    assert 4.16e6 < sum(np.prod(s) for s in shapes.values()) < 4.18e6
    assert improved_model.architecture(shapes) == ((32, 64, 128, 256, 512, 512), 0, 1, 24, False)
    with tf.Graph().as_default():
        improved_model.network(tf1.placeholder(tf.float32, [None, 96, 96, 1]), 1.0, False,
                               fc_units=512)
        dense = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
    assert dense['fc1/W'] == [2 * 2 * 512, 512] and dense['W_fc2'] == [512, 30]
    assert 4.99e6 < sum(np.prod(s) for s in dense.values()) < 5.01e6
    assert improved_model.architecture(dense) == ((32, 64, 128, 256, 512, 512), 512, 1, 24, False)
    # A first stage of one channel leaves the second's convolution whole: the
    # checkpoint is known as separable by its later depthwise filters.
    with tf.Graph().as_default():
        improved_model.network(tf1.placeholder(tf.float32, [None, 96, 96, 1]), 1.0, False,
                               channels=(1, 8, 8, 8), separable=True)
        thin = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
    assert 'conv2/depthwise/W' not in thin and thin['conv3/depthwise/W'] == [3, 3, 8, 1]
    assert improved_model.architecture(thin) == ((1, 8, 8, 8), 0, 1, 24, True)


def test_an_epochs_batches_cover_every_row_once_and_none_is_tiny():
    """2,497 rows in batches of 64 would leave a last batch of 1 row, which
    would weigh as much as a full one in batch norm's moving averages."""
    batches = improved.epoch_batches(np.arange(2497)[::-1], 64)
    assert [len(b) for b in batches] == [63] * 17 + [62] * 23
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(2497))
    assert [len(b) for b in improved.epoch_batches(np.arange(128), 64)] == [64, 64]


def test_training_updates_batch_norms_moving_averages(tmp_path):
    """Validation and prediction normalise with the moving averages, so they
    must follow training: after two epochs each layer's moving mean and
    variance have left their starting 0 and 1."""
    data_dir = make_tiny_data(tmp_path / 'data', n_train=80)
    options = Options(channels=(4, 8), fc_units=16, members=1)
    result = improved.train_improved(
        tiny_config(data_dir, tmp_path / 'model', recipe='improved', epochs=2, options=options),
        log=lambda *a: None)
    reader = tf.train.load_checkpoint(result['best_checkpoint'])
    names = sorted(k for k in reader.get_variable_to_shape_map() if 'moving_' in k)
    assert len(names) == 2 * 3                   # two convolutions and the dense layer
    for name in names:
        value = reader.get_tensor(name)
        start = 0.0 if 'moving_mean' in name else 1.0
        assert np.abs(value - start).max() > 1e-3, name


def test_an_ensemble_predicts_the_mean_of_its_members(tmp_path):
    """Two networks trained side by side: one checkpoint, which predicts (and
    scores validation with) the mean of what each member alone predicts."""
    data_dir = make_tiny_data(tmp_path / 'data', n_train=80)
    model_dir = tmp_path / 'model'
    options = Options(channels=(4, 8), fc_units=16, members=2)
    result = improved.train_improved(tiny_config(data_dir, model_dir, recipe='improved',
                                                 options=options), log=lambda *a: None)
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    with Predictor(str(model_dir)) as p:
        both = p.predict(X, clip=False)
    checkpoint = tf.train.load_checkpoint(checkpoints.best_checkpoint(str(model_dir)))
    restored = {k: checkpoint.get_tensor(k) for k in checkpoint.get_variable_to_shape_map()}
    assert improved_model.architecture({k: v.shape for k, v in restored.items()}) == \
        ((4, 8), 16, 2, 24, False)
    alone = []
    for member in (0, 1):
        with tf.Graph().as_default(), tf1.Session() as sess:
            x = tf1.placeholder(tf.float32, [None, 96, 96, 1])
            keypoints = improved_model.keypoints(x, ((4, 8), 16, 1, 24, False))
            prefix = '' if member == 0 else 'member2/'
            for v in tf1.global_variables():
                shared = v.op.name in ('mean_face', 'label_x_offset')
                sess.run(v.assign(restored[v.op.name if shared else prefix + v.op.name]))
            alone.append(sess.run(keypoints, {x: X}))
    assert np.abs(alone[0] - alone[1]).mean() > 0.01        # two different networks
    assert float32_close(both, (alone[0] + alone[1]) / 2)
    _, valid_rows = improved.validation_split(X, y, 'training.csv')
    err = np.sqrt(np.mean((both[valid_rows] - units.unscale_keypoints(y[valid_rows])) ** 2))
    assert np.isclose(err, result['best_validation_rmse_px'], rtol=1e-5)


def test_all_rows_trains_on_the_validation_groups_too_and_keeps_the_last_epoch(tmp_path):
    """--all-rows: every row trains (the mean face it starts from is every
    row's), every epoch's model is kept, so the last one predicts even when
    the held-out groups' score rises; a run keeps its choice on --resume."""
    data_dir = make_tiny_data(tmp_path / 'data', n_train=80)
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    train_rows, _ = improved.validation_split(X, y, 'training.csv')
    scores = iter([0.01, 0.02, 0.03])              # worse every epoch
    lines = []
    options = Options(channels=(4, 8), fc_units=16, members=1)
    result = improved.train_improved(
        tiny_config(data_dir, tmp_path / 'model', recipe='improved', epochs=3, all_rows=True,
                    quiet=False, options=options), log=lines.append,
        score=lambda *a: next(scores))
    assert lines[0] == 'reading {}'.format(os.path.join(data_dir, 'training.csv'))
    assert 'train dataset size:80 (all rows' in lines[1]
    assert result['best_epoch'] == 2 and result['best_checkpoint'].endswith('model-2')
    assert any(s.startswith('epoch 2 done! held-out (trained on) loss:2.8800 px') for s in lines)
    assert jsonfiles.read_hparams(str(tmp_path / 'model'))['all_rows'] is True
    mean_face = tf.train.load_checkpoint(result['best_checkpoint']).get_tensor('mean_face')
    assert np.allclose(mean_face, np.nanmean(y, axis=0), atol=1e-6)
    assert not np.allclose(mean_face, np.nanmean(y[train_rows], axis=0), atol=1e-4)
    with pytest.raises(UserError, match='--all-rows applies to the improved recipe'):
        tiny_config(data_dir, tmp_path / 'blog', all_rows=True)
    with pytest.raises(UserError, match='--patience does nothing with --all-rows'):
        tiny_config(data_dir, tmp_path / 'x', recipe='improved', all_rows=True, patience=5)
    # A run trained without it keeps that.
    plain = tmp_path / 'plain'
    improved.train_improved(tiny_config(data_dir, plain, recipe='improved', epochs=1,
                                        options=options), log=lambda *a: None)
    with pytest.raises(UserError, match='was trained without --all-rows; a resumed run'):
        improved.train_improved(tiny_config(data_dir, plain, recipe='improved', epochs=2,
                                            all_rows=True, resume=True))


def test_weight_averaging_keeps_the_averaged_weights_and_trains_the_others(tmp_path):
    """Options(weight_average=True): validation and the model kept use the
    moving average of the weights; training goes on from its own weights,
    which the training state keeps (with the averages) for --resume; each
    epoch also records the training weights' score."""
    data_dir = make_tiny_data(tmp_path / 'data', n_train=80)
    options = Options(channels=(4, 8), fc_units=16, members=1, weight_average=True)
    scores = iter([0.03, 0.02, 0.01, 0.005, 0.004, 0.003])   # two per epoch, each better
    result = improved.train_improved(
        tiny_config(data_dir, tmp_path / 'model', recipe='improved', epochs=3, options=options),
        log=lambda *a: None, score=lambda *a: next(scores))
    assert result['best_epoch'] == 2
    kept = tf.train.load_checkpoint(result['best_checkpoint'])
    state = tf.train.load_checkpoint(str(tmp_path / 'model' / 'last-3'))
    names = [k for k in kept.get_variable_to_shape_map() if k.endswith('/W')]
    assert len(names) == 3
    for name in names:
        average = state.get_tensor(name + '/ExponentialMovingAverage')
        assert np.array_equal(kept.get_tensor(name), average)
        assert np.abs(state.get_tensor(name) - average).max() > 1e-5
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    batches_per_epoch = -(-len(improved.validation_split(X, y, 'training.csv')[0]) // 16)
    assert state.get_tensor('weight_average_step') == 3 * batches_per_epoch
    history = [e for e in jsonfiles.read_history(str(tmp_path / 'model'))]
    assert [round(e['training_weights_validation_rmse_px'], 3) for e in history] == \
        [2.88, 0.96, 0.384]
    assert [round(e['validation_rmse_px'], 3) for e in history] == [1.92, 0.48, 0.288]


def test_weight_averaging_still_stops_early_with_the_training_weights_kept(tmp_path):
    """Patience counts epochs without a better averaged score; the training
    state saved at the stop holds the training weights, not the averages."""
    data_dir = make_tiny_data(tmp_path / 'data', n_train=80)
    options = Options(channels=(4, 8), fc_units=16, members=1, weight_average=True)
    scores = iter([0.03, 0.02, 0.03, 0.03, 0.03, 0.04] * 2)   # best at epoch 0, then worse
    result = improved.train_improved(
        tiny_config(data_dir, tmp_path / 'model', recipe='improved', epochs=6, patience=2,
                    options=options), log=lambda *a: None, score=lambda *a: next(scores))
    assert result['best_epoch'] == 0 and result['epochs_run'] == 3
    state = tf.train.load_checkpoint(checkpoints.last_checkpoint(str(tmp_path / 'model')))
    kept = tf.train.load_checkpoint(result['best_checkpoint'])
    name = [k for k in kept.get_variable_to_shape_map() if k.endswith('/W')][0]
    assert np.abs(state.get_tensor(name) - state.get_tensor(name + '/ExponentialMovingAverage')
                  ).max() > 1e-5


def soft_argmax_of(logits):
    with tf.Graph().as_default(), tf1.Session() as sess:
        return sess.run(improved_model.soft_argmax(tf.constant(logits, tf.float32)))


def test_soft_argmax_reads_a_peak_at_its_cells_centre_and_two_peaks_between_them():
    """24x24 maps: cell (row 5, column 10) spans pixels 40-43 across and 20-23
    down, so a map peaked there reads x 41.5, y 21.5 px; two equal peaks read
    the point halfway; a flat map reads the image's centre, 47.5 px."""
    logits = np.zeros((2, 24, 24, 15), np.float32)
    logits[0, 5, 10, :] = 50.0
    logits[1, 5, 10, 0] = logits[1, 15, 2, 0] = 50.0
    logits[1, :, :, 1:] = 0.0
    px = units.unscale_keypoints(soft_argmax_of(logits))
    assert np.allclose(px[0, 0::2], 41.5, atol=1e-3) and np.allclose(px[0, 1::2], 21.5, atol=1e-3)
    assert np.allclose(px[1, :2], [(41.5 + 9.5) / 2, (21.5 + 61.5) / 2], atol=1e-3)
    assert np.allclose(px[1, 2:], 47.5, atol=1e-3)


@pytest.mark.parametrize('cells, separable', [(24, False), (48, False), (24, True)])
def test_a_heat_map_model_trains_predicts_and_is_known_by_its_checkpoint(tmp_path, cells,
                                                                         separable):
    """fc_units 0: no dense layer, keypoints read from heat maps drawn from
    the stages at cells x cells pixels and coarser (48: the 48-pixel stage
    too, with half the pyramid's channels there); separable: depthwise 3x3
    convolutions then 1x1 ones, but for the first stage's. Its checkpoint says
    so, and it predicts (each face with its mirror image) what validation
    scored."""
    data_dir = make_tiny_data(tmp_path / 'data', n_train=80)
    model_dir = tmp_path / 'model'
    options = Options(channels=(4, 8, 8, 8), fc_units=0, members=1, heat_map_size=cells,
                      separable=separable)
    result = improved.train_improved(tiny_config(data_dir, model_dir, recipe='improved',
                                                 options=options), log=lambda *a: None)
    checkpoint = tf.train.load_checkpoint(checkpoints.best_checkpoint(str(model_dir)))
    shapes = checkpoint.get_variable_to_shape_map()
    assert improved_model.architecture(shapes) == ((4, 8, 8, 8), 0, 1, cells, separable)
    assert 'W_fc2' not in shapes and shapes['heat_maps/W'] == [1, 1, 64 * 24 // cells, 15]
    assert ('lateral2/W' in shapes) == (cells == 48) and 'lateral1/W' not in shapes
    assert shapes['conv1/W'] == [3, 3, 1, 4] and 'conv1/depthwise/W' not in shapes
    assert shapes['conv2/W'] == ([1, 1, 4, 8] if separable else [3, 3, 4, 8])
    assert shapes.get('mix3/depthwise/W') == ([3, 3, 64, 1] if separable else None)
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    with Predictor(str(model_dir)) as p:
        pred = p.predict(X, clip=False)
    assert pred.shape == (80, 30) and (pred > 0).all() and (pred < 96).all()
    _, valid_rows = improved.validation_split(X, y, 'training.csv')
    err = np.sqrt(np.mean((pred[valid_rows] - units.unscale_keypoints(y[valid_rows])) ** 2))
    assert np.isclose(err, result['best_validation_rmse_px'], rtol=1e-5)


def test_weight_decay_shrinks_weight_matrices_after_the_step_and_nothing_else():
    """With a zero gradient Adam leaves a weight where it is, so one step of
    decayed() shrinks each 2-D or 4-D variable by exactly that fraction and
    leaves the 1-D ones (batch norm's, biases) alone."""
    with tf.Graph().as_default(), tf1.Session() as sess:
        W = tf1.get_variable('W', initializer=tf.fill([3, 3, 1, 2], 2.0))
        b = tf1.get_variable('b', initializer=tf.fill([2], 2.0))
        objective = tf.reduce_sum(0.0 * W) + tf.reduce_sum(0.0 * b)
        step = improved.decayed(tf1.train.AdamOptimizer(1e-3).minimize(objective), 0.25)
        sess.run(tf1.global_variables_initializer())
        sess.run(step)
        assert np.allclose(sess.run(W), 1.5) and np.allclose(sess.run(b), 2.0)


def test_heat_maps_refuse_a_network_too_shallow_to_draw_them():
    """24x24 heat maps need a stage at 24 pixels or fewer: two stages (96, 48) have none."""
    with tf.Graph().as_default():
        x = tf1.placeholder(tf.float32, [None, 96, 96, 1])
        with pytest.raises(ValueError, match='at least 3 stages'):
            improved_model.network(x, 1.0, False, channels=(4, 8), fc_units=0)


def test_the_map_prior_is_zero_on_the_targets_gaussian_and_skips_missing_keypoints():
    """The divergence of a map from a Gaussian of one cell around its keypoint:
    0 when the map is that Gaussian; for a flat map, the Jensen-Shannon
    divergence computed here in numpy; a missing keypoint adds nothing."""
    S, centres = 24, improved_model.cell_centres(24)
    log_density = -((centres[:, None] - 0.6) ** 2 + (centres[None, :] - 0.4) ** 2) / (
        2 * (1 / S) ** 2)                           # rows y = 0.6, columns x = 0.4
    gaussian = np.exp(log_density) / np.exp(log_density).sum()
    flat = np.full(S * S, 1 / S ** 2)
    g = gaussian.ravel()
    m = (flat + g) / 2
    js_flat = (np.sum(flat * np.log(flat / m)) + np.sum(g * np.log(np.where(g > 0, g, 1) / m))) / 2
    logits = np.zeros((2, S, S, 15), np.float32)
    logits[0, :, :, 0] = log_density
    y = np.full((2, 30), np.nan, np.float32)
    y[0, :2] = y[1, :2] = [0.4, 0.6]
    with tf.Graph().as_default(), tf1.Session() as sess:
        def divergence(y):
            return sess.run(improved_model.map_divergence(tf.constant(logits[:len(y)]),
                                                          tf.constant(y)))
        assert divergence(y[:1]) < 1e-6
        assert np.isclose(divergence(y), js_flat / 2, rtol=1e-4) and 0.1 < js_flat < np.log(2)
        y[1, :2] = np.nan
        assert divergence(y) < 1e-6


def test_the_map_prior_adds_each_members_divergence_to_the_objective():
    """objective = the members' losses + MAP_PRIOR_WEIGHT x each member's
    divergence from the (label-offset corrected) targets; the RMSE reported
    is unchanged; a dense layer has no maps to pull."""
    rng = np.random.default_rng(0)
    X = rng.random((4, 96, 96, 1), np.float32)
    Y = rng.uniform(0.3, 0.7, (4, 30)).astype(np.float32)
    options = Options(channels=(4, 8, 8), fc_units=0, members=2, map_prior=True)
    with tf.Graph().as_default(), tf1.Session() as sess:
        tf1.set_random_seed(1)
        x = tf1.placeholder(tf.float32, [None, 96, 96, 1])
        y_ = tf1.placeholder(tf.float32, [None, 30])
        flipped = tf.constant([False, True, False, True])
        rmse, objective = improved.members_training(x, y_, flipped, 1.0, options,
                                                    improved_model.loss)
        plain = dataclasses.replace(options, map_prior=False)
        rmse0, objective0 = improved.members_training(x, y_, flipped, 1.0, plain,
                                                      improved_model.loss)
        divergences = []
        for k, (xk, yk, fk) in enumerate(zip(*(tf.split(t, 2) for t in (x, y_, flipped)))):
            _, logits = improved_model.network(xk, 1.0, True, options.channels, 0, member=k,
                                               heat_maps=True)
            divergences.append(improved_model.map_divergence(
                logits, improved_model.corrected(yk, fk)))
        sess.run(tf1.global_variables_initializer())
        sess.run(tf1.assign(improved_model.label_x_offset(), 0.02))
        got = sess.run([rmse, objective, rmse0, objective0] + divergences, {x: X, y_: Y})
    r, o, r0, o0, d1, d2 = got
    assert np.isclose(r, r0) and d1 > 0.05 and d2 > 0.05
    assert np.isclose(o, o0 + MAP_PRIOR_WEIGHT * (d1 + d2), rtol=1e-5)
    with tf.Graph().as_default(), pytest.raises(ValueError, match='needs heat maps'):
        improved.members_training(x, y_, flipped, 1.0, dataclasses.replace(options, fc_units=8),
                                  improved_model.loss)
