"""Shared fixtures: tiny data sets in Kaggle's layout, made by the tests."""

import fcntl
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, '..', 'shared', 'data')
sys.path.insert(0, ROOT)

from facial_keypoints.files import demo  # noqa: E402
from facial_keypoints.runs.config import TrainConfig  # noqa: E402
from facial_keypoints.train import train  # noqa: E402


def shared_path(*parts):
    """Path in the optional folder of real data sets (SHARED), or skip the test
    when it is absent, as in a user's clone."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip('the real data sets are not here')
    return path


def make_tiny_data(folder, n_train=48, n_test=6, seed=7):
    demo.make_demo_data(folder, n_train=n_train, n_test=n_test, seed=seed, log=lambda *a: None)
    return str(folder)


@pytest.fixture
def tiny_data(tmp_path):
    return make_tiny_data(tmp_path / 'data')


def tiny_config(data_dir, model_dir, **kw):
    """Two epochs of batches of 16. The training state (97 MB for the post's
    network) is saved once a minute and at the end, as in a run: a test that
    stops a run mid-way gives state_every_seconds=0, to have it after every epoch."""
    base = dict(data_dir=data_dir, model_dir=str(model_dir), epochs=2, batch_size=16,
                validation_size=8, seed=3, quiet=True)
    if kw.get('recipe') == 'improved':
        del base['validation_size']
    base.update(kw)
    return TrainConfig.for_run(**base)


def fit(cfg, log=lambda *a: None, **kw):
    """Train with cfg's recipe, quietly; kw: train()'s or train_improved()'s."""
    if cfg.recipe == 'improved':
        from facial_keypoints.improved.train import train_improved
        return train_improved(cfg, log=log, **kw)
    return train(cfg, log=log, **kw)


