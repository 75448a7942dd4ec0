"""Keypoints on real photographs (the post's last paragraph, as a feature).

Needs the optional extra opencv-python-headless 4.x (requirements-extra.txt):
its Haar cascade finds frontal faces; each face is cropped to Kaggle's 96x96
framing, predicted, and mapped back to photo pixels.
"""

import os

import numpy as np

from .constants import IMAGE_SIZE, KEYPOINT_COLUMNS
from .data import scale_images
from .errors import UserError
from .fileio import atomic_write_bytes, atomic_write_text

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')

# Kaggle's 96x96 frame relative to the cascade's face box, measured by running
# the cascade on faces15's own 96x96 training faces (medians over 301 faces):
# the frame starts 1.3% of the box width left of the box and 1.8% above it,
# and is 1.024 box widths wide.
FRAME_LEFT, FRAME_TOP, FRAME_SIZE = -0.013, -0.018, 1.024
# Detections narrower than this fraction of the widest face are dropped (a
# cascade's false hits on texture are much smaller than the real faces), as
# are any under MIN_FACE_FRACTION of the photo's shorter side.
RELATIVE_MIN_FACE = 0.5
MIN_FACE_FRACTION = 0.04
DETECT_MAX_SIDE = 1024      # detect on a copy no larger than this (speed)


def cv2_or_error():
    try:
        import cv2
    except ImportError:
        raise UserError('predicting on photographs needs OpenCV: pip install -r '
                        'requirements-extra.txt (opencv-python-headless 4.x).')
    if not hasattr(cv2, 'CascadeClassifier'):
        raise UserError('this OpenCV ({}) has no CascadeClassifier; install '
                        'opencv-python-headless 4.x (pip install -r requirements-extra.txt).'
                        .format(cv2.__version__))
    return cv2


