"""Nothing lost when a run is killed, exact resume, repeatable runs, save failures."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import (fit, make_tiny_data, run_main, run_script, script_command, tiny_config,
                      use_small_post_model, with_ctrl_c)
from facial_keypoints import train as train_module
from facial_keypoints.improved import train as improved_train
from facial_keypoints.runs import checkpoints, jsonfiles
from facial_keypoints.runs.config import TrainConfig, saved_options
from facial_keypoints.data import input_data
from facial_keypoints.runs.errors import Interrupted, UserError
from facial_keypoints.improved.settings import Options
from facial_keypoints.serving.predictor import Predictor
from facial_keypoints.runs import progress
from facial_keypoints.runs.loop import evaluate

QUIET = dict(log=lambda *a: None)


def val_curve(result):
    return [h['validation_rmse_px'] for h in result['history']]


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    return make_tiny_data(tmp_path_factory.mktemp('rel') / 'data', n_train=60)


@pytest.mark.usefixtures('small_post_network')
def test_same_seed_same_numbers_every_epoch(data_dir, tmp_path):
    a = fit(tiny_config(data_dir, tmp_path / 'a', epochs=3, seed=11))
    b = fit(tiny_config(data_dir, tmp_path / 'b', epochs=3, seed=11))
    c = fit(tiny_config(data_dir, tmp_path / 'c', epochs=3, seed=12))
    assert val_curve(a) == val_curve(b)
    assert val_curve(a) != val_curve(c)


# The improved recipe's network with a dense layer, the one that has dropout.
DENSE = Options(channels=(8, 16, 16), fc_units=32)


@pytest.mark.usefixtures('small_post_network')
@pytest.mark.parametrize('recipe', ['blog', 'improved'])
def test_ctrl_c_mid_epoch_then_resume_repeats_the_uninterrupted_run(data_dir, tmp_path, recipe,
                                                                    monkeypatch):
    """Dropout on in both recipes: its masks, like every other random draw,
    follow the seed and the step, so the resumed run is the same bit for bit."""
    kw = dict(epochs=4, recipe=recipe, patience=10, keep_prob=0.5, state_every_seconds=0,
              options=DENSE if recipe == 'improved' else None)
    full = fit(tiny_config(data_dir, tmp_path / 'full', **kw))

    epochs_begun = set()

    def interrupted_in_epoch_2(n, batch_size, label, *args):
        # Ctrl-C while epoch 2's (the third's) first batch runs: the run stops
        # before its second batch, with epochs 0 and 1 saved.
        epochs_begun.add(label)
        for k, j in enumerate(progress.batches(n, batch_size, label, *args)):
            if len(epochs_begun) == 3 and k == 0:
                os.kill(os.getpid(), signal.SIGINT)
            yield j
    with monkeypatch.context() as patched, pytest.raises(
            Interrupted, match=r'--resume continues from the training state saved after epoch 1'):
        patched.setattr(train_module if recipe == 'blog' else improved_train, 'batches',
                        interrupted_in_epoch_2)
        fit(tiny_config(data_dir, tmp_path / 'part', quiet=False, **kw), handle_ctrl_c=True)
    lines = []
    rest = fit(tiny_config(data_dir, tmp_path / 'part', resume=True, quiet=False,
                           **dict(kw, recipe=None, validation_size=None, options=None)),
               log=lines.append)
    assert any(l.startswith('resuming') and 'at epoch 2' in l for l in lines), lines
    assert val_curve(rest) == val_curve(full)
    assert rest['best_validation_rmse_px'] == full['best_validation_rmse_px']


@pytest.mark.usefixtures('small_post_network')
def test_extra_passes_through_the_network_leave_resume_exact(data_dir, tmp_path):
    """Dropout's masks follow the training step, not how often the network
    ran: each validation here runs twice, through the dropout layer, and the
    resumed run is still the uninterrupted one bit for bit, weights included."""
    def twice(sess, rmse, feed, batch_size):
        evaluate(sess, rmse, feed, batch_size)
        return evaluate(sess, rmse, feed, batch_size)
    kw = dict(epochs=3, patience=10, keep_prob=0.5)
    full = fit(tiny_config(data_dir, tmp_path / 'full', **kw), validation_rmse=twice)
    fit(tiny_config(data_dir, tmp_path / 'part', **dict(kw, epochs=1)), validation_rmse=twice)
    rest = fit(tiny_config(data_dir, tmp_path / 'part', resume=True, epochs=3, seed=None,
                           batch_size=None, validation_size=None, keep_prob=None),
               validation_rmse=twice)
    assert val_curve(rest) == val_curve(full)
    weights = [tf.train.load_checkpoint(checkpoints.last_checkpoint(str(tmp_path / m)))
               for m in ('full', 'part')]
    for name in weights[0].get_variable_to_shape_map():
        assert np.array_equal(weights[0].get_tensor(name), weights[1].get_tensor(name)), name


@pytest.mark.usefixtures('small_post_network')
def test_training_from_python_leaves_matplotlib_and_ctrl_c_alone(data_dir, tmp_path):
    import matplotlib
    before = matplotlib.get_backend()
    matplotlib.use('svg')               # anything but the Agg the pictures are drawn with
    handler = signal.getsignal(signal.SIGINT)
    try:
        for handle_ctrl_c in (False, True):
            fit(tiny_config(data_dir, tmp_path / str(handle_ctrl_c), epochs=1),
                handle_ctrl_c=handle_ctrl_c)
            assert matplotlib.get_backend() == 'svg'
            assert signal.getsignal(signal.SIGINT) is handler
            assert (tmp_path / str(handle_ctrl_c) / 'learning_curve.png').read_bytes()[:4] == \
                b'\x89PNG'
    finally:
        matplotlib.use(before)


@pytest.mark.usefixtures('small_post_network')
def test_resume_takes_the_saved_settings_and_refuses_changing_them(data_dir, tmp_path):
    model_dir = tmp_path / 'm'
    fit(tiny_config(data_dir, model_dir, epochs=1, batch_size=8, seed=5))
    with pytest.raises(UserError, match=r'trained with --seed 5; a resumed run keeps it'):
        fit(tiny_config(data_dir, model_dir, resume=True, seed=99, batch_size=None))
    result = fit(tiny_config(data_dir, model_dir, resume=True, epochs=2, seed=None,
                             batch_size=None, validation_size=None))
    hp = jsonfiles.read_hparams(str(model_dir))
    assert hp['batch_size'] == 8 and hp['seed'] == 5 and hp['epochs'] == 2
    assert [h['epoch'] for h in result['history']] == [0, 1]


@pytest.mark.usefixtures('small_post_network')
def test_resuming_a_finished_run_says_so_and_changes_nothing(data_dir, tmp_path):
    model_dir = tmp_path / 'm'
    fit(tiny_config(data_dir, model_dir, epochs=2, patience=10))

    def files():
        return {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in model_dir.iterdir()}
    before = files()
    again = dict(resume=True, seed=None, batch_size=None, validation_size=None)
    with pytest.raises(UserError, match=r'has trained 2 epochs; give --epochs above 2 to go on'):
        fit(tiny_config(data_dir, model_dir, **again))
    # As if its best had been epoch 0: with a patience of 1 it had stopped early.
    state = model_dir / 'last-2.json'
    state.write_text(json.dumps(dict(json.loads(state.read_text()), best_epoch=0)))
    before['last-2.json'] = (state.read_bytes(), state.stat().st_mtime_ns)
    with pytest.raises(UserError, match=r'stopped early, its last 1 epoch no better than epoch 0; '
                                        r'give --patience above 1 to go on'):
        fit(tiny_config(data_dir, model_dir, epochs=5, patience=1, **again))
    assert files() == before
    # Killed after its last epoch, before its result was written: resuming finishes it.
    hp = jsonfiles.read_hparams(str(model_dir))
    del hp['best']
    jsonfiles.write_hparams(str(model_dir), hp)
    result = fit(tiny_config(data_dir, model_dir, **again))
    assert result['epochs_now'] == 0
    assert jsonfiles.read_hparams(str(model_dir))['best']['epochs_run'] == 2
    result = fit(tiny_config(data_dir, model_dir, epochs=3, patience=10, **again))
    assert [h['epoch'] for h in result['history']] == [0, 1, 2]


def test_resume_keeps_the_improved_runs_own_networks(data_dir, tmp_path):
    """A run of one small network (an ablation) resumes as that network, not
    as the recipe's."""
    model_dir = tmp_path / 'm'
    one = Options(channels=(4, 8), fc_units=16, members=1)
    fit(tiny_config(data_dir, model_dir, recipe='improved', epochs=1, options=one))
    assert TrainConfig.for_run(model_dir=str(model_dir), resume=True).options == one
    result = fit(tiny_config(data_dir, model_dir, resume=True, epochs=2, seed=None,
                             recipe=None, validation_size=None))
    assert [h['epoch'] for h in result['history']] == [0, 1]
    with Predictor(str(model_dir)) as p:
        assert p.recipe == 'improved' and p.predict(np.zeros((1, 96, 96, 1), np.float32)).shape \
            == (1, 30)
    assert jsonfiles.read_hparams(str(model_dir))['improved']['members'] == 1
    with pytest.raises(UserError, match=r'was trained with Options\(.*members=1\); a resumed '
                                        r'run keeps it'):
        TrainConfig.for_run(model_dir=str(model_dir), resume=True, options=Options())


