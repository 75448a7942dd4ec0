"""The two units of the project, and the scaling between them, defined once,
side by side. numpy only; the functions also take TensorFlow tensors where
they are plain arithmetic.

- Images: the files hold pixels 0..255; networks take float32 in [0, 1]
  (the post's Image / 255.0), shaped [N, 96, 96, 1].
- Keypoints: the files hold pixel indices (0..96); networks take and give
  float32 in [0, 1] (the post's y / 96.0), shaped [N, 30]. An RMSE in those
  units scales the same way.
"""

import numpy as np

from .constants import IMAGE_SIZE, PIXEL_MAX

# pixel / 255.0 for each of the 256 values, as the post computes it (in float64), then
# float32: one table lookup per pixel instead of a conversion and a division.
_PIXEL_SCALE = (np.arange(256) / PIXEL_MAX).astype(np.float32)


def scale_images(pixels):
    """uint8 pixels 0..255, [N, 9216] or [N, 96, 96] -> float32 [N, 96, 96, 1] in [0, 1]."""
    return _PIXEL_SCALE[np.asarray(pixels, np.uint8)].reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)


def scale_keypoints(points):
    """Keypoints in pixels [N, 30] -> float32 in [0, 1]: the post's y / 96.0,
    divided in float64 as the post does, then float32 as its placeholder takes it."""
    return (np.asarray(points, np.float64) / IMAGE_SIZE).astype(np.float32)


def unscale_keypoints(y):
    """Keypoints (or an RMSE) in [0, 1] units -> pixels: the post's y_pred * 96.
    A float32 array stays float32; a tensor stays a tensor; a float a float."""
    return y * float(IMAGE_SIZE)
