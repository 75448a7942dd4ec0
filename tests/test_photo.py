"""Keypoints on photographs: the crop and its inverse are exact, detectors find
the real faces (judged by their boxes), outputs keep the photo's format and
never overwrite each other or an input."""

import glob
import os

import numpy as np
import pandas as pd
import pytest

from conftest import run_main, shared_path
from facial_keypoints.faces import align, detect, photo
from facial_keypoints import constants
from facial_keypoints.files import demo
from facial_keypoints.runs.errors import UserError

cv2 = pytest.importorskip('cv2')

# The faces in the shared photos, (x, y, w, h), as a person marked them.
TRUE_FACES = {
    'the_beatles.jpg': [(669, 705, 322, 322), (1478, 736, 269, 268), (2192, 766, 268, 268),
                        (2943, 761, 386, 386)],
    'obamas.jpg': [(184, 98, 156, 156), (373, 167, 156, 156)],
    'mona_lisa.jpg': [(55, 44, 52, 52)],
}


def photo_with_face(scale=3, ox=40, oy=25, seed=0):
    """A gray photo holding one demo face blown up `scale` times at (ox, oy)."""
    pixels, points = demo.draw_face(np.random.default_rng(seed))
    face = pixels.reshape(96, 96)
    big = np.kron(face, np.ones((scale, scale), np.uint8))
    canvas = np.full((96 * scale + 2 * oy, 96 * scale + 2 * ox), 128, np.uint8)
    canvas[oy:oy + 96 * scale, ox:ox + 96 * scale] = big
    return canvas, face, points


class Fixed:
    """A detector that 'finds' the given boxes, with the Haar cascade's frame."""
    name, frame = 'fixed', detect.FRAMES['haar']

    def __init__(self, boxes):
        self.boxes = boxes

    def __call__(self, gray):
        return self.boxes


def test_crop_recovers_the_face_and_to_photo_inverts_it():
    gray, face, points = photo_with_face(scale=3, ox=40, oy=25)
    frame = (40 + 144, 25 + 144, 288, 0.0)
    assert np.array_equal(align.crop(gray, frame), face)
    mapped = align.to_photo(points, frame)
    assert np.allclose(mapped[0::2], 40 + (points[0::2] + 0.5) * 3 - 0.5)
    for i in range(15):   # the photo pixel under each mapped point is the face's
        px, py = mapped[2 * i], mapped[2 * i + 1]
        fx, fy = points[2 * i], points[2 * i + 1]
        assert gray[int(np.floor(py + 0.5)), int(np.floor(px + 0.5))] == \
            face[int(np.floor(fy + 0.5)), int(np.floor(fx + 0.5))]


def test_crop_at_scale_one_is_a_plain_cut():
    gray, face, _ = photo_with_face(scale=1, ox=10, oy=7)
    assert np.array_equal(align.crop(gray, (10 + 48, 7 + 48, 96, 0.0)), face)


class FixedPredictor:
    def __init__(self, points):
        self.points = points
        self.seen = []

    def predict(self, X):
        self.seen.append(X)
        return np.tile(self.points, (len(X), 1))


def test_find_keypoints_maps_keypoints_back_through_the_detected_box():
    gray, face, points = photo_with_face(scale=3, ox=40, oy=25)
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    box = (50, 30, 250, 250)
    fixed = FixedPredictor(points)
    boxes, found = photo.find_keypoints(img, fixed, Fixed([box]))
    left, top, size = detect.FRAMES['haar']
    frame = (50 + left * 250, 30 + top * 250, size * 250)
    # The stub's eye line is tilted past LEVEL_BEYOND, so the face is cropped
    # again turned by that much: the crop points map back through that crop.
    tilt = align.eye_tilt(points)
    assert abs(tilt) > align.LEVEL_BEYOND and len(fixed.seen) == 2
    levelled = (frame[0] + frame[2] / 2, frame[1] + frame[2] / 2, frame[2], tilt)
    assert np.allclose(found[0], align.to_photo(points, levelled))
    assert list(boxes[0]) == list(box)
    assert fixed.seen[0].shape == (1, 96, 96, 1) and fixed.seen[0].max() <= 1.0


def annotate(model_dir, inputs, output=None, boxes=((40, 25, 281, 281),)):
    return photo.annotate_photos([str(i) for i in inputs], model_dir,
                                 None if output is None else str(output),
                                 detector=Fixed(list(boxes)), log=lambda *a: None)


def test_annotate_writes_picture_in_the_photos_format_and_csv(trained, tmp_path):
    _, model_dir, _ = trained
    gray, _, _ = photo_with_face()
    src = tmp_path / 'face.jpg'
    cv2.imwrite(str(src), gray)
    boxes = [(40, 25, 281, 281), (5, 5, 100, 100)]
    assert annotate(model_dir, [src], tmp_path / 'out', boxes) == (0, 0)
    pic = cv2.imread(str(tmp_path / 'out.jpg'))         # no extension given: the photo's
    assert open(tmp_path / 'out.jpg', 'rb').read(3) == b'\xff\xd8\xff'     # a JPEG
    assert pic.shape == (gray.shape[0], gray.shape[1], 3)
    assert (pic[:, :, 2] > pic[:, :, 0] + 100).any()        # red keypoints drawn
    table = pd.read_csv(tmp_path / 'out.csv')
    assert list(table.columns) == ['face', 'box_x', 'box_y', 'box_w', 'box_h'] + \
        constants.KEYPOINT_COLUMNS
    assert list(table.face) == [0, 1] and list(table.box_w) == [281, 100]
    # a second run replaces the CSV it wrote, but never a CSV of the user's
    assert annotate(model_dir, [src], tmp_path / 'out', [(40, 25, 281, 281)]) == (0, 0)
    assert list(pd.read_csv(tmp_path / 'out.csv').face) == [0]
    (tmp_path / 'mine.csv').write_text('a,b\n1,2\n')
    with pytest.raises(UserError, match='mine.jpg would replace .*mine.csv, which is not a '
                                        'keypoints table'):
        annotate(model_dir, [src], tmp_path / 'mine.jpg', [(40, 25, 281, 281)])
    assert (tmp_path / 'mine.csv').read_text() == 'a,b\n1,2\n'
    assert not (tmp_path / 'mine.jpg').exists()


