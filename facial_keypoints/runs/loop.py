"""Plain helpers both training loops (train.py, improved/train.py) share: batched
evaluation and prediction, the mean-face baseline, the rows check.

What the loops add to the post's has a module each: the model folder and its
lock (runs/lock.py), checkpoints (runs/checkpoints.py), the training state and
--resume (runs/state.py), history.json and TensorBoard (runs/history.py),
Ctrl-C (runs/interrupt.py), the progress bar (runs/progress.py), the result
and pictures (runs/result.py).
"""

import numpy as np

from ..constants import NUM_OUTPUTS
from .errors import UserError


def evaluate(sess, rmse, feed, batch_size):
    """The RMSE tensor over all rows of feed (x and y_ arrays), computed
    batch_size rows at a time so memory stays bounded: the same value as one
    pass over every row (the post's rmse.eval), in the loss's units."""
    n = len(next(iter(feed.values())))
    total = 0.0
    for j in range(0, n, batch_size):
        part = {k: v[j:j + batch_size] for k, v in feed.items()}
        total += float(sess.run(rmse, part)) ** 2 * len(next(iter(part.values())))
    return float(np.sqrt(total / max(n, 1)))


def keypoints_in_batches(sess, y_conv, x, X, batch_size):
    """y_conv for images X [N, 96, 96, 1], batch_size at a time: float32 [N, 30]
    in y_conv's units."""
    out = [sess.run(y_conv, {x: X[j:j + batch_size]}) for j in range(0, len(X), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, NUM_OUTPUTS), np.float32)


def rmse_of(predicted, y):
    """RMSE over the values y has (NaN: missing), in float64, in y's units."""
    return float(np.sqrt(np.nanmean(np.square(predicted - y, dtype=np.float64))))


def mean_face_rmse(y_train, y_valid):
    """RMSE (units of y) of predicting the training rows' mean face for every
    validation row: what a network that learned nothing scores."""
    return rmse_of(np.nanmean(y_train, axis=0), y_valid)


def require_rows(n_train, n_valid, path, rows, split):
    """A UserError unless both sides of the split have rows. rows: what the
    usable rows are; split: what divides them."""
    if n_train + n_valid == 0:
        raise UserError('{} has no {}.'.format(path, rows))
    if n_train < 1 or n_valid < 1:
        raise UserError('{} has {} {}, too few for {} ({} to train on, {} to validate).'.format(
            path, n_train + n_valid, rows, split, n_train, n_valid))


def epoch_log(log, quiet):
    """What prints a run's epochs: log, or nothing with --quiet (its warnings
    and the final summary still go to log)."""
    return (lambda *a: None) if quiet else log
