"""Tilted faces in photos and video: finding them, and cropping them upright.

A face is a turned frame (cx, cy, size, angle): the square of Kaggle's 96x96
framing, centred at (cx, cy) and size pixels wide, turned by angle degrees
(clockwise on screen: image y points down). Coordinates are continuous
photo coordinates, pixel k spanning [k, k + 1], as the detectors' boxes are.

crop_matrix() maps crop pixels to photo pixels; crop() cuts the upright 96x96
face from the photo in one warpAffine; to_photo() and to_crop() map
keypoints between the two exactly. find_faces() runs the detector on turned
copies of the photo too and merges what it finds; face_keypoints() predicts
on the upright crops, levelling the eyes with one second pass.
"""

import numpy as np

from ..constants import IMAGE_SIZE, KEYPOINT_COLUMNS
from ..units import scale_images
from .detect import cv2_or_error, shrunk

TURNS = (0.0, -30.0, 30.0)   # the detector looks at the photo turned by these (degrees)
LEVEL_BEYOND = 8.0           # a face whose eye line is tilted more is predicted again, levelled
SAME_FACE = 0.5              # detections closer than this many face widths are one face


def rotation(angle):
    """2x2 matrix turning vectors by angle degrees (clockwise on screen)."""
    a = np.deg2rad(angle)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def turned_frame(box, angle, frame):
    """The turned frame (cx, cy, size, angle) of a face whose detector box
    (x, y, w, h) was found on the photo turned so that the face is upright,
    mapped back: the box is turned by angle about its own centre.
    frame: the detector's (left, top, size), see detect.FRAMES."""
    x, y, w, h = (float(v) for v in box)
    left, top, size = frame
    offset = np.array([(left + size / 2) * w - w / 2, (top + size / 2) * w - h / 2])
    cx, cy = np.array([x + w / 2, y + h / 2]) + rotation(angle) @ offset
    return cx, cy, size * w, float(angle)


def crop_matrix(face, pixels=IMAGE_SIZE):
    """2x3 matrix A: crop pixel (i, j) of the 96x96 crop (pixels x pixels) ->
    photo pixel A @ (i, j, 1).

    Pixel indices: crop pixel i's centre lies (i + 0.5) * size / pixels from
    the frame's edge; photo pixel k's centre is photo coordinate k + 0.5.
    """
    cx, cy, size, angle = face
    s = size / pixels
    R = rotation(angle)
    t = np.array([cx, cy]) - 0.5 + R @ np.full(2, 0.5 * s - size / 2)
    return np.hstack([s * R, t[:, None]])


def to_photo(points, face):
    """Keypoints in the crop's pixels [.., 30] -> photo pixels [.., 30]."""
    A = crop_matrix(face)
    xy = np.asarray(points, np.float64).reshape(np.shape(points)[:-1] + (-1, 2))
    return (xy @ A[:, :2].T + A[:, 2]).reshape(np.shape(points))


def to_crop(points, face):
    """Photo pixels [.., 30] -> the crop's pixels [.., 30] (to_photo's inverse)."""
    A = crop_matrix(face)
    xy = np.asarray(points, np.float64).reshape(np.shape(points)[:-1] + (-1, 2))
    return ((xy - A[:, 2]) @ np.linalg.inv(A[:, :2]).T).reshape(np.shape(points))


