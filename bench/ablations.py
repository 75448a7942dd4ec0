"""What each part of the improved recipe buys, measured on validation.

    python bench/ablations.py --data-dir DIR --epochs 30 --bf16            # every variant
    python bench/ablations.py --data-dir DIR --epochs 30 no_flips rotate5  # some
    python bench/ablations.py --data-dir DIR --evaluate RUN [RUN ...]      # prediction only
    python bench/ablations.py --data-dir DIR one_network --teachers RUN [RUN ...]  # distilled
    python bench/ablations.py --data-dir DIR --all-rows compact --teachers RUN  # the pretrained model
    python bench/ablations.py --data-dir DIR --train-groups 0.75 one_network  # less data
    python bench/ablations.py --data-dir DIR recipe --pseudo-labels RUN [RUN ...]  # self-trained

Each variant is the recipe with one part (improved/settings.py, Options), training
setting (TrainConfig) or piece (train_improved()'s augment or loss) changed, trained with the same seed, the same
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
import functools
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from facial_keypoints.improved import augment, model as improved_model, splits  # noqa: E402
from facial_keypoints import data, units  # noqa: E402
from facial_keypoints.improved.augment import warp  # noqa: E402
from facial_keypoints.runs.bf16 import cpu_has_bf16  # noqa: E402
from facial_keypoints.runs.config import TrainConfig  # noqa: E402
from facial_keypoints.constants import IMAGE_SIZE  # noqa: E402
from facial_keypoints.improved.train import (held_out_groups, train_improved,  # noqa: E402
                                             validation_split)
from facial_keypoints.improved.settings import COMPACT, Options  # noqa: E402
from facial_keypoints.serving.predictor import Predictor  # noqa: E402


def turning(rotation, zoom):
    """The recipe's augmentation (augment.augment_batch), with each face also
    turned by up to rotation degrees and scaled by up to zoom (a fraction),
    drawn after the recipe's own draws, so those stay the same."""
    def move(X, y, dx, dy, rng):
        angle = rng.uniform(-rotation, rotation, len(X))
        scale = 1 + rng.uniform(-zoom, zoom, len(X))
        return warp(X, y, angle, scale, dx, dy)
    return functools.partial(augment.augment_batch, move=move)


