"""Batch augmentation for the improved recipe: flips, shifts, lighting and
turns, on numpy arrays, with the amounts of improved/settings.py.

Units as everywhere: images [N, 96, 96, 1] in [0, 1]; keypoints [N, 30] in
[0, 1] (NaN where missing, and it stays NaN).
"""

import numpy as np

from .. import units
from ..constants import IMAGE_SIZE
from .model import flip_keypoints
from .settings import (BRIGHTNESS, CONTRAST, FLIP_PROBABILITY, MAX_SHIFT, MAX_TURN,
                       TURN_PROBABILITY, Options)


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


def warp(X, y, angle, scale, dx, dy):
    """Turn each image by angle[i] degrees (counter-clockwise on screen) and
    scale it by scale[i] about the image centre, then move it by (dx[i],
    dy[i]) pixels; keypoints [N, 30] ([0, 1]) follow. Pixels are sampled
    bilinearly, edges repeated, so whole-pixel moves copy pixels exactly and
    angle 0, scale 1, no move gives the input back."""
    n = len(X)
    c = (IMAGE_SIZE - 1) / 2.0
    a = np.deg2rad(np.asarray(angle, np.float32))[:, None, None]
    s = np.asarray(scale, np.float32)[:, None, None]
    cos, sin = np.cos(a), np.sin(a)
    # Where each output pixel comes from: the inverse of the move, scale and turn.
    grid = np.arange(IMAGE_SIZE, dtype=np.float32) - np.float32(c)
    u = grid[None, None, :] - np.asarray(dx, np.float32)[:, None, None]
    v = grid[None, :, None] - np.asarray(dy, np.float32)[:, None, None]
    xs = c + (cos * u - sin * v) / s
    ys = c + (sin * u + cos * v) / s
    x0, y0 = np.floor(xs), np.floor(ys)
    wx, wy = xs - x0, ys - y0
    flat = X.reshape(-1)
    base = (np.arange(n) * IMAGE_SIZE * IMAGE_SIZE)[:, None, None]
    cols = [np.clip(x0 + k, 0, IMAGE_SIZE - 1).astype(np.int64) for k in (0, 1)]
    rows = [np.clip(y0 + k, 0, IMAGE_SIZE - 1).astype(np.int64) * IMAGE_SIZE + base
            for k in (0, 1)]
    top = flat[rows[0] + cols[0]] * (1 - wx) + flat[rows[0] + cols[1]] * wx
    bottom = flat[rows[1] + cols[0]] * (1 - wx) + flat[rows[1] + cols[1]] * wx
    out = (top * (1 - wy) + bottom * wy).astype(X.dtype).reshape(X.shape)
    px = units.unscale_keypoints(y[:, 0::2]) - c
    py = units.unscale_keypoints(y[:, 1::2]) - c
    cos, sin, s = cos[:, :, 0], sin[:, :, 0], s[:, :, 0]
    y = y.astype(np.float32)
    y[:, 0::2] = (c + s * (cos * px + sin * py) + np.asarray(dx)[:, None]) / IMAGE_SIZE
    y[:, 1::2] = (c + s * (-sin * px + cos * py) + np.asarray(dy)[:, None]) / IMAGE_SIZE
    return out, y


def augment_batch(X, y, rng, options=Options(), move=None):
    """Flip faces at random (FLIP_PROBABILITY), shift them by up to MAX_SHIFT
    pixels, vary their contrast and brightness, and turn some of them
    (TURN_PROBABILITY) by up to MAX_TURN degrees about the image centre, the
    parts options switch on. Returns new arrays (X, y, flipped), flipped a
    bool [N] marking the mirrored rows; the inputs are not changed.

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
    turn = (rng.random(len(X)) < TURN_PROBABILITY) & options.turns
    angle = rng.uniform(-MAX_TURN, MAX_TURN, len(X))
    if move is not None:
        X, y = move(X, y, dx, dy, rng)
    elif options.shifts:
        X, y = shift(X, y, dx, dy)
    if turn.any():
        n = int(turn.sum())
        X[turn], y[turn] = warp(X[turn], y[turn], angle[turn], np.ones(n), np.zeros(n),
                                np.zeros(n))
    if options.lighting:
        mean = X.mean(axis=(1, 2, 3), keepdims=True)
        X = np.clip((X - mean) * contrast + mean + brightness, 0.0, 1.0)
    return X, y, flip
