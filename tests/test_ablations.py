"""What bench/ablations.py adds to the recipe for its variants: turns and
zooms (warp), the wing loss."""

import numpy as np
import pytest
import tensorflow as tf

from bench.ablations import turning, warp, wing
from facial_keypoints.improved import augment
from facial_keypoints import units


def dots(points):
    """A dark 96x96 image with a bright 3x3 dot at each keypoint (pixels [30])."""
    img = np.zeros((96, 96), np.float32)
    for x, y in points.reshape(-1, 2):
        img[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2] = 1.0
    return img


def test_warp_without_turn_scale_or_move_changes_nothing():
    rng = np.random.default_rng(7)
    X = rng.random((3, 96, 96, 1), dtype=np.float32)
    y = rng.uniform(0.2, 0.8, (3, 30)).astype(np.float32)
    y[1, 4:] = np.nan
    Xw, yw = warp(X, y, np.zeros(3), np.ones(3), np.zeros(3), np.zeros(3))
    assert np.array_equal(Xw, X)
    assert np.allclose(yw, y, atol=1e-6, equal_nan=True) and np.isnan(yw[1, 4:]).all()


def test_warp_by_whole_pixels_is_the_exact_shift():
    rng = np.random.default_rng(8)
    X = rng.random((4, 96, 96, 1), dtype=np.float32)
    y = rng.uniform(0.2, 0.8, (4, 30)).astype(np.float32)
    dx, dy = np.array([2, -3, 0, 1]), np.array([-1, 3, 2, 0])
    Xs, ys = augment.shift(X, y, dx, dy)
    Xw, yw = warp(X, y, np.zeros(4), np.ones(4), dx, dy)
    assert np.array_equal(Xw, Xs) and np.allclose(yw, ys, atol=1e-6)


@pytest.mark.parametrize('angle, scale', [(10.0, 1.0), (-7.0, 1.1), (0.0, 0.9), (15.0, 0.95)])
def test_turned_and_scaled_keypoints_land_on_their_features(angle, scale):
    # 15 points on a grid, on whole pixels, far enough apart that dots stay apart
    points = np.stack(np.meshgrid(np.arange(28, 69, 10), [30, 48, 66]), -1).reshape(-1)
    points = points.astype(np.float32)
    X = dots(points)[None, :, :, None]
    Xw, yw = warp(X, units.scale_keypoints(points[None]), [angle], [scale], [1], [-2])
    moved = units.unscale_keypoints(yw)[0]
    img = Xw[0, :, :, 0]
    for x, y in moved.reshape(-1, 2):
        # the dot's centre of brightness around where its keypoint went
        r, c = int(round(y)), int(round(x))
        patch = img[r - 3:r + 4, c - 3:c + 4]
        rows, cols = np.mgrid[r - 3:r + 4, c - 3:c + 4]
        assert patch.sum() > 3
        assert abs((patch * cols).sum() / patch.sum() - x) < 0.6
        assert abs((patch * rows).sum() / patch.sum() - y) < 0.6
    # the direction is the one asked for: a point right of centre moves up for angle > 0
    _, yr = warp(X, units.scale_keypoints(np.array([[70.0, 47.5] * 15])), [30.0], [1.0],
                         [0], [0])
    assert units.unscale_keypoints(yr)[0, 1] < 47.5 - 5


def test_turning_keeps_the_draws_of_the_recipes_own_parts():
    rng = np.random.default_rng(10)
    X = rng.random((8, 96, 96, 1), dtype=np.float32)
    y = rng.uniform(0.3, 0.7, (8, 30)).astype(np.float32)
    a = augment.augment_batch(X, y, np.random.default_rng(1))
    b = turning(0.0, 0.0)(X, y, np.random.default_rng(1))
    c = turning(5.0, 0.05)(X, y, np.random.default_rng(1))
    assert np.array_equal(a[2], b[2]) and np.array_equal(a[2], c[2])     # the same flips
    assert np.allclose(a[1], b[1], atol=1e-6) and not np.allclose(a[1], c[1], atol=1e-3)


def test_the_wing_loss_is_logarithmic_below_w_pixels_and_linear_above():
    y_ = np.full((1, 30), np.nan, np.float32)
    y_[0, :2] = 0.5
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        def loss_at(px):
            return sess.run(wing(tf.constant(y_ + px / 96, tf.float32), tf.constant(y_)))
        small, large = loss_at(1.0), loss_at(20.0)
    assert np.isclose(small, 10 * np.log(1 + 1 / 2), rtol=1e-4)
    assert np.isclose(large, 20 - (10 - 10 * np.log(1 + 10 / 2)), rtol=1e-4)


def test_pseudo_labels_add_the_held_out_faces_with_the_teachers_labels_only(improved_model):
    from bench.ablations import pseudo_labelled
    from facial_keypoints import data
    from facial_keypoints.improved.train import held_out_groups, validation_split
    from facial_keypoints.serving.predictor import Predictor
    data_dir, model_dir = improved_model
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    (X2, y2), split = pseudo_labelled(data_dir, [model_dir, model_dir])
    train_rows, valid_rows = validation_split(X, y, data_dir)
    _, held = held_out_groups(X)
    assert np.array_equal(X2[:len(X)], X) and np.array_equal(X2[len(X):], X[held])
    with Predictor(model_dir) as p:
        taught = units.scale_keypoints(p.predict(X[held], clip=False))
    assert np.allclose(y2[len(X):], taught, atol=1e-6) and not np.isnan(y2[len(X):]).any()
    new_train, new_valid = split(X2, y2, 'training.csv')
    assert np.array_equal(new_valid, valid_rows)         # scored on the same labels as ever
    assert sorted(new_train) == sorted(list(train_rows) + list(range(len(X), len(X2))))


@pytest.mark.parametrize('all_rows', [False, True])
def test_distillation_fills_only_missing_keypoints_of_the_rows_that_train(improved_model,
                                                                          all_rows):
    from bench.ablations import taught
    from facial_keypoints import data
    from facial_keypoints.improved.train import held_out_groups, validation_split
    from facial_keypoints.serving.predictor import Predictor
    data_dir, model_dir = improved_model
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    X2, y2 = taught(data_dir, [model_dir], all_rows)
    with Predictor(model_dir) as p:
        teacher = units.scale_keypoints(p.predict(X, clip=False))
    train_rows, _ = validation_split(X, y, data_dir)
    _, held = held_out_groups(X)
    filled = np.isnan(y) & ~np.isnan(y2)
    assert np.array_equal(X2, X) and np.array_equal(y2[~np.isnan(y)], y[~np.isnan(y)])
    assert np.allclose(y2[filled], teacher[filled], atol=1e-6)
    assert np.isnan(y[train_rows]).any() and not np.isnan(y2[train_rows]).any()
    # the held-out groups keep their gaps, but with --all-rows, where they train
    assert np.isnan(y[held]).any()
    if all_rows:
        assert not np.isnan(y2[held]).any()
    else:
        assert np.array_equal(np.isnan(y2[held]), np.isnan(y[held]))
