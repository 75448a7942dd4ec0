"""Keypoints on photographs: the crop and its inverse are exact, files are written."""

import glob
import os

import numpy as np
import pandas as pd
import pytest

from conftest import run_script, shared_path
from facial_keypoints import constants, demo, photo
from facial_keypoints.errors import UserError

cv2 = pytest.importorskip('cv2')


def photo_with_face(scale=3, ox=40, oy=25, seed=0):
    """A gray photo holding one demo face blown up `scale` times at (ox, oy)."""
    pixels, points = demo.draw_face(np.random.default_rng(seed))
    face = pixels.reshape(96, 96)
    big = np.kron(face, np.ones((scale, scale), np.uint8))
    canvas = np.full((96 * scale + 2 * oy, 96 * scale + 2 * ox), 128, np.uint8)
    canvas[oy:oy + 96 * scale, ox:ox + 96 * scale] = big
    return canvas, face, points


def test_crop_recovers_the_face_and_to_photo_inverts_it():
    gray, face, points = photo_with_face(scale=3, ox=40, oy=25)
    frame = (40, 25, 288)
    assert np.array_equal(photo.crop_face(gray, frame), face)
    mapped = photo.to_photo(points, frame)
    assert np.allclose(mapped[0::2], 40 + (points[0::2] + 0.5) * 3 - 0.5)
    for i in range(15):   # the photo pixel under each mapped point is the face's
        px, py = mapped[2 * i], mapped[2 * i + 1]
        fx, fy = points[2 * i], points[2 * i + 1]
        assert gray[int(np.floor(py + 0.5)), int(np.floor(px + 0.5))] == \
            face[int(np.floor(fy + 0.5)), int(np.floor(fx + 0.5))]


def test_crop_at_scale_one_is_a_plain_cut():
    gray, face, _ = photo_with_face(scale=1, ox=10, oy=7)
    assert np.array_equal(photo.crop_face(gray, (10, 7, 96)), face)


class FixedPredictor:
    def __init__(self, points):
        self.points = points
        self.seen = []

    def predict(self, X):
        self.seen.append(X)
        return np.tile(self.points, (len(X), 1))


def test_predict_photo_maps_keypoints_back_through_the_detected_box():
    gray, face, points = photo_with_face(scale=3, ox=40, oy=25)
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    box = (50, 30, 250, 250)
    fixed = FixedPredictor(points)
    boxes, found = photo.predict_photo(img, fixed, detector=lambda g: [box])
    frame = photo.face_frame(box)
    assert np.allclose(frame, (50 - 0.013 * 250, 30 - 0.018 * 250, 1.024 * 250))
    assert np.allclose(found[0], photo.to_photo(points, frame))
    assert fixed.seen[0].shape == (1, 96, 96, 1) and fixed.seen[0].max() <= 1.0


def test_annotate_writes_picture_and_csv(trained, tmp_path):
    _, model_dir, _ = trained
    gray, _, _ = photo_with_face()
    src = tmp_path / 'face.png'
    cv2.imwrite(str(src), gray)
    boxes = [(40, 25, 281, 281), (5, 5, 100, 100)]
    missing = photo.annotate_photos([str(src)], model_dir, str(tmp_path / 'out.png'),
                                    detector=lambda g: boxes, log=lambda *a: None)
    assert missing == 0
    pic = cv2.imread(str(tmp_path / 'out.png'))
    assert pic.shape == (gray.shape[0], gray.shape[1], 3)
    assert (pic[:, :, 2] > pic[:, :, 0] + 100).any()        # red keypoints drawn
    table = pd.read_csv(tmp_path / 'out.csv')
    assert list(table.columns) == ['face', 'box_x', 'box_y', 'box_w', 'box_h'] + \
        constants.KEYPOINT_COLUMNS
    assert list(table.face) == [0, 1] and list(table.box_w) == [281, 100]


def test_no_face_counts_and_writes_nothing(trained, tmp_path):
    _, model_dir, _ = trained
    src = tmp_path / 'blank.png'
    cv2.imwrite(str(src), np.full((200, 200), 90, np.uint8))
    missing = photo.annotate_photos([str(src)], model_dir, str(tmp_path / 'o.png'),
                                    detector=lambda g: [], log=lambda *a: None)
    assert missing == 1 and not os.path.exists(tmp_path / 'o.png')


def test_not_an_image_is_a_clear_error(trained, tmp_path):
    _, model_dir, _ = trained
    bad = tmp_path / 'notes.jpg'
    bad.write_text('hello')
    with pytest.raises(UserError, match='notes.jpg is not an image'):
        photo.annotate_photos([str(bad)], model_dir)
    status, _, err = run_script('run_predict.py', '--model-dir', model_dir,
                                '--image', str(bad))
    assert status == 2 and 'Traceback' not in err and 'is not an image' in err
    status, _, err = run_script('run_predict.py', '--model-dir', model_dir,
                                '--image', str(tmp_path / 'absent.jpg'))
    assert status == 2 and 'absent.jpg does not exist' in err


def test_blank_photo_exits_1(trained, tmp_path):
    _, model_dir, _ = trained
    cv2.imwrite(str(tmp_path / 'blank.png'), np.full((300, 300), 90, np.uint8))
    status, out, err = run_script('run_predict.py', '--model-dir', model_dir, '--image',
                                  str(tmp_path / 'blank.png'), cwd=str(tmp_path))
    assert status == 1 and 'no face found' in out + err


def test_real_photos_have_4_2_and_1_faces():
    expect = {'the_beatles.jpg': 4, 'obamas.jpg': 2, 'mona_lisa.jpg': 1}
    for name, n in expect.items():
        img = photo.read_photo(shared_path('photos', name))
        assert len(photo.detect_faces(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))) == n, name


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
