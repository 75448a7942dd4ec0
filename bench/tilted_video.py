"""Video of a turning photo: frames per second, and how often each face is kept.

    python bench/tilted_video.py --model-dir MODEL --photo PHOTO.jpg [--faces N] [--width W]

Makes a clip of 100 frames at 25 frames/s (mp4) from one photo turning
steadily from -45 to +45 degrees about its centre (a canvas that holds it
at every angle, black corners), annotates it as run_predict.py --video
does (the photo first shrunk to W pixels wide), and prints the frames per
second and, for each tenth of the clip (its angles), the share of frames in
which N faces were drawn, and how far their keypoints lie from the upright
photo's (run_predict.py --image's, turned the same way), in percent of the
face's width (mean over keypoints, faces and frames).
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from facial_keypoints.faces import align, detect, photo, video  # noqa: E402
from facial_keypoints.constants import KEYPOINT_COLUMNS  # noqa: E402
from facial_keypoints.serving.predictor import Predictor  # noqa: E402
from tilted_photos import forward, move  # noqa: E402
from facial_keypoints.faces.detect import cv2_or_error  # noqa: E402

FRAMES, FPS, TURN = 100, 25, 45.0


def make_clip(path, img):
    """Writes the clip; returns, for each frame, the 2x3 map from the upright
    canvas's coordinates to the frame's, and the canvas."""
    cv2 = cv2_or_error()
    h, w = img.shape[:2]
    side = int(np.ceil(np.hypot(h, w)))
    canvas = np.zeros((side, side, 3), np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    canvas[y0:y0 + h, x0:x0 + w] = img
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (side, side))
    maps = []
    for angle in np.linspace(-TURN, TURN, FRAMES):
        turned, back = align.turn_image(canvas, -angle, border=0)
        dy, dx = (turned.shape[0] - side) // 2, (turned.shape[1] - side) // 2
        writer.write(turned[dy:dy + side, dx:dx + side])
        maps.append(forward(back) - np.array([[0, 0, dx], [0, 0, dy]]))
    writer.release()
    return maps, canvas


def distances(table, maps, boxes, upright):
    """[frames] of the mean keypoint distance (% of face width) of the faces
    drawn in each frame from the upright photo's faces turned with it."""
    out = []
    for k, M in enumerate(maps):
        drawn = table[table.frame == k][KEYPOINT_COLUMNS].to_numpy()
        d = []
        for (x, y, w, h), points in zip(boxes, upright):
            ref = move(points, M).reshape(-1, 2)
            for pts in drawn:
                pts = pts.reshape(-1, 2)
                if np.linalg.norm(pts.mean(0) - ref.mean(0)) < w / 3:
                    d.append(100 * np.linalg.norm(pts - ref, axis=1).mean() / w)
        out.append(np.mean(d) if d else np.nan)
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model-dir', required=True)
    ap.add_argument('--photo', required=True)
    ap.add_argument('--faces', type=int, default=2)
    ap.add_argument('--width', type=int, default=640)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='fkp-turning-')
    clip = os.path.join(tmp, 'turning.mp4')
    img = photo.read_photo(args.photo)
    scale = min(1.0, args.width / img.shape[1])
    maps, canvas = make_clip(clip, cv2_or_error().resize(img, None, fx=scale, fy=scale,
                                                         interpolation=cv2_or_error().INTER_AREA))
    out = os.path.join(tmp, 'out.mp4')
    start = time.perf_counter()
    video.annotate_video(clip, args.model_dir, out, log=lambda *a: None)
    seconds = time.perf_counter() - start
    table = pd.read_csv(out[:-4] + '.csv')
    faces = table.groupby('frame').size().reindex(range(FRAMES), fill_value=0).to_numpy()
    with Predictor(args.model_dir) as predictor:
        boxes, upright = photo.find_keypoints(canvas, predictor, detect.Detector('dlib'))
    gap = distances(table, maps, boxes, upright)
    print('{:.1f} frames/s (the whole run, model loading included)'.format(FRAMES / seconds))
    for k in range(10):
        part = faces[k * 10:(k + 1) * 10]
        angles = np.linspace(-TURN, TURN, FRAMES)[[k * 10, k * 10 + 9]]
        print('{:+5.0f}..{:+3.0f} degrees: {:3.0f}% of frames with {} faces, keypoints '
              '{:.1f}% of the face width from the upright photo\'s'.format(
                  angles[0], angles[1], 100 * np.mean(part == args.faces), args.faces,
                  np.nanmean(gap[k * 10:(k + 1) * 10])))


if __name__ == '__main__':
    main()
