"""Batch augmentation for the improved recipe: flips, shifts, lighting. numpy only.

Units as everywhere: images [N, 96, 96, 1] in [0, 1]; keypoints [N, 30] / 96
(NaN where missing, and it stays NaN).
"""

import numpy as np

from .constants import IMAGE_SIZE, KEYPOINT_COLUMNS, keypoint_index

# The subject's left and right: Kaggle's 15 points hold 6 such pairs (12
# columns swap); the nose tip and the two lip centres map to themselves.
FLIP_PAIRS = [('left_eye_center', 'right_eye_center'),
              ('left_eye_inner_corner', 'right_eye_inner_corner'),
              ('left_eye_outer_corner', 'right_eye_outer_corner'),
              ('left_eyebrow_inner_end', 'right_eyebrow_inner_end'),
              ('left_eyebrow_outer_end', 'right_eyebrow_outer_end'),
              ('mouth_left_corner', 'mouth_right_corner')]


def _flip_permutation():
    perm = np.arange(len(KEYPOINT_COLUMNS))
    for a, b in FLIP_PAIRS:
        for axis in ('_x', '_y'):
            i, j = keypoint_index[a + axis], keypoint_index[b + axis]
            perm[i], perm[j] = j, i
    return perm


FLIP_PERMUTATION = _flip_permutation()
MAX_SHIFT = 3             # pixels, each way; faces15/Kaggle faces sit near one framing


def flip_horizontal(X, y):
    """Mirror images and keypoints left-right.

    Pixel column i goes to column 95 - i, so a keypoint at pixel-index x goes
    to 95 - x (in /96 units: 95/96 - x), and each left point becomes the
    right one. Flipping twice gives back the input exactly.
    """
    return X[:, :, ::-1, :], flip_keypoints(y)


def flip_keypoints(y, mirror=IMAGE_SIZE - 1):
    """Keypoints [N, 30] (/96) of the mirrored faces: x goes to mirror - x
    (in pixels) and left and right swap. mirror 95 is the pixel-exact flip;
    labels that sit d pixels right of their pixels mirror at 95 + 2d."""
    yf = y[:, FLIP_PERMUTATION]
    yf[:, 0::2] = np.float32(mirror / IMAGE_SIZE) - yf[:, 0::2]
    return yf


def shift(X, y, dx, dy):
    """Move each image by whole pixels (dx[i], dy[i]), edges repeated; keypoints
    follow. The same as warp() without turn or scale, several times faster."""
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
    dy[i]) pixels; keypoints [N, 30] (/96) follow. Pixels are sampled
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
    px = y[:, 0::2] * IMAGE_SIZE - c
    py = y[:, 1::2] * IMAGE_SIZE - c
    cos, sin, s = cos[:, :, 0], sin[:, :, 0], s[:, :, 0]
    y = y.astype(np.float32)
    y[:, 0::2] = (c + s * (cos * px + sin * py) + np.asarray(dx)[:, None]) / IMAGE_SIZE
    y[:, 1::2] = (c + s * (-sin * px + cos * py) + np.asarray(dy)[:, None]) / IMAGE_SIZE
    return out, y


def augment_batch(X, y, rng, flips=True, shifts=True, lighting=True, rotation=0.0, zoom=0.0):
    """Flip half the batch at random, shift by up to MAX_SHIFT pixels and
    vary contrast and brightness; with rotation (degrees) and zoom (a
    fraction), also turn and scale each face by up to that much. Returns new
    arrays (X, y, flipped), flipped a bool [N] marking the mirrored rows; the
    inputs are not changed.

    flips, shifts, lighting: switch one part off (for ablations); the random
    draws stay the same, so the other parts do not change.
    """
    X = X.copy()
    y = y.copy()
    flip = (rng.random(len(X)) < 0.5) & flips
    if flip.any():
        X[flip], y[flip] = flip_horizontal(X[flip], y[flip])
    dx, dy = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, (2, len(X))) * shifts
    contrast = rng.uniform(0.8, 1.2, (len(X), 1, 1, 1)).astype(np.float32)
    brightness = rng.uniform(-0.1, 0.1, (len(X), 1, 1, 1)).astype(np.float32)
    angle = rng.uniform(-rotation, rotation, len(X)) if rotation else np.zeros(len(X))
    scale = 1 + (rng.uniform(-zoom, zoom, len(X)) if zoom else np.zeros(len(X)))
    if rotation or zoom:
        X, y = warp(X, y, angle, scale, dx, dy)
    elif shifts:
        X, y = shift(X, y, dx, dy)
    if lighting:
        mean = X.mean(axis=(1, 2, 3), keepdims=True)
        X = np.clip((X - mean) * contrast + mean + brightness, 0.0, 1.0)
    return X, y, flip
