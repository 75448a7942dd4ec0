"""Exported models: a SavedModel and a .tflite file that give the project's own
numbers in a process that cannot import the project."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import run_predict
from conftest import float32_close
from facial_keypoints.runs import cli
from facial_keypoints import constants, data
from facial_keypoints.runs.errors import UserError
from facial_keypoints.serving.export import export
from facial_keypoints.serving.predictor import Predictor

# Loads the export where the package cannot be imported, even where it is
# installed (pip install .): None in sys.modules makes every import of it fail.
OUTSIDER = r'''
import json, sys
import numpy as np
import tensorflow as tf
sys.modules['facial_keypoints'] = None
folder, images = sys.argv[1], np.load(sys.argv[2])
model = tf.saved_model.load(folder)
keypoints = model.signatures['serving_default'](images=tf.constant(images))['keypoints'].numpy()
columns = [c.decode() for c in model.signatures['keypoint_columns']()['keypoint_columns'].numpy()]
lite = tf.lite.Interpreter(model_path=folder + '/keypoints.tflite')
run = lite.get_signature_runner('serving_default')
tflite = run(images=images)['keypoints']
np.save(sys.argv[3], np.stack([keypoints, tflite]))
print(json.dumps(columns))
'''


@pytest.mark.parametrize('which', ['blog', 'improved'])
def test_export_predicts_like_the_model_folder_outside_the_project(
        which, trained, blog_export, improved_model, tmp_path):
    if which == 'blog':
        (data_dir, model_dir, _), out = trained, blog_export
    else:
        (data_dir, model_dir), out = improved_model, str(tmp_path / 'export')
        export(model_dir, out, log=lambda *a: None)
    X, _ = data.test_data(data_dir)
    with Predictor(model_dir) as p:
        expected = p.predict(X)
    images = np.round(X * 255).astype(np.uint8)
    np.save(tmp_path / 'images.npy', images)
    script = tmp_path / 'outsider.py'
    script.write_text(OUTSIDER)
    # -I: no PYTHONPATH, no user site, and not this project's folder on sys.path.
    p = subprocess.run([sys.executable, '-I', str(script), out, str(tmp_path / 'images.npy'),
                        str(tmp_path / 'got.npy')], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    saved_model, tflite = np.load(tmp_path / 'got.npy')
    assert float32_close(saved_model, expected)
    assert np.abs(tflite - expected).max() < 0.05
    assert json.loads(p.stdout.strip().splitlines()[-1]) == constants.KEYPOINT_COLUMNS
    assert json.load(open(os.path.join(out, 'export.json')))['recipe'] == which
    # and the project itself predicts with the export as with the model folder
    with Predictor(out) as p:
        assert float32_close(p.predict(X), expected)


def test_saved_model_cli_lists_the_signature(blog_export):
    cli = shutil.which('saved_model_cli')
    if cli is None:
        pytest.skip('saved_model_cli is not on PATH')
    p = subprocess.run([cli, 'show', '--dir', blog_export, '--all'], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0
    assert "signature_def['serving_default']" in p.stdout
    assert "inputs['images']" in p.stdout and 'DT_UINT8' in p.stdout
    assert "outputs['keypoints']" in p.stdout and 'shape: (-1, 30)' in p.stdout


def test_run_predict_takes_an_export_as_model_dir(trained, blog_export, tmp_path):
    data_dir, model_dir, _ = trained
    for folder, name in ((model_dir, 'a.csv'), (blog_export, 'b.csv')):
        cli.predict_main(run_predict.parse_args(['--data-dir', data_dir, '--model-dir', folder,
                                                 '--output', str(tmp_path / name)]))
    a, b = pd.read_csv(tmp_path / 'a.csv'), pd.read_csv(tmp_path / 'b.csv')
    assert list(a.RowId) == list(b.RowId)
    assert float32_close(a.Location, b.Location)


def test_export_never_writes_into_an_existing_folder(trained, tmp_path):
    (tmp_path / 'taken').mkdir()
    (tmp_path / 'taken' / 'mine.txt').write_text('keep')
    with pytest.raises(UserError, match='already exists'):
        export(trained[1], str(tmp_path / 'taken'))
    assert os.listdir(tmp_path / 'taken') == ['mine.txt']
    assert sorted(os.listdir(tmp_path)) == ['taken']
