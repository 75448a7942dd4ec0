"""The improved recipe's network and loss (--recipe improved): graph only. Not in the post.

- a deeper, wider network with batch normalisation: six 3x3 SAME
  convolutions with 32-64-128-256-512-512 channels, each followed by batch
  norm, ReLU and 2x2 pooling (96 pixels down to 2); no dropout; with
  separable, depthwise-separable convolutions instead, but for the first
  stage's (conv_bn_relu());
- keypoints read from heat maps: the stages at 24, 12, 6 and 3 pixels
  feed a feature pyramid that draws one 24x24 map a keypoint (48x48 with
  the 48-pixel stage too, map_size), and each keypoint is its map's
  softmax-weighted mean position (soft-argmax), see heat_map_logits();
  with fc_units, a dense layer of that many units and 30 outputs centred
  on the training set's mean face instead (the recipe before heat maps:
  models trained so still load and predict);
- an ensemble: several such networks ("members", see member_scope()) in one
  graph and one checkpoint, their predictions averaged (keypoints());
- a masked RMSE over the values a row has (NaN marks a missing keypoint),
  and, with Options.map_prior, a prior that pulls each heat map towards a
  Gaussian around its label (map_divergence());
- a learned label x-offset for mirrored faces (see loss()).

Inputs are pixels / 255 in [0, 1]; outputs keypoints / 96.
"""

import numpy as np
import tensorflow as tf

from ..constants import IMAGE_SIZE, NUM_OUTPUTS, keypoint_index
from ..model import dropout_seed
from ..units import unscale_keypoints
from .settings import (BATCH_NORM_DECAY, CHANNELS, FC_UNITS, FULL_WIDTH_CELLS, HEAT_MAP_SIZE,
                       HEAT_MAP_WIDTH, INPUT_CENTRE, MAP_PRIOR_SIGMA, OUTPUT_STDDEV)

tf1 = tf.compat.v1

# The subject's left and right: Kaggle's 15 points hold 6 such pairs (12
# columns swap); the nose tip and the two lip centres map to themselves.
FLIP_PAIRS = [('left_eye_center', 'right_eye_center'),
              ('left_eye_inner_corner', 'right_eye_inner_corner'),
              ('left_eye_outer_corner', 'right_eye_outer_corner'),
              ('left_eyebrow_inner_end', 'right_eyebrow_inner_end'),
              ('left_eyebrow_outer_end', 'right_eyebrow_outer_end'),
              ('mouth_left_corner', 'mouth_right_corner')]


def _flip_permutation():
    perm = np.arange(NUM_OUTPUTS)
    for a, b in FLIP_PAIRS:
        for axis in ('_x', '_y'):
            i, j = keypoint_index[a + axis], keypoint_index[b + axis]
            perm[i], perm[j] = j, i
    return perm


FLIP_PERMUTATION = _flip_permutation()
# Pixel column i of an image mirrors to column 95 - i: in [0, 1] units, x to 95/96 - x.
PIXEL_MIRROR = (IMAGE_SIZE - 1) / IMAGE_SIZE


def masked_rmse(y_conv, y_):
    """RMSE over the values y_ has: NaN in y_ marks a missing keypoint.

    A missing value adds nothing to the loss and nothing to any gradient.
    """
    have = tf.math.is_finite(y_)
    diff = tf.where(have, y_, tf.zeros_like(y_)) - y_conv
    diff = tf.where(have, diff, tf.zeros_like(diff))
    n = tf.maximum(tf.reduce_sum(tf.cast(have, tf.float32)), 1.0)
    return tf.sqrt(tf.reduce_sum(tf.square(diff)) / n)


