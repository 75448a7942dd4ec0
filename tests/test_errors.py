"""Every bad input a user can cause: one sentence naming the file, exit 2,
no traceback, nothing overwritten."""

import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

import run_predict
import run_train
from conftest import image_field, run_script, write_csv
from facial_keypoints import constants
from facial_keypoints.cli import predict_main, train_main
from facial_keypoints.errors import run_cli

COLS = constants.KEYPOINT_COLUMNS
tf1 = tf.compat.v1


def train_cli(capsys, *argv):
    status = run_cli(train_main, run_train.parse_args(list(argv)))
    return status, capsys.readouterr().err


def predict_cli(capsys, *argv):
    status = run_cli(predict_main, run_predict.parse_args(list(argv)))
    return status, capsys.readouterr().err


def one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    assert 'Traceback' not in err
    return lines[0]


def training_file(tmp_path, image=None, header=None, points=None):
    header = header or COLS + ['Image']
    points = [30.0] * 30 if points is None else points
    return write_csv(tmp_path / 'training.csv', header,
                     [points + [image or image_field()]] * 3)


@pytest.mark.parametrize('make, expect', [
    (lambda d: None, r'found no training data: no training.csv in .*--demo'),
    (lambda d: training_file(d, header=COLS[1:] + ['Image'], points=[1.0] * 29),
     r'training.csv lacks the column left_eye_center_x'),
    (lambda d: training_file(d, header=COLS + ['Extra', 'Image'], points=[1.0] * 31),
     r'training.csv has unexpected column Extra'),
    (lambda d: training_file(d, image=image_field(np.zeros(9215, int))),
     r'training.csv line 2: the Image has 9215 values, expected 9216'),
    (lambda d: training_file(d, image=image_field(['7'] * 9000 + ['x'] * 216)),
     r"training.csv line 2: the Image holds 'x', not a whole number 0..255"),
    (lambda d: training_file(d, image=image_field([300] + [0] * 9215)),
     r'training.csv line 2: the Image holds 300, outside 0..255'),
    (lambda d: training_file(d, image=image_field([0] * 9000 + [1000] + [0] * 215)),
     r'training.csv line 2: the Image holds 1000, outside 0..255'),
    (lambda d: training_file(d, points=[''] + [1.0] * 29),
     r'training.csv has no rows with all 30 keypoints'),
    (lambda d: training_file(d, points=['abc'] + [1.0] * 29),
     r"training.csv line 2: left_eye_center_x is 'abc', not a number"),
    (lambda d: open(d / 'training.csv', 'w').close(), r'training.csv is empty'),
    (lambda d: write_csv(d / 'training.csv', COLS + ['Image'], []),
     r'training.csv has a header but no data rows'),
])
def test_bad_training_data(tmp_path, capsys, make, expect):
    make(tmp_path)
    status, err = train_cli(capsys, '--data-dir', str(tmp_path),
                            '--model-dir', str(tmp_path / 'm'))
    assert status == 2
    assert re.search(expect, one_line(err)), err


def test_missing_data_folder_names_it_and_kaggle(tmp_path, capsys):
    status, err = train_cli(capsys, '--data-dir', str(tmp_path / 'nope'))
    line = one_line(err)
    assert status == 2 and 'nope does not exist' in line
    assert 'kaggle competitions download -c facial-keypoints-detection' in line


def test_no_checkpoint(trained, tmp_path, capsys):
    data_dir = trained[0]
    status, err = predict_cli(capsys, '--data-dir', data_dir, '--model-dir',
                              str(tmp_path), '--output', str(tmp_path / 's.csv'))
    assert status == 2 and 'no checkpoint in {}'.format(tmp_path) in one_line(err)
    assert not os.path.exists(tmp_path / 's.csv')


def test_checkpoint_of_a_different_graph(trained, tmp_path, capsys):
    data_dir = trained[0]
    with tf.Graph().as_default():
        with tf1.variable_scope('net'):
            tf.Variable(tf.zeros([5, 5, 1, 8]), name='Variable')
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(sess, str(tmp_path / 'model'), global_step=0)
    status, err = predict_cli(capsys, '--data-dir', data_dir, '--model-dir', str(tmp_path),
                              '--output', str(tmp_path / 's.csv'))
    line = one_line(err)
    assert status == 2 and 'does not fit the blog network' in line


def test_lookup_errors_leave_the_old_submission_alone(trained, tmp_path, capsys):
    data_dir, model_dir, _ = trained
    out = tmp_path / 'submit.csv'
    out.write_text('old\n')
    for rows, expect in ((['1,1,nose_x'], "line 2: unknown FeatureName 'nose_x'"),
                         (['1,1,nose_tip_x', '2,99,nose_tip_y'],
                          'line 3: ImageId 99 is not in the test set')):
        lookup = tmp_path / 'lookup.csv'
        lookup.write_text('RowId,ImageId,FeatureName,Location\n' + '\n'.join(rows) + '\n')
        status, err = predict_cli(capsys, '--data-dir', data_dir, '--model-dir', model_dir,
                                  '--lookup', str(lookup), '--output', str(out))
        assert status == 2 and expect in one_line(err) and str(lookup) in err
        assert out.read_text() == 'old\n'


def test_bad_test_image_is_refused_before_writing(trained, tmp_path, capsys):
    _, model_dir, _ = trained
    write_csv(tmp_path / 'test.csv', ['ImageId', 'Image'],
              [[1, image_field()], [2, image_field(np.zeros(100, int))]])
    shutil.copy(os.path.join(trained[0], 'IdLookupTable.csv'), tmp_path)
    status, err = predict_cli(capsys, '--data-dir', str(tmp_path), '--model-dir', model_dir,
                              '--output', str(tmp_path / 's.csv'))
    assert status == 2 and 'test.csv line 3: the Image has 100 values' in one_line(err)
    assert not os.path.exists(tmp_path / 's.csv')


def test_scripts_exit_2_without_traceback(tmp_path):
    status, out, err = run_script('run_train.py', '--data-dir', str(tmp_path))
    assert status == 2 and 'Traceback' not in err
    assert err.strip().splitlines()[-1].startswith('error: found no training data')
    status, out, err = run_script('run_predict.py', '--data-dir', str(tmp_path))
    assert status == 2 and 'Traceback' not in err
    assert 'error: no test.csv in' in err.strip().splitlines()[-1]


def test_model_dir_with_a_checkpoint_is_not_silently_overwritten(trained, capsys):
    data_dir, model_dir, _ = trained
    before = sorted(os.listdir(model_dir))
    status, err = train_cli(capsys, '--data-dir', data_dir, '--model-dir', model_dir)
    assert status == 2 and '--resume' in one_line(err) and '--overwrite' in err
    assert sorted(os.listdir(model_dir)) == before


def test_help_explains_every_flag_with_its_default():
    for script in ('run_train.py', 'run_predict.py'):
        status, out, _ = run_script(script, '--help')
        assert status == 0 and '--data-dir' in out and 'default' in out
    _, out, _ = run_script('run_train.py', '--help')
    for flag in ('--model-dir', '--epochs', '--batch-size', '--validation-size', '--patience',
                 '--learning-rate', '--seed', '--demo', '--recipe'):
        assert flag in out