def test_weight_decay_saved_as_on_or_off_reads_as_the_strength_it_trained_with():
    """Model folders saved weight decay as true or false before its strength
    could change: true trained with 0.5, false (or nothing) without; a
    strength is kept as saved, and one no run could train with is refused."""
    assert saved_options({'weight_decay': True}, 'h').weight_decay == 0.5
    assert saved_options({'weight_decay': False}, 'h').weight_decay == 0.0
    assert saved_options({}, 'h').weight_decay == 0.0
    assert saved_options({'weight_decay': 1.0}, 'h').weight_decay == 1.0
    assert saved_options({'weight_decay': 1}, 'h').weight_decay == 1.0
    for bad in (-0.5, float('nan'), '0.5'):
        with pytest.raises(UserError, match="h has no valid \"improved\" setting 'weight_decay'"):
            saved_options({'weight_decay': bad}, 'h')
    with pytest.raises(ValueError, match='a strength'):
        Options(weight_decay=True)
    for bad in (-0.5, float('nan'), 1000.0):
        with pytest.raises(ValueError, match='0 or more, and under 1000'):
            Options(weight_decay=bad)


def test_heat_maps_saved_by_no_size_read_as_24_cells_and_an_impossible_size_is_refused():
    """Runs before the size could change drew 24x24 maps; a size no stage of a
    96-pixel face has is an edited file."""
    assert saved_options({}, 'h').heat_map_size == 24
    assert saved_options({'heat_map_size': 48}, 'h').heat_map_size == 48
    for bad in (40, 0, 48.0):
        with pytest.raises(UserError, match="h has no valid \"improved\" setting 'heat_map_size'"):
            saved_options({'heat_map_size': bad}, 'h')
    with pytest.raises(ValueError, match='heat_map_size must be one of'):
        Options(heat_map_size=40)


