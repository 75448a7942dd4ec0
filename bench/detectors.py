"""Face detectors compared: real faces found, and faces found where there are none.

    python bench/detectors.py --photos DIR [--pictures OUT]

DIR holds the_beatles.jpg, obamas.jpg and mona_lisa.jpg, whose faces (marked
by hand, below) each detector should find, with nothing else. Then
scikit-image's sample pictures without a human face (pip install
scikit-image), where it should find nothing. A box counts as a face found
when it overlaps the marked face by at least half (intersection over union).
--pictures writes each photo with its boxes drawn, to look at.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from facial_keypoints.faces import detect, photo  # noqa: E402
from facial_keypoints.faces.detect import iou  # noqa: E402

TRUE_FACES = {
    'the_beatles.jpg': [(669, 705, 322, 322), (1478, 736, 269, 268), (2192, 766, 268, 268),
                        (2943, 761, 386, 386)],
    'obamas.jpg': [(184, 98, 156, 156), (373, 167, 156, 156)],
    'mona_lisa.jpg': [(55, 44, 52, 52)],
}
NO_FACE = ('brick', 'cat', 'cell', 'checkerboard', 'clock', 'coffee', 'coins', 'colorwheel',
           'grass', 'gravel', 'horse', 'hubble_deep_field', 'immunohistochemistry', 'logo',
           'microaneurysms', 'moon', 'page', 'retina', 'rocket', 'text')


def gray_of(image):
    cv2 = detect.cv2_or_error()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (255 * image / max(image.max(), 1)).astype(np.uint8)
    if image.ndim == 3:
        image = cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY)
    return image


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--photos', required=True)
    ap.add_argument('--pictures', help='folder for the photos with their boxes drawn')
    args = ap.parse_args()
    cv2 = detect.cv2_or_error()
    import skimage.data
    no_face = {n: gray_of(getattr(skimage.data, n)()) for n in NO_FACE}
    print('| detector | faces found (of {}) | false boxes on the photos | pictures without a '
          'face that got one (of {}) | seconds per photo |'.format(
              sum(map(len, TRUE_FACES.values())), len(no_face)))
    print('| --- | --- | --- | --- | --- |')
    for name in ('dlib', 'haar'):
        detector = detect.Detector(name)
        found = false = 0
        start = time.perf_counter()
        for file, truth in TRUE_FACES.items():
            img = photo.read_photo(os.path.join(args.photos, file))
            boxes = detector(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
            hits = [any(iou(t, b) >= 0.5 for b in boxes) for t in truth]
            found += sum(hits)
            false += sum(not any(iou(t, b) >= 0.5 for t in truth) for b in boxes)
            if args.pictures:
                os.makedirs(args.pictures, exist_ok=True)
                cv2.imwrite(os.path.join(args.pictures, '{}_{}'.format(name, file)),
                            photo.draw(img, boxes, np.zeros((len(boxes), 30)) - 10))
        seconds = (time.perf_counter() - start) / len(TRUE_FACES)
        fooled = sorted(n for n, g in no_face.items() if len(detector(g)))
        print('| {} | {} | {} | {}{} | {:.2f} |'.format(
            name, found, false, len(fooled), ' ({})'.format(', '.join(fooled)) if fooled else '',
            seconds))


if __name__ == '__main__':
    main()
