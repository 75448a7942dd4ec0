"""Where Kaggle's 96x96 framing of a face lies relative to each detector's box.

    python bench/frame.py --data-dir DIR      # DIR holds a Kaggle-format training.csv

Each 96x96 training face is enlarged 3 times, set in a canvas with its edges
repeated, and given to the detector; the frame (the enlarged 96x96 square)
is then expressed in units of the detector's box width. The medians are the
FRAMES in facial_keypoints/faces/detect.py.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from facial_keypoints import data  # noqa: E402
from facial_keypoints.faces import detect  # noqa: E402

ZOOM, PAD = 3, 96


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data-dir', required=True)
    ap.add_argument('--faces', type=int, default=400)
    args = ap.parse_args()
    cv2 = detect.cv2_or_error()
    X, _ = data.input_data(data_dir=args.data_dir, dropna=False)
    faces = (X[:args.faces, :, :, 0] * 255).round().astype(np.uint8)
    side = 96 * ZOOM
    for name in ('dlib', 'haar'):
        detector = detect.Detector(name)
        rows = []
        for face in faces:
            big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
            canvas = cv2.copyMakeBorder(big, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
            boxes = detector(canvas)
            if len(boxes):
                x, y, w, h = boxes[0]
                rows.append(((PAD - x) / w, (PAD - y) / w, side / w))
        rows = np.array(rows)
        left, top, size = np.median(rows, axis=0)
        print('{}: found {} of {} faces; frame (left, top, size) = ({:.3f}, {:.3f}, {:.3f}) '
              'box widths; spread (IQR) of size {:.3f}'.format(
                  name, len(rows), len(faces), left, top, size,
                  np.subtract(*np.percentile(rows[:, 2], [75, 25]))))


if __name__ == '__main__':
    main()
