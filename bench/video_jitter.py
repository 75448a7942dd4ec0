"""How steady video keypoints are, with and without smoothing.

    python bench/video_jitter.py --model-dir MODEL --photo PHOTO.jpg

Makes two clips from one photo, 100 frames at 25 frames/s, written as mp4 so
each frame also carries the codec's noise: a still one (sensor noise of 3
gray levels added to every frame) and a moving one (the photo pans 2 pixels
a frame to the right). Each is annotated twice, raw and smoothed. Jitter: the
mean movement of a keypoint from one frame to the next on the still clip
(ideally 0). Lag: on the moving clip, how far the smoothed keypoints trail
the raw ones along the motion (pixels; the motion is 2 pixels a frame). Speed: frames per second.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from facial_keypoints.faces import photo, video  # noqa: E402
from facial_keypoints.constants import KEYPOINT_COLUMNS  # noqa: E402
from facial_keypoints.faces.detect import cv2_or_error  # noqa: E402

FRAMES, FPS, PAN = 100, 25, 2


def make_clip(path, img, moving):
    cv2 = cv2_or_error()
    h, w = img.shape[:2]
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (w, h))
    for k in range(FRAMES):
        frame = img
        if moving:
            M = np.float32([[1, 0, PAN * k - PAN * FRAMES / 2], [0, 1, 0]])
            frame = cv2.warpAffine(img, M, (w, h), borderMode=cv2.BORDER_REPLICATE)
        noise = rng.normal(0, 3, frame.shape)
        writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
    writer.release()


def keypoints(table):
    """{face: array [frames, 15, 2]} of a video CSV."""
    df = pd.read_csv(table)
    return {f: g.sort_values('frame')[KEYPOINT_COLUMNS].to_numpy().reshape(len(g), 15, 2)
            for f, g in df.groupby('face') if len(g) == FRAMES}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model-dir', required=True)
    ap.add_argument('--photo', required=True)
    args = ap.parse_args()
    img = photo.read_photo(args.photo)
    tmp = tempfile.mkdtemp(prefix='fkp-jitter-')
    speed = []
    for moving in (False, True):
        clip = os.path.join(tmp, 'moving.mp4' if moving else 'still.mp4')
        make_clip(clip, img, moving)
        out = {}
        for smooth in (False, True):
            result = os.path.join(tmp, '{}-{}.mp4'.format(moving, smooth))
            start = time.perf_counter()
            video.annotate_video(clip, args.model_dir, result, smooth=smooth,
                                 log=lambda *a: None)
            speed.append(FRAMES / (time.perf_counter() - start))
            out[smooth] = keypoints(result[:-4] + '.csv')
        faces = sorted(set(out[False]) & set(out[True]))
        if not moving:
            for smooth in (False, True):
                steps = [np.linalg.norm(np.diff(out[smooth][f], axis=0), axis=2).mean()
                         for f in faces]
                print('still clip, {}: keypoints move {:.3f} px a frame on average ({} faces)'
                      .format('smoothed' if smooth else 'raw', np.mean(steps), len(faces)))
        else:
            lag = [(out[False][f][10:, :, 0] - out[True][f][10:, :, 0]).mean() for f in faces]
            print('moving clip ({} px a frame): the smoothed keypoints trail the raw ones by '
                  '{:.2f} px'.format(PAN, np.mean(lag)))
    print('{:.1f} frames/s (mean of the four runs, model loading included)'.format(
        np.mean(speed)))


if __name__ == '__main__':
    main()
