"""Nothing lost when a run is killed, exact resume, repeatable runs, save failures."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import tensorflow as tf

from conftest import ROOT, make_tiny_data, run_script, tiny_config
from facial_keypoints import checkpoints
from facial_keypoints.errors import UserError
from facial_keypoints.train import train

QUIET = dict(log=lambda *a: None)


def val_curve(result):
    return [h['validation_rmse_px'] for h in result['history']]


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    return make_tiny_data(tmp_path_factory.mktemp('rel') / 'data', n_train=60)


def test_same_seed_same_numbers_every_epoch(data_dir, tmp_path):
    a = train(tiny_config(data_dir, tmp_path / 'a', epochs=3, seed=11), **QUIET)
    b = train(tiny_config(data_dir, tmp_path / 'b', epochs=3, seed=11), **QUIET)
    c = train(tiny_config(data_dir, tmp_path / 'c', epochs=3, seed=12), **QUIET)
    assert val_curve(a) == val_curve(b)
    assert val_curve(a) != val_curve(c)


@pytest.mark.parametrize('recipe', ['blog', 'improved'])
def test_ctrl_c_mid_epoch_then_resume_repeats_the_uninterrupted_run(data_dir, tmp_path, recipe):
    kw = dict(epochs=4, recipe=recipe, patience=10)
    full = train(tiny_config(data_dir, tmp_path / 'full', **kw), **QUIET)

    def interrupt_soon(line):
        # Once epoch 1 is done, Ctrl-C lands somewhere inside epoch 2.
        if line.startswith('epoch 1 done'):
            threading.Timer(0.15, os.kill, (os.getpid(), signal.SIGINT)).start()
    part = train(tiny_config(data_dir, tmp_path / 'part', quiet=False, **kw), log=interrupt_soon)
    assert part['interrupted'] and part['epochs_run'] == 2
    lines = []
    rest = train(tiny_config(data_dir, tmp_path / 'part', resume=True, quiet=False, **kw),
                 log=lines.append)
    assert any(l.startswith('resuming') and 'at epoch 2, batch' in l for l in lines), lines
    assert val_curve(rest) == val_curve(full)
    assert rest['best_validation_rmse_px'] == full['best_validation_rmse_px']


def test_save_failure_is_a_clear_error_and_keeps_the_previous_checkpoint(
        data_dir, tmp_path, monkeypatch):
    model_dir = tmp_path / 'm'
    train(tiny_config(data_dir, model_dir, epochs=1), **QUIET)
    before = checkpoints.best_checkpoint(str(model_dir))
    real_save = tf.compat.v1.train.Saver.save

    def full_disk(self, sess, path, *a, **kw):
        raise tf.errors.ResourceExhaustedError(None, None, 'No space left on device')
    monkeypatch.setattr(tf.compat.v1.train.Saver, 'save', full_disk)
    with pytest.raises(UserError, match=r'cannot save a checkpoint in .*No space left'):
        train(tiny_config(data_dir, model_dir, epochs=3, resume=True), **QUIET)
    monkeypatch.setattr(tf.compat.v1.train.Saver, 'save', real_save)
    assert checkpoints.best_checkpoint(str(model_dir)) == before


@pytest.mark.skipif(hasattr(os, 'geteuid') and os.geteuid() == 0,
                    reason='root writes into read-only folders')
def test_read_only_model_dir(data_dir, tmp_path):
    model_dir = tmp_path / 'ro'
    train(tiny_config(data_dir, model_dir, epochs=1), **QUIET)
    files = sorted(os.listdir(model_dir))
    os.chmod(model_dir, 0o555)
    try:
        status, _, err = run_script('run_train.py', '--data-dir', data_dir, '--model-dir',
                                    str(model_dir), '--resume')
    finally:
        os.chmod(model_dir, 0o755)
    assert status == 2 and 'is not writable' in err
    assert sorted(os.listdir(model_dir)) == files


def start_training(data_dir, model_dir):
    return subprocess.Popen(
        [sys.executable, os.path.join(ROOT, 'run_train.py'), '--data-dir', data_dir,
         '--model-dir', model_dir, '--epochs', '200', '--patience', '200',
         '--batch-size', '8', '--validation-size', '8', '--seed', '1'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(path, proc, timeout=120):
    end = time.time() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < end, 'no checkpoint within {} s'.format(timeout)
        time.sleep(0.05)


def test_kill_9_leaves_a_checkpoint_that_predicts(data_dir, tmp_path):
    model_dir = str(tmp_path / 'killed')
    proc = start_training(data_dir, model_dir)
    wait_for(os.path.join(model_dir, 'checkpoint'), proc)
    # Kill while it keeps saving: a few epochs on, at an arbitrary moment.
    time.sleep(1.3)
    proc.kill()
    proc.wait()
    out = str(tmp_path / 'submit.csv')
    status, stdout, err = run_script('run_predict.py', '--data-dir', data_dir, '--model-dir',
                                     model_dir, '--output', out)
    assert status == 0, err
    assert sum(1 for _ in open(out)) > 1
    status, stdout, err = run_script('run_train.py', '--data-dir', data_dir, '--model-dir',
                                     model_dir, '--resume', '--epochs', '1')
    assert status == 0, err
    assert 'resuming' in stdout


def test_ctrl_c_saves_says_where_and_resumes(data_dir, tmp_path):
    model_dir = str(tmp_path / 'interrupted')
    proc = start_training(data_dir, model_dir)
    wait_for(os.path.join(model_dir, 'checkpoint_last'), proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert 'interrupted: training state saved in' in out and 'Traceback' not in out
    saved = [l for l in out.splitlines() if l.startswith('interrupted')][0]
    path = saved.split('saved in ')[1].split(' ')[0]
    assert os.path.exists(path + '.index')
    status, stdout, err = run_script('run_train.py', '--data-dir', data_dir, '--model-dir',
                                     model_dir, '--resume', '--epochs', '200', '--patience',
                                     '1', '--batch-size', '8', '--validation-size', '8')
    assert status == 0, err
    assert 'resuming {} at epoch'.format(path) in stdout
