"""Ablations of the improved recipe: what each of its changes buys (issue #3).

    python bench/ablations.py --epochs 20                  # all variants
    python bench/ablations.py --epochs 20 no_flips no_shifts

Each variant is the improved recipe with one thing taken away, trained with
the same seed, the same validation groups and the same number of epochs (the
cosine schedule is squeezed into them), then scored like training scores
(validation RMSE in pixels, complete rows of unseen near-duplicate groups).
Data: ../shared/data/faces15 unless --data-dir says otherwise. Runs one after
another; about 7 minutes per variant at 20 epochs on 2 CPU cores.
"""

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from facial_keypoints import augment, improved, model  # noqa: E402
from facial_keypoints.train import TrainConfig, train  # noqa: E402


def without(part):
    """The improved recipe with one part of augment_batch switched off."""
    class Variant(improved.ImprovedRecipe):
        def augment(self, X, y, rng):
            X, y, flipped = augment.augment_batch(X, y, rng, **{part: False})
            return X, y, {self.flipped: flipped}
    return Variant


class NoLabelOffset(improved.ImprovedRecipe):
    """Flipped targets mirrored at 95 - x with no learned correction."""
    def loss(self, y_conv, y_):
        super().loss(y_conv, y_)            # keeps the flipped placeholder the feed uses
        return improved.masked_rmse(y_conv, y_)


class NoCentring(improved.ImprovedRecipe):
    """The net's output is the keypoints themselves (mean_face stays 0.5)."""
    def initialize(self, sess, X_train, y_train):
        pass


class ConstantRate(improved.ImprovedRecipe):
    def learning_rate(self, base_rate, epoch, epochs):
        return base_rate


class CompleteRowsOnly(improved.ImprovedRecipe):
    """Trained on complete rows only, as the post's dropna() would."""
    def split(self, X, y, validation_size, seed):
        train_rows, valid_rows = super().split(X, y, validation_size, seed)
        return train_rows[~np.isnan(y[train_rows]).any(axis=1)], valid_rows


class BlogNet(improved.ImprovedRecipe):
    """The post's network (no batch norm, no centring) with everything else."""
    def inference(self, x, keep_prob, training, dropout_seed=None):
        return model.inference(x, keep_prob, dropout_seed)

    def initialize(self, sess, X_train, y_train):
        pass


VARIANTS = {'improved': improved.ImprovedRecipe, 'no_flips': without('flips'),
            'no_shifts': without('shifts'), 'no_lighting': without('lighting'),
            'no_label_offset': NoLabelOffset,
            'no_centring': NoCentring, 'constant_rate': ConstantRate,
            'complete_rows_only': CompleteRowsOnly, 'blog_net': BlogNet}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('variants', nargs='*',
                    help='which to run (default: all): ' + ', '.join(VARIANTS))
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--data-dir', default=os.path.join(ROOT, '..', 'shared', 'data', 'faces15'))
    args = ap.parse_args()
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        ap.error('unknown variant(s) {}; choose from {}'.format(
            ', '.join(unknown), ', '.join(VARIANTS)))
    tmp = tempfile.mkdtemp(prefix='fkp-ablations-')
    print('improved-recipe ablations on {}: {} epochs, seed {}'.format(
        args.data_dir, args.epochs, args.seed))
    for name in args.variants or list(VARIANTS):
        cfg = TrainConfig(data_dir=args.data_dir, model_dir=os.path.join(tmp, name),
                          recipe='improved', epochs=args.epochs, patience=args.epochs,
                          seed=args.seed, quiet=True)
        r = train(cfg, log=lambda *a: None, recipe=VARIANTS[name]())
        print('{:20s} best validation RMSE {:.4f} px at epoch {:2d}   {:5.0f} s'.format(
            name, r['best_validation_rmse_px'], r['best_epoch'], r['seconds']), flush=True)


if __name__ == '__main__':
    main()