def batch_norm(h, training, decay=BATCH_NORM_DECAY, epsilon=1e-3):    # TensorFlow's epsilon
    """Batch normalisation over all axes but the last (TensorFlow's fused kernel,
    which also runs in bfloat16 under --bf16).

    training: True normalises with the batch's statistics and adds the moving
    averages' updates to UPDATE_OPS, which the training step runs; False uses
    the moving averages (prediction, validation).
    """
    c = h.shape[-1]
    gamma = tf1.get_variable('gamma', [c], initializer=tf1.ones_initializer())
    beta = tf1.get_variable('beta', [c], initializer=tf1.zeros_initializer())
    moving_mean = tf1.get_variable('moving_mean', [c], trainable=False,
                                   initializer=tf1.zeros_initializer())
    moving_var = tf1.get_variable('moving_variance', [c], trainable=False,
                                  initializer=tf1.ones_initializer())
    x = h if len(h.shape) == 4 else h[:, None, None, :]
    if not training:
        y, _, _ = tf1.nn.fused_batch_norm(x, gamma, beta, moving_mean, moving_var, epsilon,
                                          is_training=False)
    else:
        y, mean, var = tf1.nn.fused_batch_norm(x, gamma, beta, epsilon=epsilon)
        for avg, value in ((moving_mean, mean), (moving_var, var)):
            tf1.add_to_collection(tf1.GraphKeys.UPDATE_OPS,
                                  tf1.assign(avg, avg * decay + value * (1 - decay)))
    return y if len(h.shape) == 4 else y[:, 0, 0, :]


def network(x, keep_prob, training, channels=CHANNELS, fc_units=FC_UNITS, member=0,
            heat_maps=False, map_size=HEAT_MAP_SIZE, separable=False):
    """x [N, 96, 96, 1] in [0, 1] -> y_conv [N, 30], keypoints / 96.

    keep_prob: dropout's keep probability (1.0, a Python float, builds no
    dropout at all). training: a Python bool, see batch_norm(). Called again
    in the same graph, it shares the variables (the training graph builds a
    training and a validation copy). member: which network of an ensemble
    (member_scope()); all members share the mean face and the learned label
    offset (label_x_offset()), which every checkpoint of the network has.
    heat_maps: return (y_conv, the heat maps' logits [N, S, S, 15], None
    with a dense layer) instead; map_size: their S. separable: every 3x3
    convolution but the first stage's is depthwise-separable (conv_bn_relu()).
    """
    with tf1.variable_scope(member_scope(member), reuse=tf1.AUTO_REUSE):
        h = x - INPUT_CENTRE
        stages = []                 # each stage's features before its pooling
        for i, c in enumerate(channels):
            with tf1.variable_scope('conv{}'.format(i + 1)):
                h = conv_bn_relu(h, c, 3, training, separable)
            stages.append(h)
            h = tf.nn.max_pool2d(h, 2, 2, 'SAME')
        if fc_units:
            logits, y_conv = None, dense_layers(h, keep_prob, training, fc_units)
        else:
            logits = heat_map_logits(stages, training, size=map_size, separable=separable)
            y_conv = soft_argmax(logits)
    label_x_offset()
    centre = mean_face()            # made either way: every recipe checkpoint holds it
    if fc_units:
        y_conv += centre
    return (y_conv, logits) if heat_maps else y_conv


def dense_layers(h, keep_prob, training, fc_units):
    """The last stage's features -> fc_units -> 30 outputs, around 0 (the mean face
    is added by network())."""
    h = tf.reshape(h, [-1, int(np.prod(h.shape[1:]))])
    with tf1.variable_scope('fc1'):
        W1 = tf1.get_variable('W', [h.shape[-1], fc_units],
                              initializer=tf1.initializers.he_normal())
        h = tf.nn.relu(batch_norm(tf.matmul(h, W1), training))
    h = tf.nn.experimental.stateless_dropout(h, rate=1 - keep_prob, seed=dropout_seed())
    # Small output weights: training starts at the mean face instead of far
    # from it (a large first loss kills the dense layer's ReLUs under Adam).
    W2 = tf1.get_variable('W_fc2', [fc_units, NUM_OUTPUTS],
                          initializer=tf1.truncated_normal_initializer(stddev=OUTPUT_STDDEV))
    b2 = tf1.get_variable('b_fc2', [NUM_OUTPUTS], initializer=tf1.zeros_initializer())
    return tf.matmul(h, W2) + b2


