"""Tilted photos: faces found, false boxes, keypoints against the upright photo's.

    python bench/tilted_photos.py --model-dir MODEL --photos DIR [--pictures OUT]

Each of the_beatles.jpg, obamas.jpg and mona_lisa.jpg (faces marked by hand,
as in bench/detectors.py) is turned by 0, +-15, +-30 and +-45 degrees (on a
canvas that holds all of it, black corners) and annotated as run_predict.py
--image does. A marked face is found when a face's centre lies within a third
of its width of the marked centre (turned with the photo) and its width is
within a factor 1.5; any other face is a false box. The keypoint distance is
how far each keypoint lies from the upright photo's keypoint turned the same
way, in percent of the marked face's width (mean over the 15 keypoints and
the faces found; the worst face's mean in brackets). Time: seconds of
find_keypoints (detection and prediction) per face found.
--pictures writes each turned photo with its turned frames and keypoints.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from facial_keypoints.faces import align, detect, photo  # noqa: E402
from facial_keypoints.serving.predictor import Predictor  # noqa: E402
from detectors import TRUE_FACES  # noqa: E402  (bench/detectors.py: faces marked by hand)

ANGLES = (0, -15, 15, -30, 30, -45, 45)


def forward(back):
    """The photo -> turned copy map of turn_image's copy -> photo map."""
    R = back[:, :2].T
    return np.hstack([R, (-R @ back[:, 2])[:, None]])


def move(points, M):
    """Points (x, y, x, y, ...) in continuous coordinates through a 2x3 map;
    keypoints are pixel indices, so half a pixel on and off."""
    xy = np.asarray(points, float).reshape(-1, 2) + 0.5
    return (xy @ M[:, :2].T + M[:, 2] - 0.5).reshape(np.shape(points))


def draw_faces(img, faces, points):
    cv2 = detect.cv2_or_error()
    out = img.copy()
    for face, pts in zip(faces, points):
        A = align.crop_matrix(face)
        edge = np.array([[-0.5, -0.5], [95.5, -0.5], [95.5, 95.5], [-0.5, 95.5]])
        corners = edge @ A[:, :2].T + A[:, 2]
        cv2.polylines(out, [np.round(corners).astype(np.int32)], True, (0, 200, 0),
                      max(1, round(max(img.shape[:2]) / 400)))
        for px, py in pts.reshape(-1, 2):
            cv2.circle(out, (int(round(px)), int(round(py))), max(2, round(face[2] / 50)),
                       (0, 0, 255), -1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model-dir', required=True)
    ap.add_argument('--photos', required=True)
    ap.add_argument('--pictures', help='folder for the turned photos, annotated')
    args = ap.parse_args()
    cv2 = detect.cv2_or_error()
    detector = detect.Detector('dlib')
    rows = {}
    with Predictor(args.model_dir) as predictor:
        for name, truth in TRUE_FACES.items():
            img = photo.read_photo(os.path.join(args.photos, name))
            upright = None
            for angle in ANGLES:
                turned, back = align.turn_image(img, -angle, border=0)
                M = forward(back)
                gray = cv2.cvtColor(turned, cv2.COLOR_BGR2GRAY)
                start = time.perf_counter()
                faces = align.find_faces(gray, detector)
                points, faces = align.face_keypoints(gray, faces, predictor)
                seconds = time.perf_counter() - start
                matched, dist = [], []
                for k, (x, y, w, h) in enumerate(truth):
                    centre = move([x + w / 2 - 0.5, y + h / 2 - 0.5], M)
                    near = [i for i, f in enumerate(faces)
                            if np.hypot(f[0] - 0.5 - centre[0], f[1] - 0.5 - centre[1]) < w / 3
                            and 1 / 1.5 < f[2] / detector.frame[2] / w < 1.5]
                    matched += near[:1]
                    if near and upright is not None and upright[k] is not None:
                        gap = points[near[0]].reshape(-1, 2) - move(upright[k], M).reshape(-1, 2)
                        dist.append(100 * np.linalg.norm(gap, axis=1).mean() / w)
                if angle == 0:
                    upright = [None] * len(truth)
                    for k, (x, y, w, h) in enumerate(truth):
                        centre = np.array([x + w / 2, y + h / 2])
                        near = [i for i, f in enumerate(faces)
                                if np.hypot(f[0] - centre[0], f[1] - centre[1]) < w / 3]
                        upright[k] = points[near[0]] if near else None
                rows[name, angle] = (len(set(matched)), len(truth), len(faces) - len(set(matched)),
                                     dist, seconds / max(1, len(faces)))
                if args.pictures:
                    os.makedirs(args.pictures, exist_ok=True)
                    cv2.imwrite(os.path.join(args.pictures, '{}_{:+d}.jpg'.format(
                        name[:-4], angle)), draw_faces(turned, faces, points))
    print('| turned | ' + ' | '.join(TRUE_FACES) + ' |')
    print('| --- |' + ' --- |' * len(TRUE_FACES))
    for angle in ANGLES:
        cells = []
        for name in TRUE_FACES:
            found, there, false, dist, per_face = rows[name, angle]
            cells.append('{}/{} found, {} false, {}, {:.0f} ms/face'.format(
                found, there, false, '{:.1f}% ({:.1f}%)'.format(np.mean(dist), np.max(dist))
                if dist else '-', 1000 * per_face))
        print('| {:+d}° | {} |'.format(angle, ' | '.join(cells)))


if __name__ == '__main__':
    main()