def test_same_names_never_overwrite_each_other_or_inputs(trained, tmp_path):
    _, model_dir, _ = trained
    gray, _, _ = photo_with_face()
    for sub in ('a', 'b'):
        (tmp_path / sub).mkdir()
        cv2.imwrite(str(tmp_path / sub / 'x.jpg'), gray)
    cv2.imwrite(str(tmp_path / 'a' / 'x.png'), gray)
    out = tmp_path / 'annot'
    annotate(model_dir, [tmp_path / 'a', tmp_path / 'b'], out)
    # a/x.jpg, a/x.png (its CSV would be a/x.jpg's), b/x.jpg (its picture would be)
    assert sorted(os.listdir(out)) == ['x_2_keypoints.csv', 'x_2_keypoints.png',
                                       'x_3_keypoints.csv', 'x_3_keypoints.jpg',
                                       'x_keypoints.csv', 'x_keypoints.jpg']
    # one photo into a folder given with a trailing slash: no hidden ".jpg"
    annotate(model_dir, [tmp_path / 'b' / 'x.jpg'], str(tmp_path / 'one') + os.sep)
    assert sorted(os.listdir(tmp_path / 'one')) == ['x_keypoints.csv', 'x_keypoints.jpg']
    # a second run into the photos' own folder skips the pictures it wrote there
    annotate(model_dir, [tmp_path / 'a'], tmp_path / 'a')
    annotate(model_dir, [tmp_path / 'a'], tmp_path / 'a')
    assert sorted(n for n in os.listdir(tmp_path / 'a') if n.endswith(('.jpg', '.png'))) == \
        ['x.jpg', 'x.png', 'x_2_keypoints.png', 'x_keypoints.jpg']
    src = tmp_path / 'b' / 'x.jpg'
    before = src.read_bytes()
    with pytest.raises(UserError, match='would replace the photo'):
        annotate(model_dir, [src], src)
    assert src.read_bytes() == before


def test_no_face_counts_and_writes_nothing(trained, tmp_path):
    _, model_dir, _ = trained
    src = tmp_path / 'blank.png'
    cv2.imwrite(str(src), np.full((200, 200), 90, np.uint8))
    assert annotate(model_dir, [src], tmp_path / 'o.png', boxes=[]) == (1, 0)
    assert not os.path.exists(tmp_path / 'o.png')


def test_not_an_image_is_a_clear_error(trained, tmp_path):
    _, model_dir, _ = trained
    bad = tmp_path / 'notes.jpg'
    bad.write_text('hello')
    said = []
    assert photo.annotate_photos([str(bad)], model_dir, detector=Fixed([]), log=said.append,
                                 warn=lambda line: said.append('warned: ' + line)) == (0, 1)
    assert said == ['warned: {} is not an image OpenCV can read.'.format(bad)]
    status, _, err = run_main('run_predict.py', '--model-dir', model_dir, '--image', str(bad))
    assert status == 2 and 'Traceback' not in err and 'is not an image' in err


def test_blank_photo_exits_1(trained, tmp_path):
    _, model_dir, _ = trained
    cv2.imwrite(str(tmp_path / 'blank.png'), np.full((300, 300), 90, np.uint8))
    status, out, err = run_main('run_predict.py', '--model-dir', model_dir, '--image',
                                str(tmp_path / 'blank.png'), cwd=str(tmp_path))
    assert status == 1 and 'no face found' in out + err


def matches(found, truth, min_iou=0.5):
    """Each true face matched by one box (overlap >= min_iou), and no other box."""
    from facial_keypoints.faces.detect import iou
    if len(found) != len(truth):
        return False
    return all(max(iou(t, f) for f in found) >= min_iou for t in truth)


@pytest.mark.parametrize('name', sorted(TRUE_FACES))
def test_dlib_finds_every_face_in_the_photos_and_nothing_else(name):
    pytest.importorskip('dlib')
    gray = cv2.cvtColor(photo.read_photo(shared_path('photos', name)), cv2.COLOR_BGR2GRAY)
    found = detect.Detector('dlib')(gray)
    assert matches(found, TRUE_FACES[name]), found


def test_dlib_finds_no_face_where_there_is_none():
    pytest.importorskip('dlib')
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (480, 640), dtype=np.uint8)
    stripes = np.tile((np.arange(640) // 16 % 2 * 255).astype(np.uint8), (480, 1))
    for gray in (noise, stripes, np.full((480, 640), 128, np.uint8)):
        assert len(detect.Detector('dlib')(gray)) == 0


def test_training_writes_pictures_events_and_history(trained):
    _, model_dir, result = trained
    assert os.path.getsize(os.path.join(model_dir, 'learning_curve.png')) > 1000
    assert os.path.getsize(os.path.join(model_dir, 'validation_faces.png')) > 1000
    events = glob.glob(os.path.join(model_dir, 'events.out.tfevents.*'))
    assert events
    import tensorflow as tf
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(events[0])
            for v in e.summary.value}
    assert {'rmse_px/train', 'rmse_px/validation'} <= tags
    import json
    hist = json.load(open(os.path.join(model_dir, 'history.json')))
    assert [h['epoch'] for h in hist] == [0, 1]
    assert hist == result['history']