def test_network_sizes_no_run_can_build_are_refused_from_python_and_from_saved_files():
    """Options and a saved hparams.json accept the same sizes: channels and
    members of 1 or more, fc_units of 0 (heat maps) or more, whole numbers."""
    for k, v in (('channels', ()), ('channels', (8, 0)), ('channels', (8, True)),
                 ('members', 0), ('fc_units', -1)):
        with pytest.raises(ValueError, match=r'Options\.{} must be (a )?whole numbers? of [01] '
                                             r'or more.*, not {}'.format(k, re.escape(repr(v)))):
            Options(**{k: v})
        with pytest.raises(UserError, match="h has no valid \"improved\" setting '{}'".format(k)):
            saved_options({k: list(v) if isinstance(v, tuple) else v}, 'h')
    for k, v in (('channels', 8), ('members', 2.0), ('members', '2'), ('members', np.int64(2)),
                 ('weight_decay', '0.5')):
        with pytest.raises(ValueError, match=r'Options\.{} .*, not {}$'.format(
                k, re.escape(repr(v)))):
            Options(**{k: v})
    sizes = saved_options({'channels': [4, 8], 'members': 1, 'fc_units': 0}, 'h')
    assert (sizes.channels, sizes.members, sizes.fc_units) == ((4, 8), 1, 0)
    assert Options(weight_decay=np.float64(0.5)).weight_decay == 0.5     # a float: JSON holds it
    assert Options(channels=[4, 8]) == Options(channels=(4, 8))        # as loaded again
    assert hash(Options(channels=[4, 8])) == hash(Options(channels=(4, 8)))


