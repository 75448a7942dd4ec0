"""Keypoints on real photographs (the post's last paragraph, as a feature).

Needs the optional extras (requirements-extra.txt): OpenCV, and dlib for its
face detector (faces/detect.py). Each face found is cropped to Kaggle's 96x96
framing, predicted, and mapped back to photo pixels.
"""

import os

import numpy as np

from ..constants import KEYPOINT_COLUMNS
from ..files.fileio import (atomic_write_bytes, atomic_write_text, not_a_file,
                            refuse_overwriting_inputs, refuse_replacing_another_table, same_file)
from ..runs import record
from ..runs.errors import UserError, reason
from . import align
from .detect import Detector, cv2_or_error

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
OUTPUT_TAG = '_keypoints'       # photo.jpg -> photo_keypoints.jpg and photo_keypoints.csv


def read_photo(path):
    """BGR uint8 [H, W, 3]; a UserError if it is missing or not an image."""
    cv2 = cv2_or_error()
    if not_a_file(path):
        raise UserError('{} {}.'.format(path, not_a_file(path)))
    try:
        data = np.fromfile(path, np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except (OSError, MemoryError) as e:
        raise UserError('cannot read {}: {}.'.format(path, reason(e)))
    except cv2.error as e:
        raise UserError('{} cannot be decoded ({}); is it too large?'.format(
            path, reason(e).split(') ')[-1]))
    if img is None:
        raise UserError('{} is not an image OpenCV can read.'.format(path))
    return img


def find_keypoints(img, predictor, detector):
    """Faces and keypoints of one BGR photo: (boxes [K, 4], points [K, 30] in
    photo pixels). detector: a detect.Detector, which also looks for turned
    faces, or any gray -> boxes callable with a .frame (tests pass fixed
    boxes). Each face is predicted upright (faces/align.py); a turned face's box
    is its upright box about the same centre."""
    cv2 = cv2_or_error()
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    points, faces = align.face_keypoints(gray, align.find_faces(gray, detector), predictor)
    boxes = [np.round(align.face_box(f, detector.frame)) for f in faces]
    return np.asarray(boxes, int).reshape(-1, 4), points


def draw(img, boxes, points):
    """Copy of the BGR photo with each face box and its 15 keypoints drawn."""
    cv2 = cv2_or_error()
    out = img.copy()
    thick = max(1, round(max(img.shape[:2]) / 400))
    for box, pts in zip(boxes, points):
        x, y, w, h = (int(v) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 200, 0), thick)
        radius = max(2, round(w / 40))
        for px, py in pts.reshape(-1, 2):
            cv2.circle(out, (int(round(px)), int(round(py))), radius, (0, 0, 255), -1,
                       lineType=cv2.LINE_AA)
    return out


# The CSV's first line: face, its box, then the 15 points' x,y (Kaggle's column names).
TABLE_HEADER = ','.join(['face', 'box_x', 'box_y', 'box_w', 'box_h'] + KEYPOINT_COLUMNS)


def faces_csv(boxes, points):
    """TABLE_HEADER, then one row per face, in photo pixels."""
    lines = [TABLE_HEADER]
    for i, (box, pts) in enumerate(zip(boxes, points)):
        lines.append(','.join([str(i)] + [str(int(v)) for v in box] +
                              ['{:.2f}'.format(v) for v in pts]))
    return '\n'.join(lines) + '\n'


def photo_paths(inputs, log=print):
    """The photos named by inputs (files, or folders of photos, sorted), without
    the pictures this command itself wrote (NAME_keypoints.EXT) in a folder,
    which a line says it skips."""
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            names = sorted(n for n in os.listdir(item) if n.lower().endswith(IMAGE_SUFFIXES))
            ours = [n for n in names if os.path.splitext(n)[0].endswith(OUTPUT_TAG)]
            found = [os.path.join(item, n) for n in names if n not in ours]
            if ours and not found:
                raise UserError('folder {} holds only pictures named *{}.*, which this '
                                'command writes; give one as --image FILE to annotate '
                                'it.'.format(item, OUTPUT_TAG))
            if ours:
                log('{}: skipping {} picture{} named *{}.* ({}), which this command writes; '
                    'give one as --image FILE to annotate it.'.format(
                        item, len(ours), 's' * (len(ours) > 1), OUTPUT_TAG,
                        ', '.join(ours[:3]) + (' ...' if len(ours) > 3 else '')))
            if not found:
                raise UserError('folder {} holds no photos ({}).'.format(
                    item, ', '.join(IMAGE_SUFFIXES)))
            paths += found
        elif not_a_file(item):
            raise UserError('{} {}.'.format(item, not_a_file(item)))
        else:
            paths.append(item)
    return paths


