"""The pretrained model the package ships: used when no model is named, right
on a real photograph, and read-only."""

import csv
import hashlib
import os
import shutil

import numpy as np
import pytest

from conftest import copy_run, make_tiny_data, run_main, run_script
from facial_keypoints import PRETRAINED, PRETRAINED_MARK, Predictor
from facial_keypoints.files.fileio import refuse_pretrained
from facial_keypoints.runs import which_model
from facial_keypoints.runs.errors import UserError
from facial_keypoints.files.demo import DEMO_MODEL_DIR

# Grace Hopper's portrait as matplotlib ships it (512x600): her features,
# marked by hand in photo pixels. Left and right are hers, as in Kaggle.
HAND_MARKED = {'left_eye_center': (305, 187), 'right_eye_center': (222, 191),
               'nose_tip': (269, 238), 'mouth_left_corner': (308, 278),
               'mouth_right_corner': (231, 281), 'mouth_center_bottom_lip': (270, 288)}
# A few pixels: her face box is about 187 pixels wide, so 8 pixels is 4% of it.
TOLERANCE = 8.0


def grace_hopper():
    pytest.importorskip('cv2')
    cbook = pytest.importorskip('matplotlib.cbook')
    return cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)


def folder_hashes(folder):
    return {n: hashlib.sha256(open(os.path.join(folder, n), 'rb').read()).hexdigest()
            for n in sorted(os.listdir(folder))}


def test_the_pretrained_model_marks_a_real_photo_with_no_model_folder(tmp_path):
    photo = shutil.copy(grace_hopper(), tmp_path / 'grace.jpg')
    status, out, err = run_script('run_predict.py', '--image', str(photo), cwd=str(tmp_path))
    assert status == 0, err
    assert out.splitlines()[0].startswith('model: the pretrained model')
    with open(tmp_path / 'grace_keypoints.csv') as f:
        [face] = list(csv.DictReader(f))
    x0, y0, w, h = (float(face[k]) for k in ('box_x', 'box_y', 'box_w', 'box_h'))
    found = {name: (float(face[name + '_x']), float(face[name + '_y'])) for name in HAND_MARKED}
    for name, (x, y) in found.items():
        assert x0 <= x <= x0 + w and y0 <= y <= y0 + h, name
        assert np.hypot(x - HAND_MARKED[name][0], y - HAND_MARKED[name][1]) < TOLERANCE, name
    # Her left eye is on the photo's right; eyes above the nose, the nose above the lip.
    assert found['left_eye_center'][0] > found['nose_tip'][0] > found['right_eye_center'][0]
    assert found['mouth_left_corner'][0] > found['mouth_right_corner'][0]
    eyes_y = max(found['left_eye_center'][1], found['right_eye_center'][1])
    assert eyes_y < found['nose_tip'][1] < found['mouth_center_bottom_lip'][1]


def test_a_trained_model_folder_in_the_current_folder_comes_first(trained, tmp_path):
    _, model_dir, _ = trained
    copy_run(model_dir, tmp_path / 'model')
    photo = shutil.copy(grace_hopper(), tmp_path / 'grace.jpg')
    status, out, err = run_script('run_predict.py', '--image', str(photo), cwd=str(tmp_path))
    assert status == 0, err
    assert out.splitlines()[0] == 'model: model'


def test_predictor_without_a_folder_uses_the_pretrained_model(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'model').mkdir()                # a folder without a trained model
    with Predictor() as predictor:
        assert predictor.model_dir == PRETRAINED and predictor.recipe == 'improved'
    assert which_model.model_to_use('elsewhere') == 'elsewhere'


def test_the_demo_model_says_its_faces_are_synthetic():
    line = which_model.describe(DEMO_MODEL_DIR, DEMO_MODEL_DIR)
    assert 'synthetic' in line and line.startswith('model: ' + DEMO_MODEL_DIR)


def test_the_pretrained_model_writes_a_submission(tmp_path):
    data_dir = make_tiny_data(tmp_path / 'data')
    status, _, err = run_script('run_predict.py', '--model-dir', PRETRAINED, '--data-dir',
                                data_dir, '--output', str(tmp_path / 'submit.csv'))
    assert status == 0, err
    with open(tmp_path / 'submit.csv') as f:
        rows = list(csv.DictReader(f))
    values = np.array([float(r['Location']) for r in rows])
    assert len(rows) > 0 and ((values >= 0) & (values <= 96)).all()


@pytest.mark.parametrize('script, args', [
    ('run_train.py', ['--data-dir', 'DATA', '--model-dir', PRETRAINED]),
    ('run_train.py', ['--data-dir', 'DATA', '--model-dir', PRETRAINED, '--overwrite']),
    ('run_train.py', ['--model-dir', PRETRAINED, '--resume']),
    ('run_export.py', ['--model-dir', PRETRAINED, '--output', os.path.join(PRETRAINED, 'x')]),
    ('run_predict.py', ['--model-dir', PRETRAINED, '--data-dir', 'DATA',
                        '--output', os.path.join(PRETRAINED, 'submit.csv')]),
], ids=['train', 'overwrite', 'resume', 'export', 'submission'])
def test_nothing_writes_into_the_pretrained_model(script, args, tmp_path):
    data_dir = make_tiny_data(tmp_path / 'data')
    before = folder_hashes(PRETRAINED)
    status, out, err = run_main(script, *[data_dir if a == 'DATA' else a for a in args],
                                cwd=str(tmp_path))
    assert status == 2, out + err
    [line] = err.strip().splitlines()
    assert 'pretrained model, which is read-only' in line
    assert folder_hashes(PRETRAINED) == before
    assert sorted(os.listdir(tmp_path)) == ['data']


def test_a_copy_of_the_pretrained_model_is_read_only_too(tmp_path):
    """An installed package's pretrained model, seen from a clone's scripts, is
    another folder: the mark it holds keeps it read-only all the same."""
    data_dir = make_tiny_data(tmp_path / 'data')
    copy = shutil.copytree(PRETRAINED, tmp_path / 'site-packages' / 'pretrained')
    before = folder_hashes(copy)
    for script, args in (('run_train.py', ['--data-dir', data_dir, '--overwrite']),
                         ('run_train.py', ['--resume']),
                         ('run_export.py', ['--output', str(copy / 'x')])):
        status, out, err = run_main(script, '--model-dir', str(copy), *args, cwd=str(tmp_path))
        assert status == 2, out + err
        [line] = err.strip().splitlines()
        assert 'pretrained model, which is read-only' in line
    assert folder_hashes(copy) == before and PRETRAINED_MARK in before


def test_only_the_marks_own_line_marks_a_folder(tmp_path):
    """A user's own PRETRAINED.txt (of other text) above a folder protects
    nothing; a copy of the package's mark does."""
    (tmp_path / PRETRAINED_MARK).write_text('the pretrained networks I like\n')
    refuse_pretrained(str(tmp_path / 'model'), '--model-dir')       # goes ahead
    copy = shutil.copytree(PRETRAINED, tmp_path / 'copy')
    with pytest.raises(UserError, match='is inside the package\'s pretrained model'):
        refuse_pretrained(str(copy / 'model'), '--model-dir')