def crop(gray, face, pixels=IMAGE_SIZE):
    """The upright grayscale uint8 [96, 96] face (edges repeated past the photo);
    [pixels, pixels] for another size.

    A face more than twice the crop's size is first shrunk by whole blocks
    (INTER_AREA) so it does not alias; only the part of the photo under the
    turned frame is shrunk.
    """
    cv2 = cv2_or_error()
    A = crop_matrix(face, pixels)
    f = max(1, int(face[2] / pixels))
    if f > 1:
        # The frame's corners in photo coordinates; the blocks start at a whole
        # number of blocks from its top left.
        edge = np.array([-0.5, pixels - 0.5])
        corners = np.stack(np.meshgrid(edge, edge, [1.0]), -1).reshape(-1, 3) @ A.T + 0.5
        h, w = gray.shape
        x0, y0 = (int(np.floor(v + 1e-9)) - 2 * f for v in corners.min(0))
        x0, y0 = (v % f if v < 0 else v for v in (x0, y0))
        x1, y1 = (min(n, int(np.ceil(v)) + 2 * f) for n, v in zip((w, h), corners.max(0)))
        if x1 - x0 >= f and y1 - y0 >= f:
            sub = gray[y0:y0 + (y1 - y0) // f * f, x0:x0 + (x1 - x0) // f * f]
            gray = cv2.resize(sub, (sub.shape[1] // f, sub.shape[0] // f),
                              interpolation=cv2.INTER_AREA)
            # shrunk pixel q covers photo pixels x0 + q*f .. x0 + q*f + f-1
            A = (A - np.array([[0, 0, x0 + (f - 1) / 2], [0, 0, y0 + (f - 1) / 2]])) / f
    return cv2.warpAffine(gray, A, (pixels, pixels),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def eye_tilt(points):
    """Degrees by which the eye line of crop keypoints [30] is turned
    (clockwise on screen); the subject's left eye is on the picture's right."""
    left = np.asarray(points[0:2], np.float64)      # left_eye_center x, y
    right = np.asarray(points[2:4], np.float64)     # right_eye_center x, y
    dx, dy = left - right
    return float(np.degrees(np.arctan2(dy, dx)))


def face_keypoints(gray, faces, predictor, level=True):
    """(keypoints in photo pixels [K, 30], the faces as predicted on [K]).

    faces: turned frames. Each face is cropped upright and predicted; with
    level, a face whose predicted eye line is tilted more than LEVEL_BEYOND
    degrees is cropped again turned by that much, and predicted once more.
    """
    faces = [tuple(float(v) for v in f) for f in faces]
    if not faces:
        return np.zeros((0, len(KEYPOINT_COLUMNS))), []
    pred = predictor.predict(scale_images(np.stack([crop(gray, f) for f in faces])))
    if level:
        again = [i for i, p in enumerate(pred) if abs(eye_tilt(p)) > LEVEL_BEYOND]
        if again:
            for i in again:
                faces[i] = faces[i][:3] + (faces[i][3] + eye_tilt(pred[i]),)
            pred = np.array(pred, np.float64)
            pred[again] = predictor.predict(scale_images(
                np.stack([crop(gray, faces[i]) for i in again])))
    return np.stack([to_photo(p, f) for p, f in zip(pred, faces)]), faces


def turn_image(image, angle, border=None):
    """(the photo turned by -angle on a canvas that holds all of it, 2x3
    matrix mapping the turned copy's coordinates back to the photo's).
    border: a gray level for the corners (default: the edges repeated)."""
    cv2 = cv2_or_error()
    h, w = image.shape[:2]
    R = rotation(angle)
    W, H = (int(np.ceil(v)) for v in np.abs(R) @ np.array([w, h]))
    centre, new_centre = np.array([w, h]) / 2, np.array([W, H]) / 2
    back = np.hstack([R, (centre - R @ new_centre)[:, None]])     # copy -> photo
    # warpAffine with WARP_INVERSE_MAP takes pixel indices: shift by half a pixel
    index = back.copy()
    index[:, 2] += R @ np.full(2, 0.5) - 0.5
    turned = cv2.warpAffine(image, index, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REPLICATE if border is None
                            else cv2.BORDER_CONSTANT, borderValue=(border or 0,) * 4)
    return turned, back


def find_faces(gray, detector, turns=TURNS):
    """Turned frames [(cx, cy, size, angle)] of the faces in a grayscale photo,
    largest first.

    A detect.Detector looks at the photo (shrunk as it does) turned by each of
    turns too; the face found twice is kept where it scored best. Any other
    callable gray -> boxes with a .frame (tests pass fixed boxes) gives
    upright faces.
    """
    if not hasattr(detector, 'scored'):
        boxes = np.asarray(detector(gray), float).reshape(-1, 4)
        return [turned_frame(b, 0.0, detector.frame) for b in boxes]
    return merge(scored_faces(gray, detector, turns))


def scored_faces(gray, detector, turns=TURNS):
    """[(score, turned frame)] of every face a detect.Detector finds on the
    photo turned by each of turns (find_faces() before merging)."""
    small, scale = shrunk(gray)
    found = []
    for angle in turns:
        turned, back = turn_image(small, angle) if angle else (small, None)
        for box, score in zip(*detector.scored(turned)):
            face = turned_frame(box, angle, detector.frame)
            if back is not None:
                face = tuple(back[:, :2] @ face[:2] + back[:, 2]) + face[2:]
            found.append((score, tuple(np.array(face) / [scale, scale, scale, 1])))
    return found


def merge(found, first=()):
    """[(score, face)] -> the faces, one for each place (the best scoring),
    largest first; faces in first keep their places before any of found."""
    kept = list(first)
    for score, face in sorted(found, key=lambda f: -f[0]):
        if all(np.hypot(face[0] - k[0], face[1] - k[1]) > SAME_FACE * max(face[2], k[2])
               for k in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: -f[2])


def face_box(face, frame):
    """The detector box (x, y, w, h) of a turned frame as if it were upright
    (its centre and size; frame: the detector's (left, top, size))."""
    cx, cy, size, _ = face
    left, top, fsize = frame
    w = size / fsize
    return np.array([cx - (left + fsize / 2) * w, cy - (top + fsize / 2) * w, w, w])
