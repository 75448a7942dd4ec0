"""What each part of the improved recipe buys, measured on validation.

    python bench/ablations.py --data-dir DIR --epochs 30 --bf16            # every variant
    python bench/ablations.py --data-dir DIR --epochs 30 no_flips rotate5  # some
    python bench/ablations.py --data-dir DIR --evaluate RUN [RUN ...]      # prediction only
    python bench/ablations.py --data-dir DIR one_network --teachers RUN [RUN ...]  # distilled
    python bench/ablations.py --data-dir DIR --train-groups 0.75 one_network  # less data

Each variant is the recipe with one part (improved.Options) or training
setting (TrainConfig) changed, trained with the same seed, the same
validation groups and the same number of epochs (the cosine schedule is
squeezed into them). A line per variant: the best validation RMSE as
training measures it, as run_predict.py measures it (float32, clipped to the
image; the two differ only under --bf16), and the seconds it took. Both
average each face with its mirror image. The model folders stay in --keep
(default: a temporary folder), so that --evaluate can score them again:
alone, with test-time shifts, and together as an ensemble; and as Kaggle
scores a submission: every value each face of the held-out groups has (most
have only 4 keypoints), which is how a submit.csv is scored.
"""

import argparse
import dataclasses
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from facial_keypoints import augment, data, units  # noqa: E402
from facial_keypoints.config import TrainConfig  # noqa: E402
from facial_keypoints.improved import (Options, held_out_groups, train_improved,  # noqa: E402
                                       validation_split)
from facial_keypoints.predict import Predictor  # noqa: E402

RECIPE = Options()
FOUR_STAGES = (32, 64, 128, 256)      # the recipe's network before it had six stages
# name: (the recipe's parts, training settings changed from the recipe's).
VARIANTS = {
    'recipe': (RECIPE, {}),
    # The recipe before it had two networks and no dropout (it then ran 200 epochs).
    'previous': (dataclasses.replace(RECIPE, members=1, channels=FOUR_STAGES),
                 dict(keep_prob=0.5)),
    'one_network': (dataclasses.replace(RECIPE, members=1), {}),
    'three_networks': (dataclasses.replace(RECIPE, members=3), {}),
    'dropout': (RECIPE, dict(keep_prob=0.5)),
    'no_flips': (dataclasses.replace(RECIPE, flips=False), {}),
    'no_shifts': (dataclasses.replace(RECIPE, shifts=False), {}),
    'no_lighting': (dataclasses.replace(RECIPE, lighting=False), {}),
    'no_label_offset': (dataclasses.replace(RECIPE, label_offset=False), {}),
    'no_centring': (dataclasses.replace(RECIPE, centring=False), {}),
    'constant_rate': (dataclasses.replace(RECIPE, cosine=False), {}),
    'rotate5': (dataclasses.replace(RECIPE, rotation=5.0, zoom=0.05), {}),
    'rotate10': (dataclasses.replace(RECIPE, rotation=10.0, zoom=0.1), {}),
    'wing': (dataclasses.replace(RECIPE, wing=True), {}),
    # The four-stage network, half as wide again (measured on the previous recipe).
    'wide': (dataclasses.replace(RECIPE, channels=(48, 96, 192, 384)), {}),
    # Fewer and more stages (2x2 pooling each), one network and two.
    'four_stages': (dataclasses.replace(RECIPE, members=1, channels=FOUR_STAGES), {}),
    'recipe_four_stages': (dataclasses.replace(RECIPE, channels=FOUR_STAGES), {}),
    'five_stages': (dataclasses.replace(RECIPE, members=1, channels=FOUR_STAGES + (512,)), {}),
    'recipe_five_stages': (dataclasses.replace(RECIPE, channels=FOUR_STAGES + (512,)), {}),
    'seven_stages': (dataclasses.replace(RECIPE, members=1, channels=RECIPE.channels + (512,)),
                     {}),
}