@pytest.mark.usefixtures('small_post_network')
def test_save_failure_is_a_clear_error_and_keeps_the_previous_checkpoint(
        data_dir, tmp_path, monkeypatch):
    model_dir = tmp_path / 'm'
    fit(tiny_config(data_dir, model_dir, epochs=1))
    before = checkpoints.best_checkpoint(str(model_dir))

    def full_disk(self, sess, path, *a, **kw):
        raise tf.errors.ResourceExhaustedError(
            None, None, 'Graph execution error:\n\nDetected at node save/SaveV2\n'
                        'could not write file: No space left on device')
    monkeypatch.setattr(tf.compat.v1.train.Saver, 'save', full_disk)
    with pytest.raises(UserError, match=r'cannot save a checkpoint in .*: No space left on '
                                        r'device; the previous one, (model|last)-\d+, is '
                                        r'unchanged'):
        fit(tiny_config(data_dir, model_dir, epochs=3, resume=True))
    monkeypatch.undo()
    assert checkpoints.best_checkpoint(str(model_dir)) == before


def test_the_disk_check_asks_for_what_a_checkpoint_takes(trained):
    """A checkpoint's size is told from its variables' shapes and types before
    it is written: no less than the files then take, and at most 2% more."""
    from facial_keypoints.model import model, placeholders
    tf1 = tf.compat.v1
    model_dir = trained[1]
    with tf.Graph().as_default() as graph:      # the graph train() builds
        x, y_, keep_prob = placeholders()
        step = tf1.train.get_or_create_global_step()
        _, rmse = model(x, y_, keep_prob)
        tf1.train.AdamOptimizer(1e-3).minimize(rmse, global_step=step)
        for saver, path in ((checkpoints.saver(tf1.trainable_variables()),
                             checkpoints.best_checkpoint(model_dir)),
                            (checkpoints.saver(), checkpoints.last_checkpoint(model_dir))):
            folder, stem = os.path.split(path)
            taken = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)
                        if n.startswith(stem + '.') and not n.endswith('.json'))
            assert taken <= checkpoints._bytes_to_save(saver, graph) <= taken * 1.02, path


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


