"""Nothing lost when a run is killed, exact resume, repeatable runs, save failures."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import tensorflow as tf

from conftest import ROOT, fit, make_tiny_data, run_script, tiny_config
from facial_keypoints import modeldir
from facial_keypoints.errors import Interrupted, UserError

QUIET = dict(log=lambda *a: None)


def val_curve(result):
    return [h['validation_rmse_px'] for h in result['history']]


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    return make_tiny_data(tmp_path_factory.mktemp('rel') / 'data', n_train=60)


def test_same_seed_same_numbers_every_epoch(data_dir, tmp_path):
    a = fit(tiny_config(data_dir, tmp_path / 'a', epochs=3, seed=11))
    b = fit(tiny_config(data_dir, tmp_path / 'b', epochs=3, seed=11))
    c = fit(tiny_config(data_dir, tmp_path / 'c', epochs=3, seed=12))
    assert val_curve(a) == val_curve(b)
    assert val_curve(a) != val_curve(c)


@pytest.mark.parametrize('recipe', ['blog', 'improved'])
def test_ctrl_c_mid_epoch_then_resume_repeats_the_uninterrupted_run(data_dir, tmp_path, recipe):
    kw = dict(epochs=4, recipe=recipe, patience=10)
    full = fit(tiny_config(data_dir, tmp_path / 'full', **kw))

    def interrupt_soon(line):
        # Once epoch 1 is done, Ctrl-C lands somewhere inside epoch 2.
        if line.startswith('epoch 1 done'):
            threading.Timer(0.15, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(Interrupted, match=r'--resume continues from the training state saved '
                                          r'after epoch 1'):
        fit(tiny_config(data_dir, tmp_path / 'part', quiet=False, **kw), log=interrupt_soon)
    lines = []
    rest = fit(tiny_config(data_dir, tmp_path / 'part', resume=True, quiet=False,
                           **dict(kw, recipe=None, validation_size=None)),
               log=lines.append)
    assert any(l.startswith('resuming') and 'at epoch 2' in l for l in lines), lines
    assert val_curve(rest) == val_curve(full)
    assert rest['best_validation_rmse_px'] == full['best_validation_rmse_px']


def test_resume_takes_the_saved_settings_and_refuses_changing_them(data_dir, tmp_path):
    model_dir = tmp_path / 'm'
    fit(tiny_config(data_dir, model_dir, epochs=1, batch_size=8, seed=5))
    with pytest.raises(UserError, match=r'trained with --seed 5; a resumed run keeps it'):
        fit(tiny_config(data_dir, model_dir, resume=True, seed=99, batch_size=None))
    result = fit(tiny_config(data_dir, model_dir, resume=True, epochs=2, seed=None,
                             batch_size=None, validation_size=None))
    hp = modeldir.read_hparams(str(model_dir))
    assert hp['batch_size'] == 8 and hp['seed'] == 5 and hp['epochs'] == 2
    assert [h['epoch'] for h in result['history']] == [0, 1]


def test_save_failure_is_a_clear_error_and_keeps_the_previous_checkpoint(
        data_dir, tmp_path, monkeypatch):
    model_dir = tmp_path / 'm'
    fit(tiny_config(data_dir, model_dir, epochs=1))
    before = modeldir.best_checkpoint(str(model_dir))

    def full_disk(self, sess, path, *a, **kw):
        raise tf.errors.ResourceExhaustedError(
            None, None, 'Graph execution error:\n\nDetected at node save/SaveV2\n'
                        'could not write file: No space left on device')
    monkeypatch.setattr(tf.compat.v1.train.Saver, 'save', full_disk)
    with pytest.raises(UserError, match=r'cannot save a checkpoint in .*: No space left on '
                                        r'device; the previous one is unchanged'):
        fit(tiny_config(data_dir, model_dir, epochs=3, resume=True))
    monkeypatch.undo()
    assert modeldir.best_checkpoint(str(model_dir)) == before


@pytest.mark.skipif(hasattr(os, 'geteuid') and os.geteuid() == 0,
                    reason='root writes into read-only folders')
def test_read_only_model_dir(data_dir, tmp_path):
    model_dir = tmp_path / 'ro'
    fit(tiny_config(data_dir, model_dir, epochs=1))
    files = sorted(os.listdir(model_dir))
    os.chmod(model_dir, 0o555)
    try:
        status, _, err = run_script('run_train.py', '--model-dir', str(model_dir), '--resume')
    finally:
        os.chmod(model_dir, 0o755)
    assert status == 2 and str(model_dir) in err
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
    # The lock died with the process: the run can be resumed at once.
    status, stdout, err = run_script('run_train.py', '--model-dir', model_dir, '--resume',
                                     '--epochs', '1')
    assert status == 0, err
    assert 'resuming' in stdout


def test_ctrl_c_says_what_was_kept_and_resumes(data_dir, tmp_path):
    model_dir = str(tmp_path / 'interrupted')
    proc = start_training(data_dir, model_dir)
    wait_for(os.path.join(model_dir, 'checkpoint'), proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert 'interrupted: the best model so far is' in out and 'Traceback' not in out
    status, stdout, err = run_script('run_train.py', '--model-dir', model_dir, '--resume',
                                     '--epochs', '3')
    assert status == 0, err
    assert 'resuming' in stdout