def heatmap_network(x, keep_prob, training, *architecture, member=0):
    """Integral regression (Sun et al., ECCV 2018), tried as a variant: three
    stages of the recipe's convolutions down to 12x12, one more convolution,
    then a 12x12 heat map per keypoint whose softmax-weighted mean position
    is the keypoint. Keeps the label offset; the mean face is not used."""
    import tensorflow as tf
    from facial_keypoints import improved_model as im
    tf1 = tf.compat.v1
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=tf1.AUTO_REUSE):
        h = x - 0.5
        channels = (32, 64, 128)
        for i, c in enumerate(channels + (256,)):
            with tf1.variable_scope('conv{}'.format(i + 1)):
                W = tf1.get_variable('W', [3, 3, h.shape[-1], c],
                                     initializer=tf1.initializers.he_normal())
                h = tf.nn.relu(im.batch_norm(tf.nn.conv2d(h, W, 1, 'SAME'), training))
            if i < len(channels):
                h = tf.nn.max_pool2d(h, 2, 2, 'SAME')
        h = tf.nn.dropout(h, rate=1 - keep_prob)
        W = tf1.get_variable('W_heat', [1, 1, h.shape[-1], 15],
                             initializer=tf1.initializers.he_normal())
        logits = tf.nn.conv2d(h, W, 1, 'SAME') + tf1.get_variable(
            'b_heat', [15], initializer=tf1.zeros_initializer())
        n = logits.shape[1]
        p = tf.nn.softmax(tf.reshape(tf.transpose(logits, [0, 3, 1, 2]), [-1, 15, n * n]))
        cells = (tf.range(n, dtype=tf.float32) + 0.5) * (96.0 / n) - 0.5
        xs = tf.reduce_sum(p * tf.tile(cells, [n])[None, None, :], -1)
        ys = tf.reduce_sum(p * tf.repeat(cells, n)[None, None, :], -1)
        im.label_x_offset()
        im.mean_face()
        return tf.reshape(tf.stack([xs, ys], -1), [-1, 30]) / 96.0


def fewer_groups(fraction):
    """Makes train_improved() train on that fraction of its training rows'
    near-duplicate groups (a fixed draw), validating on the same groups as
    ever: a point of the learning curve."""
    from facial_keypoints import improved, splits
    split = improved.validation_split

    def validation_split(X, y, path):
        train_rows, valid_rows = split(X, y, path)
        groups = splits.near_duplicate_groups(X[train_rows])
        ids = np.unique(groups)
        np.random.default_rng(777).shuffle(ids)
        keep = np.isin(groups, ids[:max(1, int(round(fraction * len(ids))))])
        return train_rows[keep], valid_rows
    improved.validation_split = validation_split


def teach(data_dir, teachers):
    """Makes train_improved() read data_dir with the missing keypoints of its
    training rows (never of its validation groups) filled in by the teachers'
    mean prediction, so that every training face has all 30."""
    from facial_keypoints import improved
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    train_rows, _ = validation_split(X, y, data_dir)
    predicted = []
    for d in teachers:
        with Predictor(d) as p:
            if p.recipe != 'improved':
                sys.exit('--teachers: {} is not a model of the improved recipe, which alone '
                         'keeps its validation groups out of training.'.format(d))
            predicted.append(p.predict(X[train_rows], clip=False))
    taught = units.scale_keypoints(np.mean(predicted, axis=0))
    y = y.copy()
    y[train_rows] = np.where(np.isnan(y[train_rows]), taught, y[train_rows])
    improved.input_data = lambda **kw: (X, y)


# Test-time shifts (pixels) averaged by --evaluate's "shifts" line.
TTA_SHIFTS = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]


def validation_rows(data_dir, complete=True):
    """The improved recipe's validation faces and keypoints (pixels); with
    complete=False every row of its held-out groups, NaN where a keypoint is
    missing (70% of them have 4 keypoints, as in a Kaggle test set)."""
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    _, valid = validation_split(X, y, data_dir) if complete else held_out_groups(X)
    return X[valid], units.unscale_keypoints(y[valid])


def predict_shifted(predictor, X, shifts):
    """Mean prediction (pixels) over copies of X moved by each (dx, dy)."""
    out = []
    for dx, dy in shifts:
        dx, dy = np.full(len(X), dx), np.full(len(X), dy)
        moved, _ = augment.shift(X, np.zeros((len(X), 30), np.float32), dx, dy)
        p = predictor.predict(moved, clip=False)
        p[:, 0::2] -= dx[:, None]
        p[:, 1::2] -= dy[:, None]
        out.append(p)
    return np.clip(np.mean(out, axis=0), 0, 96)


def rmse(pred, truth):
    """RMSE over the values truth has (NaN: missing)."""
    return float(np.sqrt(np.nanmean((pred - truth) ** 2)))


