"""Face detectors for photos and video: dlib's HOG detector, or OpenCV's Haar cascade.

Both are optional extras (requirements-extra.txt). dlib's detector (the
dlib-bin wheel: no compiler, no model file) finds more of the faces people
photograph and fewer of the things that are not faces; OpenCV's Haar cascade
is the fallback where dlib is not installed. docs/detectors.md has the
measurements behind that choice.

A detector takes a grayscale photo (uint8 [H, W]) and returns int [K, 4]
boxes (x, y, w, h) in photo pixels, largest first. Each detector comes with
its own frame: where Kaggle's 96x96 framing of a face lies relative to the
detector's box (see FRAMES; align.turned_frame() applies it).
"""

import os

import numpy as np

from ..runs.errors import UserError

DETECTORS = ('auto', 'dlib', 'haar')
DETECT_MAX_SIDE = 800       # detect on a copy no larger than this (speed)

# Kaggle's 96x96 frame relative to each detector's box: (left, top, size) in
# box widths. Measured by running each detector on faces15's own 96x96
# training faces (bench/frame.py; medians).
FRAMES = {'dlib': (-0.094, -0.205, 1.286), 'haar': (-0.007, -0.014, 1.036)}

# Haar only: detections narrower than this fraction of the widest face are
# dropped (its false hits on texture are much smaller than the real faces),
# as are any under MIN_FACE_FRACTION of the photo's shorter side.
RELATIVE_MIN_FACE = 0.5
MIN_FACE_FRACTION = 0.04


def cv2_or_error():
    try:
        import cv2
    except ImportError:
        raise UserError('photos and video need OpenCV: pip install -r requirements-extra.txt '
                        '(opencv-python-headless 4.x).')
    return cv2


def dlib_or_none():
    try:
        import dlib
    except ImportError:
        return None
    return dlib


class Detector:
    """detector(gray) -> boxes int [K, 4]; .name; .frame (see FRAMES)."""

    def __init__(self, name='auto'):
        if name not in DETECTORS:
            raise UserError('unknown detector {!r}; choose from {}.'.format(
                name, ', '.join(DETECTORS)))
        if name == 'auto':
            name = 'dlib' if dlib_or_none() else 'haar'
        cv2 = cv2_or_error()
        if name == 'dlib':
            dlib = dlib_or_none()
            if dlib is None:
                raise UserError("--detector dlib needs dlib: pip install dlib-bin (or use "
                                "--detector haar).")
            self._hog = dlib.get_frontal_face_detector()
        else:
            if not hasattr(cv2, 'CascadeClassifier'):
                raise UserError('this OpenCV ({}) has no Haar cascade; install '
                                'opencv-python-headless 4.x.'.format(cv2.__version__))
            self._cascade = cv2.CascadeClassifier(os.path.join(
                cv2.data.haarcascades, 'haarcascade_frontalface_default.xml'))
        self.name, self.frame = name, FRAMES[name]

    def __call__(self, gray):
        cv2 = cv2_or_error()
        small, scale = shrunk(gray)
        boxes = self._dlib(small) if self.name == 'dlib' else self._haar(small, cv2)
        boxes = np.round(np.asarray(boxes, float).reshape(-1, 4) / scale).astype(int)
        return boxes[np.argsort(-boxes[:, 2], kind='stable')]

    def scored(self, small):
        """(boxes [(x, y, w, h)], scores) on a photo already shrunk; dlib's
        scores are its detection margins, the Haar cascade's are all 0."""
        if self.name == 'haar':
            boxes = self._haar(small, cv2_or_error())
            return [tuple(b) for b in boxes], [0.0] * len(boxes)
        found, scores, _ = self._hog.run(np.ascontiguousarray(small), 1, 0.0)
        return [(r.left(), r.top(), r.width(), r.height()) for r in found], list(scores)

    def _dlib(self, small):
        # Upsampled once, the HOG detector's 80-pixel window finds faces from
        # about 40 pixels wide.
        found = self._hog(np.ascontiguousarray(small), 1)
        return [(r.left(), r.top(), r.width(), r.height()) for r in found]

    def _haar(self, small, cv2):
        min_side = max(20, int(MIN_FACE_FRACTION * min(small.shape)))
        boxes = np.asarray(self._cascade.detectMultiScale(
            cv2.equalizeHist(small), scaleFactor=1.1, minNeighbors=5,
            minSize=(min_side, min_side)), float).reshape(-1, 4)
        if len(boxes):
            boxes = boxes[boxes[:, 2] >= RELATIVE_MIN_FACE * boxes[:, 2].max()]
        return boxes


def shrunk(gray):
    """(gray no larger than DETECT_MAX_SIDE, the scale applied). A side never
    shrinks below one pixel, so a photo thousands of times wider than tall
    (1 x 60000) is looked at too, rather than refused by OpenCV."""
    cv2 = cv2_or_error()
    h, w = gray.shape
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    if scale == 1:
        return gray, scale
    return cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA), scale


def iou(a, b):
    """Overlap of two (x, y, w, h) boxes: intersection over union, 0..1."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)