def output_paths(photos, output):
    """([(picture, csv)] for each photo, the folder to create or None); the
    pictures keep the photo's format.

    output: None (PHOTO_keypoints.EXT in the current folder), a folder (an
    existing one, or a name ending in a separator), or, for one photo, a file
    name. Two photos that would write the same name get _2, _3 ... instead of
    overwriting each other; nothing may be written over an input.
    """
    cv2 = cv2_or_error()
    if output and len(photos) > 1 and os.path.isfile(output):
        raise UserError('--output {} is a file; with several photos give a folder (it is '
                        'created if needed).'.format(output))
    folder = (output is None or output.endswith(('/', os.sep)) or os.path.isdir(output)
              or len(photos) > 1)
    taken, out = set(), []

    def key(path):
        return os.path.normcase(os.path.abspath(path))
    for photo in photos:
        stem, ext = os.path.splitext(os.path.basename(photo))
        if folder:
            name, n = stem + OUTPUT_TAG, 2
            while {key(os.path.join(output or '.', name + e)) for e in (ext, '.csv')} & taken:
                name, n = '{}_{}{}'.format(stem, n, OUTPUT_TAG), n + 1
            base = os.path.join(output or '.', name)
            picture = base + ext
        else:
            base, own_ext = os.path.splitext(output)
            picture = output if own_ext else output + ext
            if not cv2.haveImageWriter(picture):
                raise UserError('--output {}: OpenCV cannot write {} pictures; use .jpg or '
                                '.png.'.format(output, os.path.splitext(picture)[1] or 'such'))
        taken |= {key(picture), key(base + '.csv')}
        out.append((picture, base + '.csv'))
    for picture, table in out:
        for written in (picture, table):     # the photos are checked just below
            refuse_overwriting_inputs(output or picture, [], written=written)
        for photo in photos:
            if same_file(picture, photo) or same_file(table, photo):
                raise UserError('writing {} would replace the photo {}; choose another '
                                '--output.'.format(picture, photo))
    return out, (output if folder and output else None)


def look_at(img, predictor, detector, name):
    """find_keypoints(img, predictor, detector), with a photo that OpenCV or
    memory cannot look at a UserError naming it (name: its path)."""
    cv2 = cv2_or_error()
    try:
        return find_keypoints(img, predictor, detector)
    except (cv2.error, MemoryError) as e:
        raise UserError('{} cannot be looked at for faces ({}).'.format(name, reason(e)))


def annotate_photos(inputs, model_dir, output=None, detector='auto', use_bf16=False,
                    log=print, warn=None):
    """Predict keypoints on each photo; write the annotated picture (in the
    photo's format) and a CSV of its faces. Every output name is checked
    before anything is written; then the photos go one at a time (read,
    predict, write, released), so memory does not grow with their number.
    A photo that cannot be read or looked at is one line through warn
    (default: log), and the others go on. Returns (the number of photos in
    which no face was found, the number that could not be read)."""
    from ..serving.predictor import Predictor
    cv2 = cv2_or_error()
    detector = Detector(detector) if isinstance(detector, str) else detector
    warn = warn or log
    paths = photo_paths(inputs, log)     # skipped pictures are a note, not an error
    targets, folder = output_paths(paths, output)
    for path, (picture, _) in zip(paths, targets):
        if not cv2.haveImageWriter(picture):       # found now, not after predicting
            raise UserError('cannot write {}: OpenCV writes no {} pictures; give --output '
                            'NAME.jpg or NAME.png for {}.'.format(
                                picture, os.path.splitext(picture)[1] or 'extensionless', path))
    for picture, table in targets:
        record.refuse_run_file(picture, model_dir)
        record.refuse_run_file(table, model_dir)
        refuse_replacing_another_table(table, TABLE_HEADER, picture)
    no_face = failed = 0
    with Predictor(model_dir, use_bf16) as predictor:
        for path, (picture, table) in zip(paths, targets):
            img = None                  # the photo before goes before the next is read
            try:
                img = read_photo(path)
                boxes, points = look_at(img, predictor, detector, path)
            except UserError as e:
                warn(str(e))
                failed += 1
                continue
            if len(boxes) == 0:
                log('{}: no face found.'.format(path))
                no_face += 1
                continue
            if folder:
                try:
                    os.makedirs(folder, exist_ok=True)
                except OSError as e:
                    raise UserError('cannot create the folder {}: {}.'.format(folder, reason(e)))
            ok, encoded = cv2.imencode(os.path.splitext(picture)[1], draw(img, boxes, points),
                                       [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not ok:
                raise UserError('cannot encode {}.'.format(picture))
            atomic_write_bytes(picture, encoded.tobytes())
            atomic_write_text(table, faces_csv(boxes, points))
            log('{}: {} face{} ({} detector) -> {}, {}'.format(
                path, len(boxes), 's' * (len(boxes) > 1), detector.name, picture, table))
    return no_face, failed
