"""The graph is exactly the post's: its shapes, starting values, loss and dropout."""

import numpy as np
import tensorflow as tf

from facial_keypoints import model

tf1 = tf.compat.v1


def build():
    x, y_, keep_prob = model.placeholders()
    y_conv, rmse = model.model(x, y_, keep_prob)
    return x, y_, keep_prob, y_conv, rmse


def at_step():
    """The graph's training step (as train() makes it) and a way to set it:
    (placeholder, op that assigns it)."""
    at = tf1.placeholder(tf.int64, [])
    return at, tf1.assign(tf1.train.get_or_create_global_step(), at).op


def test_trainable_values_are_the_posts_8051502():
    with tf.Graph().as_default():
        build()
        shapes = [v.shape.as_list() for v in tf1.trainable_variables()]
        assert shapes == [[3, 3, 1, 32], [32], [2, 2, 32, 64], [64], [2, 2, 64, 128], [128],
                          [11 * 11 * 128, 500], [500], [500, 500], [500], [500, 30], [30]]
        assert sum(int(np.prod(s)) for s in shapes) == 8051502


def test_valid_convolutions_and_same_pooling_end_at_11x11x128():
    """96 -> 94 -> 47 -> 46 -> 23 -> 22 -> 11: only then does a batch of 3 faces
    flatten to 3 rows of 11*11*128 (SAME convolutions would end at 12x12)."""
    with tf.Graph().as_default():
        x, _, _, y_conv, rmse = build()
        assert x.shape.as_list() == [None, 96, 96, 1] and y_conv.shape.as_list() == [None, 30]
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            out = sess.run(y_conv, {x: np.zeros((3, 96, 96, 1), np.float32)})
    assert out.shape == (3, 30)


def test_initial_values_truncated_normal_and_constant_bias():
    with tf.Graph().as_default():
        tf1.set_random_seed(0)
        build()
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            values = sess.run(tf1.trainable_variables())
    W_fc1 = next(v for v in values if v.shape == (11 * 11 * 128, 500))
    b_fc1 = next(v for v in values if v.shape == (500,))
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
    """keep_prob 1.0 (and unfed) is deterministic; 0.5 drops units at random and
    scales the rest by 2, so the output (linear in the dropped layer) averages
    to the keep_prob 1.0 output. Each training step draws a new mask."""
    with tf.Graph().as_default():
        tf1.set_random_seed(1)
        at, go = at_step()
        x, _, keep_prob, y_conv, _ = build()
        X = np.random.default_rng(1).random((2, 96, 96, 1), dtype=np.float32) * 0.1
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            full = sess.run(y_conv, {x: X, keep_prob: 1.0})
            assert np.array_equal(sess.run(y_conv, {x: X}), full)
            samples = []
            for k in range(400):
                sess.run(go, {at: k})
                samples.append(sess.run(y_conv, {x: X, keep_prob: 0.5}))
    samples = np.stack(samples)
    assert not np.allclose(samples[0], samples[1])
    spread = samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - full) < 5 * spread + 1e-3)


def test_dropout_masks_are_a_function_of_the_seed_and_the_step():
    """What --resume relies on: the same (seed, step) draws the same mask in
    any session, however often the network ran before; another step or seed
    draws another."""
    X = np.random.default_rng(1).random((2, 96, 96, 1), dtype=np.float32) * 0.1

    def outputs(seed, steps, runs_before=0):
        with tf.Graph().as_default():
            tf1.set_random_seed(seed)
            at, go = at_step()
            x, _, keep_prob, y_conv, _ = build()
            with tf1.Session() as sess:
                sess.run(tf1.global_variables_initializer())
                for _ in range(runs_before):
                    sess.run(y_conv, {x: X, keep_prob: 0.5})
                out = []
                for k in steps:
                    sess.run(go, {at: k})
                    out.append(sess.run(y_conv, {x: X, keep_prob: 0.5}))
                return out
    a = outputs(1, [3, 4, 3])
    b = outputs(1, [3, 4], runs_before=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(a[0], a[2]) and not np.allclose(a[0], a[1])
