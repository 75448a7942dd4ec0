"""The graph is exactly the post's."""

import numpy as np
import tensorflow as tf

from facial_keypoints import model

tf1 = tf.compat.v1
tf1.disable_eager_execution()


def build():
    x, y_, keep_prob = model.placeholders()
    y_conv, rmse = model.model(x, y_, keep_prob)
    return x, y_, keep_prob, y_conv, rmse


def test_trainable_values_are_the_posts_8051502():
    with tf.Graph().as_default():
        build()
        shapes = [v.shape.as_list() for v in tf1.trainable_variables()]
        assert shapes == [[3, 3, 1, 32], [32], [2, 2, 32, 64], [64], [2, 2, 64, 128], [128],
                          [11 * 11 * 128, 500], [500], [500, 500], [500], [500, 30], [30]]
        assert sum(int(np.prod(s)) for s in shapes) == 8051502


def test_layer_shapes_follow_valid_conv_and_same_pool():
    with tf.Graph().as_default() as g:
        x, _, _, y_conv, rmse = build()
        sizes = [op.outputs[0].shape.as_list()[1] for op in g.get_operations()
                 if op.type in ('Relu', 'MaxPool')][:6]
        assert sizes == [94, 47, 46, 23, 22, 11]
        assert x.shape.as_list() == [None, 96, 96, 1]
        assert y_conv.shape.as_list() == [None, 30]
        assert rmse.shape.as_list() == []


def test_initial_values_truncated_normal_and_constant_bias():
    with tf.Graph().as_default():
        tf1.set_random_seed(0)
        build()
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            W_fc1, b_fc1 = sess.run(tf1.trainable_variables()[6:8])
    assert abs(W_fc1.std() - 0.088) < 0.002          # truncated at 2 sigma: 0.1 * 0.88
    assert np.abs(W_fc1).max() <= 0.2
    assert np.all(b_fc1 == np.float32(0.1))


def test_rmse_is_root_mean_square_over_all_outputs():
    with tf.Graph().as_default():
        x, y_, keep_prob, y_conv, rmse = build()
        rng = np.random.default_rng(0)
        X = rng.random((3, 96, 96, 1), dtype=np.float32)
        Y = rng.random((3, 30), dtype=np.float32)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            pred, loss = sess.run([y_conv, rmse], {x: X, y_: Y, keep_prob: 1.0})
    assert np.isclose(loss, np.sqrt(np.mean((Y - pred) ** 2)), rtol=1e-5)


def test_keep_prob_is_a_keep_probability():
    """keep_prob=1.0 changes nothing; 0.5 zeroes about half of fc2 and doubles the rest."""
    with tf.Graph().as_default() as g:
        x, y_, keep_prob, y_conv, _ = build()
        h_fc2 = g.get_tensor_by_name('Relu_4:0')
        dropped = g.get_tensor_by_name('dropout/SelectV2:0')
        X = np.random.default_rng(1).random((64, 96, 96, 1), dtype=np.float32)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            a, b = sess.run([h_fc2, dropped], {x: X, keep_prob: 1.0})
            assert np.array_equal(a, b)
            a, b = sess.run([h_fc2, dropped], {x: X, keep_prob: 0.5})
    live = a > 0
    zeroed = (b == 0) & live
    assert 0.45 < zeroed.sum() / live.sum() < 0.55
    kept = live & ~zeroed
    assert np.allclose(b[kept], 2 * a[kept], rtol=1e-6)
