"""Batch augmentation for the improved recipe: flips, shifts, lighting, on numpy
arrays, with the amounts of improved_settings.py.

Units as everywhere: images [N, 96, 96, 1] in [0, 1]; keypoints [N, 30] in
[0, 1] (NaN where missing, and it stays NaN).
"""

import numpy as np

from .constants import IMAGE_SIZE
from .improved_model import flip_keypoints
from .improved_settings import BRIGHTNESS, CONTRAST, FLIP_PROBABILITY, MAX_SHIFT, Options


def flip_horizontal(X, y):
    """Mirror images and keypoints left-right.

    Pixel column i goes to column 95 - i, so a keypoint at pixel-index x goes
    to 95 - x (in [0, 1] units: 95/96 - x), and each left point becomes the
    right one. Flipping twice gives back the input exactly.
    """
    return X[:, :, ::-1, :], flip_keypoints(y)


def shift(X, y, dx, dy):
    """Move each image by whole pixels (dx[i], dy[i]), at most MAX_SHIFT, edges
    repeated; keypoints follow."""
    m = MAX_SHIFT
    padded = np.pad(X, ((0, 0), (m, m), (m, m), (0, 0)), mode='edge')
    out = np.empty_like(X)
    for i in range(len(X)):
        top, left = m - dy[i], m - dx[i]
        out[i] = padded[i, top:top + IMAGE_SIZE, left:left + IMAGE_SIZE]
    y = y.copy()
    y[:, 0::2] += dx[:, None] / np.float32(IMAGE_SIZE)
    y[:, 1::2] += dy[:, None] / np.float32(IMAGE_SIZE)
    return out, y


def augment_batch(X, y, rng, options=Options(), move=None):
    """Flip faces at random (FLIP_PROBABILITY), shift them by up to MAX_SHIFT
    pixels and vary their contrast and brightness, the parts options switch
    on. Returns new arrays (X, y, flipped), flipped a bool [N] marking the
    mirrored rows; the inputs are not changed.

    The random draws are the same whichever parts are on, so switching one
    off changes nothing in the others. move: a function (X, y, dx, dy, rng)
    -> (X, y) that moves the faces instead of shift() (it may draw more).
    """
    X = X.copy()
    y = y.copy()
    flip = (rng.random(len(X)) < FLIP_PROBABILITY) & options.flips
    if flip.any():
        X[flip], y[flip] = flip_horizontal(X[flip], y[flip])
    dx, dy = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, (2, len(X))) * options.shifts
    contrast = rng.uniform(*CONTRAST, (len(X), 1, 1, 1)).astype(np.float32)
    brightness = rng.uniform(*BRIGHTNESS, (len(X), 1, 1, 1)).astype(np.float32)
    if move is not None:
        X, y = move(X, y, dx, dy, rng)
    elif options.shifts:
        X, y = shift(X, y, dx, dy)
    if options.lighting:
        mean = X.mean(axis=(1, 2, 3), keepdims=True)
        X = np.clip((X - mean) * contrast + mean + brightness, 0.0, 1.0)
    return X, y, flip
