"""The post's network, as a tf.compat.v1 graph. Graph only: no files, no sessions.

Shapes (the post leaves padding implicit; the 11*11*128 it flattens needs
VALID convolutions and SAME pooling): 96 -conv3-> 94 -pool-> 47 -conv2-> 46
-pool-> 23 -conv2-> 22 -pool-> 11.
Inputs are pixels / 255 in [0, 1]; outputs are keypoints / 96.
"""

import tensorflow as tf

from .constants import IMAGE_SIZE, NUM_OUTPUTS

tf1 = tf.compat.v1


def placeholders():
    """The post's x, y_ and keep_prob.

    x: float32 [None, 96, 96, 1], pixels / 255.
    y_: float32 [None, 30], keypoints / 96.
    keep_prob: float32 scalar, 0.5 while training and 1.0 when evaluating
    (1.0 when not fed).
    """
    x = tf1.placeholder(tf.float32, shape=[None, IMAGE_SIZE, IMAGE_SIZE, 1], name='x')
    y_ = tf1.placeholder(tf.float32, shape=[None, NUM_OUTPUTS], name='y_')
    keep_prob = tf1.placeholder_with_default(1.0, shape=[], name='keep_prob')
    return x, y_, keep_prob


# weight_variable, bias_variable and conv2d are used but not shown in the post.
# The starting values are those of the TensorFlow MNIST tutorial the post
# mentions; padding is VALID (the tutorial's is SAME), because the 11*11*128
# the post flattens needs it.
def weight_variable(shape):
    return tf.Variable(tf1.truncated_normal(shape, stddev=0.1))


def bias_variable(shape):
    return tf.Variable(tf.constant(0.1, shape=shape))


def conv2d(x, W):
    return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding='VALID')


def max_pool_2x2(x):
    return tf.nn.max_pool2d(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')


def dropout_seed():
    """The seed of one dropout layer's mask, int64 [2]: the graph's seed (the
    run's --seed) and the layer's own, with the training step folded in (the
    graph's global step, which minimize() counts and the training state
    keeps). Each step draws a new mask, and a resumed run the one an
    uninterrupted run drew, whatever else ran in between. A graph without a
    global step (prediction, keep_prob 1.0) folds in nothing."""
    graph_seed, op_seed = tf1.get_seed(None)        # (None, None) in a graph with no seed
    seed = tf.constant([graph_seed or 0, op_seed or 0], tf.int64)
    step = tf1.train.get_global_step()
    return seed if step is None else tf.random.experimental.stateless_fold_in(seed, step)


def model(x, y_, keep_prob):
    """The post's model(): x [N, 96, 96, 1] -> (y_conv [N, 30], rmse).

    The post's model() read x, y_ and keep_prob as globals; here they are
    passed in, so each caller (and each test) builds its own graph.
    """
    W_conv1 = weight_variable([3, 3, 1, 32])
    b_conv1 = bias_variable([32])
    h_conv1 = tf.nn.relu(conv2d(x, W_conv1) + b_conv1)
    h_pool1 = max_pool_2x2(h_conv1)

    W_conv2 = weight_variable([2, 2, 32, 64])
    b_conv2 = bias_variable([64])
    h_conv2 = tf.nn.relu(conv2d(h_pool1, W_conv2) + b_conv2)
    h_pool2 = max_pool_2x2(h_conv2)

    W_conv3 = weight_variable([2, 2, 64, 128])
    b_conv3 = bias_variable([128])
    h_conv3 = tf.nn.relu(conv2d(h_pool2, W_conv3) + b_conv3)
    h_pool3 = max_pool_2x2(h_conv3)

    W_fc1 = weight_variable([11 * 11 * 128, 500])
    b_fc1 = bias_variable([500])
    h_pool3_flat = tf.reshape(h_pool3, [-1, 11 * 11 * 128])
    h_fc1 = tf.nn.relu(tf.matmul(h_pool3_flat, W_fc1) + b_fc1)

    W_fc2 = weight_variable([500, 500])
    b_fc2 = bias_variable([500])
    h_fc2 = tf.nn.relu(tf.matmul(h_fc1, W_fc2) + b_fc2)
    # The post: tf.nn.dropout(h_fc2, keep_prob). TensorFlow 2 takes the drop rate;
    # the stateless form draws the mask from (seed, training step), for --resume.
    h_fc2_drop = tf.nn.experimental.stateless_dropout(h_fc2, rate=1 - keep_prob,
                                                      seed=dropout_seed())

    W_fc3 = weight_variable([500, 30])
    b_fc3 = bias_variable([30])
    y_conv = tf.matmul(h_fc2_drop, W_fc3) + b_fc3

    rmse = tf.sqrt(tf.reduce_mean(tf.square(y_ - y_conv)))
    return y_conv, rmse
