"""Where a model's error lies, on the improved recipe's held-out groups,
upright and tilted.

    python bench/evaluate.py --data-dir DIR MODEL [MODEL ...]

For each model folder (or export), predicted as run_predict.py predicts:
- the RMSE on the held-out groups' complete rows (what training reports as
  validation) and on every labelled value of every held-out row (as Kaggle
  scores a submission: most rows have only 4 keypoints);
- the RMSE of each of the 15 keypoints;
- the RMSE by kind of row (complete or not), by head roll and yaw (from the
  labels) and by lighting (the face's mean gray and its contrast), in thirds;
- the same faces tilted: each turned by an angle drawn uniformly within
  +-15 (and +-30) degrees about the centre of its labelled keypoints, edges
  replicated, keypoints turned with it, scored on every labelled value.
Numbers are pixels of the 96x96 image.
"""

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from facial_keypoints import data, units  # noqa: E402
from facial_keypoints.constants import KEYPOINT_NAMES  # noqa: E402
from facial_keypoints.improved.train import held_out_groups  # noqa: E402
from facial_keypoints.serving.predictor import Predictor  # noqa: E402

TILTS = (15.0, 30.0)
TILT_SEED = 25


def rmse(pred, y):
    """RMSE over the values y has (NaN: missing), pixels."""
    return float(np.sqrt(np.nanmean(np.square(pred - y, dtype=np.float64))))


def point(y, name):
    """(x, y) columns [N, 2] of one keypoint, pixels."""
    i = KEYPOINT_NAMES.index(name)
    return y[:, 2 * i:2 * i + 2]


def pose(y):
    """(roll in degrees, yaw proxy) per row from the labels: the eye line's
    angle, and how far the nose tip sits from the eyes' midpoint, in eye
    distances (positive: towards the subject's left)."""
    left, right, nose = (point(y, n) for n in ('left_eye_center', 'right_eye_center',
                                                'nose_tip'))
    d = left - right
    roll = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    yaw = (nose[:, 0] - (left[:, 0] + right[:, 0]) / 2) / np.hypot(d[:, 0], d[:, 1])
    return roll, yaw


def thirds(values):
    """Row masks for the lower, middle and upper third of values."""
    lo, hi = np.nanpercentile(values, [100 / 3, 200 / 3])
    return [values <= lo, (values > lo) & (values <= hi), values > hi]


def tilt(X, y, max_degrees, seed=TILT_SEED):
    """X [N, 96, 96, 1] in [0, 1] and y pixels [N, 30], each face turned by
    an angle drawn uniformly in [-max_degrees, max_degrees] about the centre
    of its labelled keypoints (edges replicated); returns (X, y) turned."""
    import cv2
    angles = np.random.default_rng(seed).uniform(-max_degrees, max_degrees, len(X))
    Xt, yt = np.empty_like(X), np.empty_like(y)
    for k, (img, pts, angle) in enumerate(zip(X, y, angles)):
        xy = pts.reshape(-1, 2)
        centre = tuple(float(c) for c in np.nanmean(xy, axis=0))
        M = cv2.getRotationMatrix2D(centre, angle, 1.0)
        Xt[k, :, :, 0] = cv2.warpAffine(img[:, :, 0], M, (96, 96), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REPLICATE)
        yt[k] = (xy @ M[:, :2].T + M[:, 2]).reshape(-1)
    return Xt, yt


def report(name, pred, y, complete):
    """The tables for one set of faces: overall, per keypoint, by kind of row."""
    print('  {:<34} complete rows {:.4f} px ({} rows); every labelled value {:.4f} px '
          '({} rows)'.format(name, rmse(pred[complete], y[complete]), complete.sum(),
                             rmse(pred, y), len(y)))


def analyse(model_dir, X, y, complete):
    with Predictor(model_dir) as predictor:
        start = time.time()
        pred = predictor.predict(X)
        seconds = time.time() - start
        print('{}: {} faces in {:.1f} s'.format(model_dir, len(X), seconds))
        report('upright', pred, y, complete)
        for degrees in TILTS:
            Xt, yt = tilt(X, y, degrees)
            report('tilted up to +-{:g} degrees'.format(degrees), predictor.predict(Xt), yt,
                   complete)
    print('  per keypoint (every labelled value; complete rows):')
    for i, name in enumerate(KEYPOINT_NAMES):
        cols = slice(2 * i, 2 * i + 2)
        have = ~np.isnan(y[:, 2 * i])
        print('    {:<26} {:.3f} px ({:>4} rows)   {:.3f} px'.format(
            name, rmse(pred[have, cols], y[have, cols]), have.sum(),
            rmse(pred[complete, cols], y[complete, cols])))
    roll, yaw = pose(y)
    brightness = X.mean(axis=(1, 2, 3)) * 255
    contrast = X.std(axis=(1, 2, 3)) * 255
    print('  by thirds (every labelled value), low / middle / high:')
    for label, values in (('|roll| (degrees)', np.abs(roll)), ('|yaw| (eye distances)',
                                                               np.abs(yaw)),
                          ('mean gray (0-255)', brightness), ('contrast (std, 0-255)',
                                                             contrast)):
        masks = thirds(values)
        print('    {:<24} {}   (cuts at {})'.format(label, ' / '.join(
            '{:.3f}'.format(rmse(pred[m], y[m])) for m in masks), ', '.join(
            '{:.3g}'.format(c) for c in np.nanpercentile(values, [100 / 3, 200 / 3]))))
    print('    {:<24} {:.3f} (4-point rows, their 4 values) / {:.3f} (complete rows)'.format(
        'kind of row', rmse(pred[~complete], y[~complete]), rmse(pred[complete],
                                                                   y[complete])))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data-dir', required=True, help='folder holding training.csv')
    p.add_argument('models', nargs='+', help='model folders or exports')
    args = p.parse_args()
    X, y = data.input_data(data_dir=args.data_dir, dropna=False)
    _, rows = held_out_groups(X)
    X, y = X[rows], units.unscale_keypoints(y[rows])
    complete = ~np.isnan(y).any(axis=1)
    for model_dir in args.models:
        analyse(model_dir, X, y, complete)


if __name__ == '__main__':
    main()