def evaluate(data_dir, model_dirs):
    """Prints each model's validation RMSE (complete rows), the same scored as
    Kaggle scores a submission (every value the held-out groups' rows have),
    and the validation with test-time shifts; then the same for their mean."""
    X, truth = validation_rows(data_dir, complete=False)
    complete = ~np.isnan(truth).any(axis=1)    # the validation's rows
    plain, shifted = [], []      # predictions of every row; of the complete rows, shifted

    def scores(plain, shifted):
        return '{:.4f} px; as Kaggle scores ({} faces) {:.4f} px; with {} test-time shifts ' \
            '{:.4f} px'.format(rmse(plain[complete], truth[complete]), len(X), rmse(plain, truth),
                               len(TTA_SHIFTS), rmse(shifted, truth[complete]))
    for d in model_dirs:
        with Predictor(d) as p:
            plain.append(p.predict(X))
            t = time.perf_counter()
            shifted.append(predict_shifted(p, X[complete], TTA_SHIFTS))
            ms = 1000 * (time.perf_counter() - t) / complete.sum()
        print('{}: {} ({:.1f} ms a face)'.format(d, scores(plain[-1], shifted[-1]), ms))
    if len(model_dirs) > 1:
        print('ensemble of {}: {}'.format(len(model_dirs), scores(np.mean(plain, axis=0),
                                                                  np.mean(shifted, axis=0))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('variants', nargs='*', help='which to run (default: all): ' +
                    ', '.join(VARIANTS))
    ap.add_argument('--data-dir', required=True)
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--bf16', action='store_true')
    ap.add_argument('--keep', help='folder for the model folders (default: a temporary one)')
    ap.add_argument('--heatmap', action='store_true',
                    help='use heatmap_network() in place of the recipe\'s network')
    ap.add_argument('--teachers', nargs='+', metavar='RUN',
                    help='train on the training rows with their missing keypoints filled in '
                         'by the mean prediction of these improved-recipe model folders, '
                         'trained on the same data (distillation)')
    ap.add_argument('--train-groups', type=float, metavar='F',
                    help='train on this fraction (0-1] of the training groups only, a '
                         'point of the learning curve')
    ap.add_argument('--evaluate', nargs='+', metavar='RUN',
                    help='score these model folders again, alone and as an ensemble')
    args = ap.parse_args()
    if args.heatmap:
        from facial_keypoints import improved_model
        improved_model.network = heatmap_network
    if args.evaluate:
        if args.teachers or args.train_groups is not None:
            ap.error('--teachers and --train-groups train; --evaluate only scores')
        return evaluate(args.data_dir, args.evaluate)
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        ap.error('unknown variant(s) {}; choose from {}'.format(', '.join(unknown),
                                                                ', '.join(VARIANTS)))
    if args.teachers:
        teach(args.data_dir, args.teachers)
    if args.train_groups is not None:
        if not 0 < args.train_groups <= 1:
            ap.error('--train-groups must be more than 0 and at most 1')
        fewer_groups(args.train_groups)
    keep = args.keep or tempfile.mkdtemp(prefix='fkp-ablations-')
    X, truth = validation_rows(args.data_dir)
    print('improved-recipe ablations on {}: {} epochs, seed {}, {}; models in {}'.format(
        args.data_dir, args.epochs, args.seed, 'bfloat16' if args.bf16 else 'float32', keep))
    tag = ('-taught' if args.teachers else '') + (
        '-groups{:g}'.format(args.train_groups) if args.train_groups is not None else '')
    for name in args.variants or list(VARIANTS):
        model_dir = os.path.join(keep, '{}{}{}-e{}-s{}{}'.format(
            name, '-heatmap' if args.heatmap else '', tag, args.epochs, args.seed,
            '' if args.bf16 else '-f32'))
        options, settings = VARIANTS[name]
        cfg = TrainConfig(data_dir=args.data_dir, model_dir=model_dir, recipe='improved',
                          epochs=args.epochs, patience=args.epochs, seed=args.seed,
                          bf16=args.bf16 or None, quiet=True, **settings)
        r = train_improved(cfg, log=lambda *a: None, options=options)
        with Predictor(model_dir) as p:
            predicted = rmse(p.predict(X), truth)
        print('{:16s} best validation {:.4f} px at epoch {:3d}; predicted {:.4f} px; {:5.0f} s'
              .format(name + tag,
                      r['best_validation_rmse_px'], r['best_epoch'], predicted,
                      r['seconds']), flush=True)


if __name__ == '__main__':
    main()