def made_once(tmp_path_factory, name, make):
    """(folder, what make returned): a folder called name filled by make(folder)
    once for all of pytest-xdist's workers (the first to get here makes it
    while the others wait), for the tests to read; make returns what JSON holds."""
    if os.environ.get('PYTEST_XDIST_WORKER'):
        root = tmp_path_factory.getbasetemp().parent / name     # this session's, shared
        root.mkdir(exist_ok=True)
    else:
        root = tmp_path_factory.mktemp(name)
    done = root / 'made.json'
    with open(root / 'lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            for left in (root / n for n in os.listdir(root) if n != 'lock'):
                shutil.rmtree(left) if left.is_dir() else left.unlink()    # a failed try's
            (root / 'made.tmp').write_text(json.dumps(make(root)))
            os.replace(root / 'made.tmp', done)
    return root, json.loads(done.read_text())


@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    """A blog model trained for 2 epochs on tiny data: (data_dir, model_dir, result)."""
    root, result = made_once(tmp_path_factory, 'trained', lambda root: train(
        tiny_config(make_tiny_data(root / 'data'), root / 'model'), log=lambda *a: None))
    return str(root / 'data'), str(root / 'model'), result


@pytest.fixture(scope='session')
def blog_export(trained, tmp_path_factory):
    """The trained model exported (serving.export): the export's folder."""
    from facial_keypoints.serving.export import export
    root, out = made_once(tmp_path_factory, 'blog_export', lambda root: export(
        trained[1], str(root / 'export'), log=lambda *a: None))
    return out


def float32_close(a, b, rtol=1e-5):
    """Whether float32 results a and b agree as closely as float32 arithmetic
    done in another order (other batch sizes, graphs or CPU kernels) promises:
    within rtol (about 80 float32 ulps) of the values' magnitude, the largest
    |b|. Rounding errors grow with the terms summed, not with each result."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.allclose(a, b, rtol=0, atol=rtol * np.abs(b).max())


def copy_run(src, dst, ignore=('events.*', '*.png')):
    """Copy the model folder src (a shared fixture's) to dst for one test to
    change at will. The checkpoints' values (.data-*, nearly all the bytes)
    are hard links, read-only so that writing into one fails instead of
    changing every copy: a test damages one by replacing it (replace_bytes)."""
    def link_values(s, d):
        if '.data-' not in os.path.basename(s):
            return shutil.copy2(s, d)
        os.chmod(s, 0o444)
        os.link(s, d)
    shutil.copytree(src, dst, copy_function=link_values, ignore=shutil.ignore_patterns(*ignore))


def case_copies(trained, folder, ignore=('events.*', '*.png')):
    """Copies of the trained fixture's data (folder/data) and model
    (folder/model, copy_run's), for one test to change at will: (data
    folder, model folder), both Paths."""
    d, m = folder / 'data', folder / 'model'
    shutil.copytree(trained[0], d, ignore=shutil.ignore_patterns('.facial_keypoints_cache'))
    copy_run(trained[1], m, ignore=ignore)
    return d, m


def case_folders(trained, folder, argv, ignore=('events.*', '*.png')):
    """A table case's copies (case_copies) and its argv with {d}, {m} and {t}
    filled in: (data folder, model folder, the names filled, argv)."""
    d, m = case_copies(trained, folder, ignore)
    fill = dict(d=d, m=m, t=folder)
    return d, m, fill, [a.format(**fill) for a in argv]


@pytest.fixture
def folders(trained, tmp_path, monkeypatch):
    """(data folder, model folder, case folder): a test's copies of the trained
    run's (case_copies), the case folder being the current one."""
    monkeypatch.chdir(tmp_path)
    return case_copies(trained, tmp_path) + (tmp_path,)


def replace_bytes(path, content):
    """path's content replaced by a new file, leaving any hard link to the old alone."""
    os.remove(path)
    with open(path, 'wb') as f:
        f.write(content)


_hashes = {}


def digest(folder):
    """{path: sha1} of every plain file under folder (a FIFO is never opened).
    A file's hash is kept by inode, size and change time: a copy_run() link is
    read once."""
    out = {}
    for root, _, names in os.walk(folder):
        for n in names:
            path = os.path.join(root, n)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
                if key not in _hashes or st.st_nlink == 1:
                    with open(path, 'rb') as f:
                        _hashes[key] = hashlib.sha1(f.read()).hexdigest()
                out[path] = _hashes[key]
    return out


def with_ctrl_c():
    """preexec_fn for a child process that a test stops with SIGINT: Ctrl-C's
    default action, which Python turns into KeyboardInterrupt, even where
    pytest itself was started with SIGINT ignored (as a job started with &
    from a script is), which the child would otherwise inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def small_post_model(x, y_, keep_prob):
    """The post's model() in its shape (three convolutions and poolings, two
    dense layers, dropout, 30 outputs, the RMSE) but narrow: 4, 8 and 8
    channels and 16 units, about 17,000 weights (70 kB) against 8 million."""
    import tensorflow as tf
    from facial_keypoints.model import (bias_variable, conv2d, dropout_seed, max_pool_2x2,
                                        weight_variable)
    h = x
    for shape in ([3, 3, 1, 4], [2, 2, 4, 8], [2, 2, 8, 8]):
        h = max_pool_2x2(tf.nn.relu(conv2d(h, weight_variable(shape)) + bias_variable(shape[3:])))
    h = tf.reshape(h, [-1, 11 * 11 * 8])
    for shape in ([11 * 11 * 8, 16], [16, 16]):
        h = tf.nn.relu(tf.matmul(h, weight_variable(shape)) + bias_variable(shape[1:]))
    h = tf.nn.experimental.stateless_dropout(h, rate=1 - keep_prob, seed=dropout_seed())
    y_conv = tf.matmul(h, weight_variable([16, 30])) + bias_variable([30])
    return y_conv, tf.sqrt(tf.reduce_mean(tf.square(y_ - y_conv)))


@pytest.fixture
def small_post_network(trained, monkeypatch):
    """model() is small_post_model in this process, wherever the post's
    training, prediction and export call it: for tests of the run around the
    network, not of the network (each checkpoint 70 kB, not 32 MB, and its
    training state 0.2 MB, not 97 MB). A model trained so cannot be read by
    a fresh process. (The session's trained model is made first, full size.)"""
    use_small_post_model(monkeypatch)


def use_small_post_model(monkeypatch):
    """small_post_network's change, for monkeypatch (or one of its contexts)."""
    from facial_keypoints import model, predict, train
    from facial_keypoints.serving import export
    for module in (model, train, predict, export):
        monkeypatch.setattr(module, 'model', small_post_model)


# The improved recipe's network in its shape (six stages, heat maps, two
# members) but narrow: for tests that are about something else.
# What an earlier run's submit.csv holds, for tests that check it is left alone or replaced.
EARLIER_SUBMISSION = 'RowId,Location\n1,48.0\n'

SMALL_IMPROVED = dict(channels=(4, 8, 8, 8, 8, 8), members=2)


@pytest.fixture(scope='session')
def improved_model(tmp_path_factory):
    """An improved-recipe model (SMALL_IMPROVED) trained for 2 epochs on tiny
    data: (data_dir, model_dir)."""
    from facial_keypoints.improved.settings import Options

    def make(root):
        fit(tiny_config(make_tiny_data(root / 'data', n_train=80), root / 'model',
                        recipe='improved', epochs=2, options=Options(**SMALL_IMPROVED)))
    root, _ = made_once(tmp_path_factory, 'improved_model', make)
    return str(root / 'data'), str(root / 'model')


# python SMALL_POST_RUN SCRIPT ARGS: the script in a fresh process, with
# small_post_model for the post's network (see the file).
SMALL_POST_RUN = os.path.join(ROOT, 'tests', 'small_post_run.py')


def script_command(script, small_post=False):
    """The command line (a list) that runs script in a fresh process; with
    small_post, through SMALL_POST_RUN."""
    if small_post:
        return [sys.executable, SMALL_POST_RUN, script]
    return [sys.executable, os.path.join(ROOT, script)]


def run_script(script, *args, cwd=None):
    """Run run_train.py / run_predict.py in a fresh process: (status, stdout, stderr)."""
    p = subprocess.run(script_command(script) + list(args),
                       cwd=cwd or ROOT, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def main_status(script, argv):
    """The exit status of a run script's main() ('run_train.py', ...) run in
    this process on argv, as the script runs it (run_cli): for what a script
    says and writes, where a fresh process (TensorFlow's start-up, the
    process's own settings) is not the point; a few seconds faster each."""
    import importlib
    from facial_keypoints.runs import cli
    from facial_keypoints.runs.errors import run_cli
    name = os.path.splitext(os.path.basename(script))[0]
    module, main = importlib.import_module(name), getattr(cli, name[len('run_'):] + '_main')
    try:
        return run_cli(main, module.parse_args(list(argv)))
    except SystemExit as e:              # argparse's own refusals
        return e.code


def run_main(script, *args, cwd=None):
    """main_status(), in cwd, as run_script() runs the script in a fresh
    process: (status, stdout, stderr)."""
    import contextlib
    import io
    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    try:
        os.chdir(cwd or ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main_status(script, args)
    finally:
        os.chdir(here)
    return status, out.getvalue(), err.getvalue()


def write_csv(path, header, rows):
    with open(path, 'w') as f:
        f.write(','.join(header) + '\n')
        for r in rows:
            f.write(','.join(map(str, r)) + '\n')
    return str(path)


def image_field(values=None):
    values = np.arange(9216) % 256 if values is None else values
    return ' '.join(map(str, values))


def saved_anew_when_read(model_dir, old):
    """checkpoints.variables, but as if a run saved a newer best model (model-7)
    into model_dir (a Path) and removed old just as old is read."""
    from facial_keypoints.runs import checkpoints
    real = checkpoints.variables

    def variables(path):
        if path == old:
            stem = os.path.basename(old)
            for name in os.listdir(model_dir):
                if name.startswith(stem + '.'):
                    os.rename(model_dir / name, model_dir / name.replace(stem, 'model-7'))
            (model_dir / 'checkpoint').write_text('model_checkpoint_path: "model-7"\n')
        return real(path)
    return variables