def conv(h, channels, size):
    """A size x size SAME convolution of h to channels (its weights: variable W)."""
    W = tf1.get_variable('W', [size, size, h.shape[-1], channels],
                         initializer=tf1.initializers.he_normal())
    return tf.nn.conv2d(h, W, strides=1, padding='SAME')


def conv_bn_relu(h, channels, size, training, separable=False):
    """conv(), batch norm, ReLU. separable: a size x size depthwise convolution
    (one filter a channel, variable depthwise/W) with its own batch norm and
    ReLU, then a 1x1 conv() to channels (as in MobileNet), where h has more
    than one channel."""
    if separable and size > 1 and h.shape[-1] > 1:
        with tf1.variable_scope('depthwise'):
            W = tf1.get_variable('W', [size, size, h.shape[-1], 1],
                                 initializer=tf1.initializers.he_normal())
            h = tf.nn.relu(batch_norm(tf.nn.depthwise_conv2d(h, W, [1, 1, 1, 1], 'SAME'),
                                      training))
        size = 1
    return tf.nn.relu(batch_norm(conv(h, channels, size), training))


def heat_map_logits(stages, training, width=HEAT_MAP_WIDTH, size=HEAT_MAP_SIZE,
                    separable=False):
    """The heat maps keypoints are read from: logits [N, size, size, 15].

    stages: each stage's features before pooling, finest first. From the
    deepest stage down to the one at size x size pixels, each stage's features
    (a 1x1 convolution to width channels) are added to the coarser result
    scaled up (bilinear), and mixed by a 3x3 convolution, so the finest map
    sees the whole face (a feature pyramid); a level finer than 24 pixels has
    fewer channels (FULL_WIDTH_CELLS), the coarser result narrowed to them
    by a 1x1 convolution. A 1x1 convolution gives one map per keypoint, which
    soft_argmax() reads (integral regression), so positions fall between
    cells. separable: the 3x3 convolutions are depthwise-separable.
    """
    if stages[-1].shape[1] > size:
        raise ValueError('heat maps of {0}x{0} cells need a stage of at most {0} pixels: '
                         'at least {1} stages'.format(size, 1 + int(np.log2(IMAGE_SIZE / size))))
    top = None
    for i in reversed(range(len(stages))):
        h = stages[i]
        cells = int(h.shape[1])
        if cells > size:
            break
        level_width = width * FULL_WIDTH_CELLS // max(cells, FULL_WIDTH_CELLS)
        if top is not None and top.shape[-1] != level_width:
            with tf1.variable_scope('narrow{}'.format(i + 1)):
                top = conv(top, level_width, 1)
        with tf1.variable_scope('lateral{}'.format(i + 1)):
            h = conv(h, level_width, 1)
        if top is not None:
            h += tf.image.resize(top, h.shape[1:3], 'bilinear')
        with tf1.variable_scope('mix{}'.format(i + 1)):
            top = conv_bn_relu(h, level_width, 3, training, separable)
    with tf1.variable_scope('heat_maps'):
        logits = conv(top, NUM_OUTPUTS // 2, 1)
        return logits + tf1.get_variable('b', [NUM_OUTPUTS // 2],
                                         initializer=tf1.zeros_initializer())


def map_weights(logits):
    """Heat maps' logits [N, S, S, 15] (one map a keypoint, rows y, columns x)
    -> each map's softmax over its cells [N, 15, S * S], row by row."""
    cells = int(logits.shape[1])
    logits = tf.transpose(logits, [0, 3, 1, 2])
    return tf.nn.softmax(tf.reshape(logits, [-1, NUM_OUTPUTS // 2, cells * cells]))


def cell_centres(cells):
    """Where S = cells cells' centres lie, [S] in [0, 1] units: cell j spans
    pixels j*k .. j*k + k - 1, k = 96 / S."""
    k = IMAGE_SIZE / cells
    return ((np.arange(cells) * k + (k - 1) / 2) / IMAGE_SIZE).astype(np.float32)


def soft_argmax(logits):
    """Heat maps' logits [N, S, S, 15] -> keypoints [N, 30] in [0, 1] units:
    each map's softmax over its cells weighs the cells' centres."""
    cells = int(logits.shape[1])
    weights, centre = map_weights(logits), cell_centres(cells)
    xs = tf.reduce_sum(weights * np.tile(centre, cells), axis=2)
    ys = tf.reduce_sum(weights * np.repeat(centre, cells), axis=2)
    return tf.reshape(tf.stack([xs, ys], axis=2), [-1, NUM_OUTPUTS])


def map_divergence(logits, y_, sigma=MAP_PRIOR_SIGMA, epsilon=1e-12):
    """The heat maps' prior: mean Jensen-Shannon divergence (nats, 0 to ln 2)
    between each map's softmax (logits [N, S, S, 15]) and a Gaussian of sigma
    cells around its keypoint in y_ [N, 30] (/96), over the keypoints y_ has
    (NaN: missing, which add nothing)."""
    cells = int(logits.shape[1])
    xy = tf.reshape(y_, [-1, NUM_OUTPUTS // 2, 2])
    finite = tf.math.is_finite(xy)
    have = tf.reduce_all(finite, axis=2)                                    # [N, 15]
    xy = tf.where(finite, xy, tf.zeros_like(xy))
    # A softmax of the squared distances: a normalised Gaussian even for a
    # keypoint far outside the map, where every cell's density underflows.
    spread = 2 * (sigma / cells) ** 2
    dx, dy = (tf.square(cell_centres(cells) - xy[:, :, i, None]) for i in (0, 1))  # [N, 15, S]
    target = tf.nn.softmax(-tf.reshape(dy[:, :, :, None] + dx[:, :, None, :],
                                       [-1, NUM_OUTPUTS // 2, cells * cells]) / spread)
    p = map_weights(logits)
    log_m = tf.math.log((p + target) / 2 + epsilon)
    js = tf.reduce_sum(p * (tf.math.log(p + epsilon) - log_m) +
                       target * (tf.math.log(target + epsilon) - log_m), axis=2) / 2
    have = tf.cast(have, tf.float32)
    return tf.reduce_sum(js * have) / tf.maximum(tf.reduce_sum(have), 1.0)


def keypoints(x, architecture=None):
    """The recipe's prediction: x float32 [N, 96, 96, 1] in [0, 1] -> keypoints
    in pixels [N, 30], unclipped; batch norm uses its moving averages.

    Each face's mirror image is predicted too, that answer mirrored back at
    95 + 2d pixels (d: the learned label offset, see loss()) and the two
    averaged; then the members' answers are averaged. architecture: the
    (channels, fc_units, members, map_size, separable) of a checkpoint
    (architecture()), when not the recipe's own single network.
    """
    channels, fc_units, members, map_size, separable = architecture or (
        CHANNELS, FC_UNITS, 1, HEAT_MAP_SIZE, False)
    both = tf.concat([x, tf.reverse(x, axis=[2])], 0)
    mirror = PIXEL_MIRROR + 2 * label_x_offset()
    answers = []
    for k in range(members):
        y_conv, y_mirror = tf.split(network(both, 1.0, False, channels, fc_units, member=k,
                                            map_size=map_size, separable=separable), 2)
        answers.append((y_conv + flip_keypoints(y_mirror, mirror)) / 2)
    return unscale_keypoints(tf.add_n(answers) / members)


def member_scope(member):
    """The variable scope of an ensemble's member (0, 1, ...): the first keeps
    a single network's names (conv1/W, ...), so a one-network checkpoint is
    an ensemble of one; the others are member2/conv1/W, ...."""
    return tf1.get_variable_scope() if member == 0 else 'member{}'.format(member + 1)


def architecture(checkpoint_variables):
    """(channels, fc_units, members, map_size, separable) of the network whose
    checkpoint holds these {name: shape}; fc_units 0 when it reads heat maps,
    map_size the pixels of the finest stage its heat maps are drawn from,
    separable whether its convolutions are depthwise-separable."""
    channels = []
    while 'conv{}/W'.format(len(channels) + 1) in checkpoint_variables:
        channels.append(checkpoint_variables['conv{}/W'.format(len(channels) + 1)][-1])
    members = 1
    while 'member{}/conv1/W'.format(members + 1) in checkpoint_variables:
        members += 1
    fc_units = 0 if 'heat_maps/W' in checkpoint_variables else checkpoint_variables.get(
        'W_fc2', [FC_UNITS])[0]
    finest = min([i for i in range(1, len(channels) + 1)
                  if 'lateral{}/W'.format(i) in checkpoint_variables], default=0)
    map_size = IMAGE_SIZE >> (finest - 1) if finest else HEAT_MAP_SIZE
    separable = any(name.endswith('depthwise/W') for name in checkpoint_variables)
    return tuple(channels), fc_units, members, map_size, separable


def mean_face():
    """The training set's mean keypoints (/96) [30]; set once before training."""
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=tf1.AUTO_REUSE):
        return tf1.get_variable('mean_face', [NUM_OUTPUTS], trainable=False,
                                initializer=tf1.constant_initializer(0.5))    # the centre


def label_x_offset():
    """How far right of the pixels they mark the data's x labels sit (/96), learned."""
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=tf1.AUTO_REUSE):
        return tf1.get_variable('label_x_offset', [], initializer=tf1.zeros_initializer())


def loss(y_conv, y_, flipped, of=masked_rmse):
    """Masked RMSE against targets whose mirrored rows are corrected by a
    learned label x-offset d.

    augment.flip_horizontal mirrors a keypoint at pixel index x to 95 - x.
    If a data set's x labels sit d pixels right of the pixels they mark
    (faces15's do, by about 1 px: landmarks counted from 1 rather than 0
    would do that), a mirrored label is 2d short of the mirrored feature.
    A network cannot tell a mirrored face from a real one, so it would learn
    half that error as a bias on every face. Adding 2d to the x targets of
    mirrored rows (flipped: bool [N]), with d trained, removes the conflict:
    the loss is lowest when d is the data's offset. Prediction mirrors its
    look at each mirror image back at 95 + 2d (keypoints()). of: the loss of
    (y_conv, corrected targets), masked_rmse by default.
    """
    return of(y_conv, corrected(y_, flipped))


def corrected(y_, flipped):
    """The targets y_ [N, 30] (/96) with mirrored rows' x moved right by twice the
    learned label offset, see loss()."""
    x_columns = tf.constant(np.arange(NUM_OUTPUTS) % 2 == 0, dtype=tf.float32)
    return y_ + (2.0 * label_x_offset() * tf.cast(flipped, tf.float32)[:, None]
                 * x_columns[None, :])


def flip_keypoints(y, mirror=PIXEL_MIRROR, permutation=FLIP_PERMUTATION):
    """The keypoints of the mirror images: left and right swap, and x goes to
    mirror - x. y: [N, 30] in [0, 1] units, a numpy array (NaN stays NaN) or
    a tensor; mirror in the same units: PIXEL_MIRROR (95/96) is the
    pixel-exact flip; labels that sit d right of their pixels mirror at
    PIXEL_MIRROR + 2d."""
    if isinstance(y, np.ndarray):
        flipped = y[:, permutation]
        flipped[:, 0::2] = np.float32(mirror) - flipped[:, 0::2]
        return flipped
    y = tf.gather(y, permutation, axis=1)
    x_columns = tf.constant(np.arange(NUM_OUTPUTS) % 2 == 0)
    return tf.where(x_columns[None, :], mirror - y, y)