def cutting(probability=0.5, sizes=(16, 33)):
    """The recipe's augmentation (augment.augment_batch), then on that share of
    the faces a square of random side (pixels, drawn from sizes) set to the
    face's mean gray, anywhere in the image (cutout): faces partly hidden, the
    keypoints still labelled where they are."""
    def augment_and_cut(X, y, rng, options):
        X, y, flipped = augment.augment_batch(X, y, rng, options)
        n = len(X)
        cut = rng.random(n) < probability
        side = rng.integers(*sizes, n)
        top, left = (rng.integers(0, IMAGE_SIZE, (2, n)) - side // 2).clip(0)
        mean = X.mean(axis=(1, 2, 3))
        for i in np.flatnonzero(cut):
            X[i, top[i]:top[i] + side[i], left[i]:left[i] + side[i]] = mean[i]
        return X, y, flipped
    return augment_and_cut


def wing(y_conv, y_, w=10.0, epsilon=2.0):
    """The wing loss (Feng et al., CVPR 2018) over the values y_ has, on
    errors in pixels: logarithmic below w pixels, so small errors weigh more
    than in a squared loss, linear above."""
    import tensorflow as tf
    have = tf.math.is_finite(y_)
    d = units.unscale_keypoints(tf.abs(tf.where(have, y_, tf.zeros_like(y_)) - y_conv))
    c = w - w * np.log(1 + w / epsilon)
    loss = tf.where(d < w, w * tf.math.log(1 + d / epsilon), d - c)
    loss = tf.where(have, loss, tf.zeros_like(loss))
    return tf.reduce_sum(loss) / tf.maximum(tf.reduce_sum(tf.cast(have, tf.float32)), 1.0)


RECIPE = Options()
# The recipe before weight decay; and before heat maps, with a dense layer of
# 512 units. The variants built on them are those measured then
# (docs/improved.md).
HEAT_MAPS = dataclasses.replace(RECIPE, weight_decay=0.0)
DENSE = dataclasses.replace(HEAT_MAPS, fc_units=512)
FOUR_STAGES = (32, 64, 128, 256)      # four stages of 2x2 pooling, down to 6x6
# name: (the recipe's parts, training settings changed from the recipe's,
# train_improved()'s arguments that change the recipe further).
VARIANTS = {
    'recipe': (RECIPE, {}, {}),
    'heat_maps': (HEAT_MAPS, {}, {}),
    'map_prior': (dataclasses.replace(RECIPE, map_prior=True), {}, {}),
    'double_weight_decay': (dataclasses.replace(RECIPE, weight_decay=2 * RECIPE.weight_decay),
                            {}, {}),
    'fine_maps': (dataclasses.replace(RECIPE, heat_map_size=48), {}, {}),
    'one_network_heat_maps': (dataclasses.replace(HEAT_MAPS, members=1), {}, {}),
    'one_network_map_prior': (dataclasses.replace(HEAT_MAPS, members=1, map_prior=True),
                              {}, {}),
    'dense': (DENSE, {}, {}),
    # One four-stage network with dropout 0.5 (docs/improved.md's previous recipe).
    'previous': (dataclasses.replace(DENSE, members=1, channels=FOUR_STAGES),
                 dict(keep_prob=0.5), {}),
    'one_network': (dataclasses.replace(DENSE, members=1), {}, {}),
    'one_network_cutout': (dataclasses.replace(DENSE, members=1), {}, dict(augment=cutting())),
    'one_network_weight_decay': (dataclasses.replace(DENSE, members=1,
                                                     weight_decay=RECIPE.weight_decay),
                                 {}, {}),
    'three_networks': (dataclasses.replace(DENSE, members=3), {}, {}),
    'dropout': (DENSE, dict(keep_prob=0.5), {}),
    'no_flips': (dataclasses.replace(DENSE, flips=False), {}, {}),
    'no_shifts': (dataclasses.replace(DENSE, shifts=False), {}, {}),
    'no_lighting': (dataclasses.replace(DENSE, lighting=False), {}, {}),
    'no_label_offset': (dataclasses.replace(DENSE, label_offset=False), {}, {}),
    'no_centring': (dataclasses.replace(DENSE, centring=False), {}, {}),
    'constant_rate': (dataclasses.replace(DENSE, cosine=False), {}, {}),
    'no_turns': (dataclasses.replace(DENSE, turns=False), {}, {}),
    'weight_average': (dataclasses.replace(DENSE, weight_average=True), {}, {}),
    'rotate5': (DENSE, {}, dict(augment=turning(5.0, 0.05))),
    'rotate10': (DENSE, {}, dict(augment=turning(10.0, 0.1))),
    'wing': (DENSE, {}, dict(loss=functools.partial(improved_model.loss, of=wing))),
    # The four-stage network, half as wide again.
    'wide': (dataclasses.replace(DENSE, channels=(48, 96, 192, 384)), {}, {}),
    # Fewer and more stages (2x2 pooling each), one network and two.
    'four_stages': (dataclasses.replace(DENSE, members=1, channels=FOUR_STAGES), {}, {}),
    'recipe_four_stages': (dataclasses.replace(DENSE, channels=FOUR_STAGES), {}, {}),
    'five_stages': (dataclasses.replace(DENSE, members=1, channels=FOUR_STAGES + (512,)),
                    {}, {}),
    'recipe_five_stages': (dataclasses.replace(DENSE, channels=FOUR_STAGES + (512,)), {}, {}),
    # Cheaper networks: the compact recipe's (one of half the channels, at most 256),
    # a wider one, and a narrower one.
    'compact': (COMPACT, {}, {}),
    'compact_wide': (dataclasses.replace(RECIPE, members=1,
                                         channels=(32, 64, 128, 256, 256, 256)), {}, {}),
    # The compact network with half its channels at full resolution, the costliest
    # stage in memory traffic (96x96 activations).
    'compact_thin_top': (dataclasses.replace(RECIPE, members=1,
                                             channels=(8, 32, 64, 128, 256, 256)), {}, {}),
    # Depthwise-separable convolutions (as in MobileNet): the compact network's
    # channels, and the recipe's in one network.
    'separable': (dataclasses.replace(COMPACT, separable=True), {}, {}),
    'separable_wide': (dataclasses.replace(RECIPE, members=1, separable=True), {}, {}),
    'seven_stages': (dataclasses.replace(DENSE, members=1, channels=DENSE.channels + (512,)),
                     {}, {}),
}


def fewer_groups(fraction):
    """A split for train_improved(split=...) that trains on that fraction of
    the training rows' near-duplicate groups (a fixed draw), validating on
    the same groups as ever: a point of the learning curve."""
    def split(X, y, path):
        train_rows, valid_rows = validation_split(X, y, path)
        groups = splits.near_duplicate_groups(X[train_rows])
        ids = np.unique(groups)
        np.random.default_rng(777).shuffle(ids)
        keep = np.isin(groups, ids[:max(1, int(round(fraction * len(ids))))])
        return train_rows[keep], valid_rows
    return split


def teachers_mean(teachers, X, flag):
    """The mean prediction (pixels, unclipped) of improved-recipe model folders on X."""
    predicted = []
    for d in teachers:
        with Predictor(d) as p:
            if p.recipe != 'improved':
                sys.exit('{}: {} is not a model of the improved recipe, which alone keeps its '
                         'validation groups out of training.'.format(flag, d))
            predicted.append(p.predict(X, clip=False))
    return np.mean(predicted, axis=0)


def taught(data_dir, teachers, all_rows=False):
    """data_dir's (X, y) for train_improved(data=...), with the missing
    keypoints of its training rows (never of its validation groups, but
    with all_rows) filled in by the teachers' mean prediction, so that every
    training face has all 30."""
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    train_rows = np.arange(len(X)) if all_rows else validation_split(X, y, data_dir)[0]
    filled = units.scale_keypoints(teachers_mean(teachers, X[train_rows], '--teachers'))
    y = y.copy()
    y[train_rows] = np.where(np.isnan(y[train_rows]), filled, y[train_rows])
    return X, y


def pseudo_labelled(data_dir, teachers):
    """(data, split) for train_improved(data=..., split=...): data_dir's rows,
    then a copy of every row of its held-out groups labelled with all 30
    keypoints by the teachers' mean prediction, their own labels unused.
    The split trains on the training rows and the copies and validates on the
    held-out groups' complete rows, as ever: self-training on the unlabelled
    faces of the people it is scored on, as --pseudo-labels would do with a
    test set's faces."""
    X, y = data.input_data(data_dir=data_dir, dropna=False)
    train_rows, valid_rows = validation_split(X, y, data_dir)
    _, held = held_out_groups(X)
    labels = units.scale_keypoints(teachers_mean(teachers, X[held], '--pseudo-labels'))
    labels = labels.astype(np.float32)
    copies = len(X) + np.arange(len(held))

    def split(*_):
        return np.concatenate([train_rows, copies]), valid_rows
    return (np.concatenate([X, X[held]]), np.concatenate([y, labels])), split


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
    ap.add_argument('--all-rows', action='store_true',
                    help='train on the validation groups too (run_train.py --all-rows): a '
                         'final model, whose validation figure means nothing')
    ap.add_argument('--teachers', nargs='+', metavar='RUN',
                    help='train on the training rows (every row with --all-rows) with their '
                         'missing keypoints filled in by the mean prediction of these '
                         'improved-recipe model folders, trained on the same data '
                         '(distillation)')
    ap.add_argument('--pseudo-labels', nargs='+', metavar='RUN',
                    help='train also on the held-out groups\' faces, labelled by the mean '
                         'prediction of these improved-recipe model folders (self-training)')
    ap.add_argument('--train-groups', type=float, metavar='F',
                    help='train on this fraction (0-1] of the training groups only, a '
                         'point of the learning curve')
    ap.add_argument('--evaluate', nargs='+', metavar='RUN',
                    help='score these model folders again, alone and as an ensemble')
    args = ap.parse_args()
    if args.evaluate:
        if args.teachers or args.pseudo_labels or args.train_groups is not None or \
                args.all_rows:
            ap.error('--teachers, --pseudo-labels, --train-groups and --all-rows train; '
                     '--evaluate only scores')
        return evaluate(args.data_dir, args.evaluate)
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        ap.error('unknown variant(s) {}; choose from {}'.format(', '.join(unknown),
                                                                ', '.join(VARIANTS)))
    if args.all_rows and (args.pseudo_labels or args.train_groups is not None):
        ap.error('--all-rows trains on every row: --pseudo-labels and --train-groups change '
                 'which rows train')
    varied = {}
    if args.teachers:
        varied['data'] = taught(args.data_dir, args.teachers, args.all_rows)
    if args.pseudo_labels:
        varied['data'], varied['split'] = pseudo_labelled(args.data_dir, args.pseudo_labels)
    if args.train_groups is not None:
        if not 0 < args.train_groups <= 1:
            ap.error('--train-groups must be more than 0 and at most 1')
        varied['split'] = fewer_groups(args.train_groups)
    keep = args.keep or tempfile.mkdtemp(prefix='fkp-ablations-')
    X, truth = validation_rows(args.data_dir)
    print('improved-recipe ablations on {}: {} epochs, seed {}, {}; models in {}'.format(
        args.data_dir, args.epochs, args.seed,
        'bfloat16' if args.bf16 and cpu_has_bf16() else 'float32', keep))
    tag = ('-taught' if args.teachers else '') + ('-pseudo' if args.pseudo_labels else '') + (
        '-groups{:g}'.format(args.train_groups) if args.train_groups is not None else '') + (
        '-all' if args.all_rows else '')
    for name in args.variants or list(VARIANTS):
        model_dir = os.path.join(keep, '{}{}-e{}-s{}{}'.format(
            name, tag, args.epochs, args.seed, '' if args.bf16 else '-f32'))
        options, settings, parts = VARIANTS[name]
        patience = {} if args.all_rows else dict(patience=args.epochs)
        cfg = TrainConfig(data_dir=args.data_dir, model_dir=model_dir, recipe='improved',
                          epochs=args.epochs, seed=args.seed, bf16=args.bf16 or None,
                          all_rows=args.all_rows, quiet=True, options=options,
                          **patience, **settings)
        r = train_improved(cfg, log=lambda *a: None, **dict(varied, **parts))
        with Predictor(model_dir) as p:
            predicted = rmse(p.predict(X), truth)
        print('{:16s} best validation {:.4f} px at epoch {:3d}; predicted {:.4f} px; {:5.0f} s'
              .format(name + tag,
                      r['best_validation_rmse_px'], r['best_epoch'], predicted,
                      r['seconds']), flush=True)


if __name__ == '__main__':
    main()
