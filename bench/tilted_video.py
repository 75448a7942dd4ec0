"""Video of a turning photo: frames per second, and how often each face is kept.

    python bench/tilted_video.py --model-dir MODEL --photo PHOTO.jpg [--faces N] [--width W]

Makes a clip of 100 frames at 25 frames/s (mp4) from one photo turning
steadily from -45 to +45 degrees about its centre (a canvas that holds it
at every angle, black corners), annotates it as run_predict.py --video
does (the photo first shrunk to W pixels wide), and prints the frames per second and, for each tenth of the clip (its
angles), the share of frames in which N faces were drawn.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from facial_keypoints import align, photo, video  # noqa: E402
from facial_keypoints.detect import cv2_or_error  # noqa: E402

FRAMES, FPS, TURN = 100, 25, 45.0


def make_clip(path, img):
    cv2 = cv2_or_error()
    h, w = img.shape[:2]
    side = int(np.ceil(np.hypot(h, w)))
    canvas = np.zeros((side, side, 3), np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    canvas[y0:y0 + h, x0:x0 + w] = img
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (side, side))
    for angle in np.linspace(-TURN, TURN, FRAMES):
        turned, _ = align.turn_image(canvas, -angle, border=0)
        dy, dx = (turned.shape[0] - side) // 2, (turned.shape[1] - side) // 2
        writer.write(turned[dy:dy + side, dx:dx + side])
    writer.release()


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
    make_clip(clip, cv2_or_error().resize(img, None, fx=scale, fy=scale,
                                          interpolation=cv2_or_error().INTER_AREA))
    out = os.path.join(tmp, 'out.mp4')
    start = time.perf_counter()
    video.annotate_video(clip, args.model_dir, out, log=lambda *a: None)
    seconds = time.perf_counter() - start
    faces = pd.read_csv(out[:-4] + '.csv').groupby('frame').size().reindex(
        range(FRAMES), fill_value=0).to_numpy()
    print('{:.1f} frames/s (the whole run, model loading included)'.format(FRAMES / seconds))
    for k in range(10):
        part = faces[k * 10:(k + 1) * 10]
        angles = np.linspace(-TURN, TURN, FRAMES)[[k * 10, k * 10 + 9]]
        print('{:+5.0f}..{:+3.0f} degrees: {:3.0f}% of frames with {} faces'.format(
            angles[0], angles[1], 100 * np.mean(part == args.faces), args.faces))


if __name__ == '__main__':
    main()
