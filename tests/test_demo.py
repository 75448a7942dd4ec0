"""The built-in demo: Kaggle's layout, exact keypoints, and the two commands end to end."""

import os

import numpy as np
import pandas as pd

from conftest import run_script
from facial_keypoints import constants
from facial_keypoints.files import demo


def test_demo_files_have_kaggles_columns(tiny_data):
    train = pd.read_csv(os.path.join(tiny_data, 'training.csv'))
    assert list(train.columns) == constants.KEYPOINT_COLUMNS + ['Image']
    complete = train.notna().all(axis=1)
    assert 0.5 < complete.mean() < 0.95                  # some rows carry only 4 points
    core = [c for c in constants.KEYPOINT_COLUMNS if c[:-2] in demo.CORE_POINTS]
    assert len(core) == 8 and train[core].notna().all().all()
    test = pd.read_csv(os.path.join(tiny_data, 'test.csv'))
    assert list(test.columns) == ['ImageId', 'Image']
    lookup = pd.read_csv(os.path.join(tiny_data, 'IdLookupTable.csv'))
    assert list(lookup.columns) == ['RowId', 'ImageId', 'FeatureName', 'Location']
    assert lookup.Location.isna().all() and set(lookup.ImageId) <= set(test.ImageId)


def test_demo_keypoints_sit_on_the_drawn_features():
    rng = np.random.default_rng(11)
    for _ in range(20):
        pixels, points = demo.draw_face(rng)
        img = pixels.astype(float)
        at = {n: img[int(round(points[2 * i + 1])), int(round(points[2 * i]))]
              for i, n in enumerate(constants.KEYPOINT_NAMES)}
        # The iris (eye centre) is darker than the sclera at the eye's inner corner
        # side, and the subject's left eye is on the image's right.
        for side in ('left', 'right'):
            c = points[2 * constants.KEYPOINT_NAMES.index(side + '_eye_center')]
            corner_x = (c + points[2 * constants.KEYPOINT_NAMES.index(side + '_eye_inner_corner')]) / 2
            cy = int(round(points[2 * constants.KEYPOINT_NAMES.index(side + '_eye_center') + 1]))
            assert at[side + '_eye_center'] < img[cy, int(round(corner_x))] - 20
        assert points[0] > points[2]
        assert at['mouth_left_corner'] < np.median(img) + 60


def test_demo_is_seeded(tmp_path):
    a = demo.make_demo_data(str(tmp_path / 'a'), n_train=5, n_test=2, log=lambda *a: None)
    b = demo.make_demo_data(str(tmp_path / 'b'), n_train=5, n_test=2, log=lambda *a: None)
    for name in ('training.csv', 'test.csv', 'IdLookupTable.csv'):
        assert open(os.path.join(a, name)).read() == open(os.path.join(b, name)).read()


def test_demo_commands_end_to_end(tmp_path):
    status, out, err = run_script('run_train.py', '--demo', '--epochs', '1', '--seed', '1',
                                  cwd=str(tmp_path))
    assert status == 0, err
    assert 'best validation RMSE' in out and os.path.exists(tmp_path / 'demo_data' / 'model')
    status, out, err = run_script('run_predict.py', '--demo', cwd=str(tmp_path))
    assert status == 0, err
    sub = pd.read_csv(tmp_path / 'demo_data' / 'submit.csv')
    lookup = pd.read_csv(tmp_path / 'demo_data' / 'IdLookupTable.csv')
    assert list(sub.RowId) == list(lookup.RowId)
    assert sub.Location.between(0, 96).all()