def start_training(data_dir, model_dir, small_post=False):
    return subprocess.Popen(
        script_command('run_train.py', small_post) + [
            '--data-dir', data_dir, '--model-dir', model_dir, '--epochs', '200',
            '--patience', '200', '--batch-size', '8', '--validation-size', '8', '--seed', '1'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=with_ctrl_c)


def wait_for(path, proc, timeout=120):
    end = time.time() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < end, 'no checkpoint within {} s'.format(timeout)
        time.sleep(0.05)


@pytest.mark.slow
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


@pytest.mark.usefixtures('small_post_network')      # in this process, to resume
def test_ctrl_c_says_what_was_kept_and_resumes(data_dir, tmp_path):
    model_dir = str(tmp_path / 'interrupted')
    proc = start_training(data_dir, model_dir, small_post=True)
    wait_for(os.path.join(model_dir, 'checkpoint'), proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert 'interrupted: the best model so far is' in out and 'Traceback' not in out
    with open(os.path.join(model_dir, 'history.json')) as f:
        epochs = len(json.load(f)) + 2         # the small network is quick: two more
    status, stdout, err = run_main('run_train.py', '--model-dir', model_dir, '--resume',
                                   '--epochs', str(epochs))
    assert status == 0, err
    assert 'resuming' in stdout


@pytest.mark.usefixtures('small_post_network')
def test_a_model_folder_can_be_moved_or_copied(data_dir, tmp_path):
    first = tmp_path / 'first'
    fit(tiny_config(data_dir, first.resolve(), epochs=2))        # an absolute --model-dir
    X, _ = input_data(data_dir=data_dir)
    with Predictor(str(first)) as p:
        expected = p.predict(X[:4])
    moved, copied = tmp_path / 'moved', tmp_path / 'copied'
    shutil.copytree(first, copied)
    os.rename(first, moved)
    for folder in (moved, copied):
        with Predictor(str(folder)) as p:
            assert p.checkpoint.startswith(str(folder))
            assert np.array_equal(p.predict(X[:4]), expected)
    shutil.rmtree(moved)
    result = fit(tiny_config(data_dir, copied, resume=True, epochs=3, seed=None,
                             batch_size=None, validation_size=None))
    assert [h['epoch'] for h in result['history']] == [0, 1, 2]
    assert checkpoints.best_checkpoint(str(copied)).startswith(str(copied))
    assert not moved.exists()


@pytest.mark.usefixtures('small_post_network')
def test_overwrite_removes_only_what_a_run_wrote(data_dir, tmp_path):
    model_dir = tmp_path / 'm'
    fit(tiny_config(data_dir, model_dir, epochs=1))
    mine = ['model-notes.txt', 'last-minute-todo.txt', 'notes.md']
    for name in mine:
        (model_dir / name).write_text('mine')
    (model_dir / 'model-old').mkdir()
    (model_dir / 'model-old' / 'x.index').write_text('mine')
    fit(tiny_config(data_dir, model_dir, epochs=1, overwrite=True, seed=4))
    for name in mine:
        assert (model_dir / name).read_text() == 'mine'
    assert (model_dir / 'model-old' / 'x.index').read_text() == 'mine'
    assert jsonfiles.read_hparams(str(model_dir))['seed'] == 4


def test_outputs_follow_the_umask_and_keep_an_existing_files_mode(trained, tmp_path,
                                                                  monkeypatch):
    from facial_keypoints.predict import write_submission
    data_dir, model_dir, _ = trained
    old = os.umask(0o022)
    try:
        write_submission(data_dir, model_dir, str(tmp_path / 'new.csv'), log=lambda *a: None)
        kept = tmp_path / 'kept.csv'
        kept.write_text('RowId,Location\n')     # an earlier submission, to replace
        os.chmod(kept, 0o640)
        write_submission(data_dir, model_dir, str(kept), log=lambda *a: None)
        with monkeypatch.context() as patched:
            use_small_post_model(patched)
            fit(tiny_config(data_dir, tmp_path / 'm', epochs=1))
    finally:
        os.umask(old)
    assert oct(os.stat(tmp_path / 'new.csv').st_mode & 0o777) == '0o644'
    assert oct(os.stat(kept).st_mode & 0o777) == '0o640'
    for name in ('hparams.json', 'history.json', 'learning_curve.png'):
        assert oct(os.stat(tmp_path / 'm' / name).st_mode & 0o777) == '0o644', name