def read_photo(path):
    """BGR uint8 [H, W, 3]; a UserError if it is missing or not an image."""
    cv2 = cv2_or_error()
    if not os.path.isfile(path):
        raise UserError('{} does not exist.'.format(path))
    data = np.fromfile(path, np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise UserError('{} is not an image OpenCV can read.'.format(path))
    return img


def detect_faces(gray):
    """Frontal faces in a grayscale photo: int array [K, 4] of (x, y, w, h) in
    photo pixels, largest first, small spurious detections removed."""
    cv2 = cv2_or_error()
    h, w = gray.shape
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = cv2.resize(gray, (round(w * scale), round(h * scale)),
                       interpolation=cv2.INTER_AREA) if scale < 1 else gray
    cascade = cv2.CascadeClassifier(os.path.join(
        cv2.data.haarcascades, 'haarcascade_frontalface_default.xml'))
    min_side = max(20, int(MIN_FACE_FRACTION * min(small.shape)))
    found = cascade.detectMultiScale(cv2.equalizeHist(small), scaleFactor=1.1,
                                     minNeighbors=5, minSize=(min_side, min_side))
    boxes = np.round(np.asarray(found, float).reshape(-1, 4) / scale).astype(int)
    if len(boxes):
        boxes = boxes[np.argsort(-boxes[:, 2])]
        boxes = boxes[boxes[:, 2] >= RELATIVE_MIN_FACE * boxes[0, 2]]
    return boxes


def face_frame(box):
    """The square (x0, y0, size) in photo pixels that Kaggle's 96x96 framing
    of the face in box (x, y, w, h) covers."""
    x, y, w, h = box
    return x + FRAME_LEFT * w, y + FRAME_TOP * h, FRAME_SIZE * w


def crop_face(gray, frame):
    """Grayscale uint8 [96, 96] of the square frame (edges repeated past the photo).

    Pixel-index convention: crop pixel i samples photo coordinate
    x0 + (i + 0.5) * size / 96 - 0.5; to_photo() is its inverse.
    """
    cv2 = cv2_or_error()
    x0, y0, size = frame
    s = size / IMAGE_SIZE
    f = max(1, int(s))
    ax = ay = 0
    if f > 1:
        # Shrinking a big face: average f x f blocks first so it does not alias.
        # The blocks start at the frame's corner (ax, ay), so block k covers
        # photo pixels ax + k*f .. ax + k*f + f-1, centred at ax + k*f + (f-1)/2.
        ax, ay = int(np.floor(x0)) % f, int(np.floor(y0)) % f
        sub = gray[ay:, ax:]
        h, w = sub.shape
        gray = cv2.resize(sub[:h // f * f, :w // f * f], (w // f, h // f),
                          interpolation=cv2.INTER_AREA)
    # warpAffine with WARP_INVERSE_MAP takes the map from crop pixels to source pixels.
    c = 0.5 * s - 0.5 - (f - 1) / 2
    M = np.array([[s / f, 0, (x0 - ax + c) / f], [0, s / f, (y0 - ay + c) / f]])
    return cv2.warpAffine(gray, M, (IMAGE_SIZE, IMAGE_SIZE),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def to_photo(points, frame):
    """Keypoints in the 96x96 crop's pixels [.., 30] -> photo pixels."""
    x0, y0, size = frame
    s = size / IMAGE_SIZE
    out = np.array(points, np.float64)
    out[..., 0::2] = x0 + (out[..., 0::2] + 0.5) * s - 0.5
    out[..., 1::2] = y0 + (out[..., 1::2] + 0.5) * s - 0.5
    return out


def draw(img, boxes, points):
    """Copy of the BGR photo with each face box and its 15 keypoints drawn."""
    cv2 = cv2_or_error()
    out = img.copy()
    thick = max(1, round(max(img.shape[:2]) / 400))
    for box, pts in zip(boxes, points):
        x, y, w, h = (int(v) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 200, 0), thick)
        radius = max(2, round(w / 60))
        for px, py in pts.reshape(-1, 2):
            cv2.circle(out, (int(round(px)), int(round(py))), radius, (0, 0, 255), -1,
                       lineType=cv2.LINE_AA)
    return out


def faces_csv(boxes, points):
    """One row per face: face, box_x, box_y, box_w, box_h, then the 15 points'
    x,y in photo pixels (Kaggle's column names)."""
    lines = [','.join(['face', 'box_x', 'box_y', 'box_w', 'box_h'] + KEYPOINT_COLUMNS)]
    for i, (box, pts) in enumerate(zip(boxes, points)):
        lines.append(','.join([str(i)] + [str(int(v)) for v in box] +
                              ['{:.2f}'.format(v) for v in pts]))
    return '\n'.join(lines) + '\n'


def predict_photo(img, predictor, detector=detect_faces):
    """Faces and keypoints of one BGR photo: (boxes [K, 4], points [K, 30] in
    photo pixels). detector(gray) -> boxes can be swapped (tests do)."""
    cv2 = cv2_or_error()
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    boxes = np.asarray(detector(gray), int).reshape(-1, 4)
    if len(boxes) == 0:
        return boxes, np.zeros((0, len(KEYPOINT_COLUMNS)))
    frames = [face_frame(b) for b in boxes]
    crops = np.stack([crop_face(gray, fr) for fr in frames])
    pred = predictor.predict(scale_images(crops.reshape(len(crops), -1)))
    return boxes, np.stack([to_photo(p, fr) for p, fr in zip(pred, frames)])


def photo_paths(inputs):
    """The photos named by inputs (files, or folders of photos), sorted per folder."""
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(os.path.join(item, n) for n in os.listdir(item)
                           if n.lower().endswith(IMAGE_SUFFIXES))
            if not found:
                raise UserError('folder {} holds no photos ({}).'.format(
                    item, ', '.join(IMAGE_SUFFIXES)))
            paths += found
        else:
            paths.append(item)
    return paths


def output_paths(photo, output, many):
    """(picture, csv) to write for photo: --output itself for one photo, a
    folder for many; by default <stem>_keypoints.png in the current folder."""
    stem = os.path.splitext(os.path.basename(photo))[0] + '_keypoints'
    if output and not many:
        base, ext = os.path.splitext(output)
        return (output if ext else output + '.png'), base + '.csv'
    folder = output or '.'
    return os.path.join(folder, stem + '.png'), os.path.join(folder, stem + '.csv')


def annotate_photos(inputs, model_dir, output=None, detector=detect_faces, use_bf16=False,
                    log=print):
    """Predict keypoints on each photo; write the annotated picture and a CSV
    of faces beside it. Returns the number of photos in which no face was found."""
    from .predict import Predictor
    if isinstance(detector, str):
        detector = detect_faces
    cv2 = cv2_or_error()
    paths = photo_paths(inputs)
    photos = [(p, read_photo(p)) for p in paths]        # all readable before any work
    many = len(paths) > 1
    if many and output:
        os.makedirs(output, exist_ok=True)
    no_face = 0
    with Predictor(model_dir, use_bf16) as predictor:
        for path, img in photos:
            boxes, points = predict_photo(img, predictor, detector)
            if len(boxes) == 0:
                log('{}: no face found.'.format(path))
                no_face += 1
                continue
            picture, table = output_paths(path, output, many)
            ok, encoded = cv2.imencode(os.path.splitext(picture)[1] or '.png',
                                       draw(img, boxes, points))
            if not ok:
                raise UserError('cannot encode {} (unknown picture suffix?).'.format(picture))
            atomic_write_bytes(picture, encoded.tobytes())
            atomic_write_text(table, faces_csv(boxes, points))
            log('{}: {} face{} -> {}, {}'.format(path, len(boxes), 's' * (len(boxes) > 1),
                                               picture, table))
    return no_face

