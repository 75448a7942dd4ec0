"""More of what a careless user can do wrong: things that are not plain files
where a file should be, separators, full disks, a standard output that
fails, photos OpenCV cannot write, damaged video, --demo --resume.

A case with a video or a failing standard output runs the script in its
own process, as a user would: FFmpeg's logging is set before OpenCV loads,
and the standard output is the process's own. The others run in this
process (as test_hostile_inputs.py's do), with the file descriptors
captured, so that what TensorFlow and OpenCV write there is seen too.

For every case: the exit status, a single line "error: ..." naming the file
(or flag) and the problem, no traceback, and no file that existed before
has changed.
"""

import os
import subprocess

import pytest

from conftest import (EARLIER_SUBMISSION, case_folders, copy_run, main_status,
                      saved_anew_when_read, script_command)
from facial_keypoints.runs import checkpoints, jsonfiles
from test_hostile_inputs import (HEADER, PRED, TRAIN, assert_refused, digest, hparams,
                                 photo, row, video_file)

T, P = 'run_train.py', 'run_predict.py'


def small_fs(path, size='2m', fill=False):
    """Mount a tmpfs of size at path (root only), filled up if fill; or skip."""
    path.mkdir()
    try:
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=' + size, 'tmpfs', str(path)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip('cannot mount a small file system here (needs root and a sandbox that '
                    'allows it): {}'.format(getattr(e, 'stderr', b'') or e))
    if fill:
        with open(path / 'filler', 'wb') as f:
            try:
                while True:
                    f.write(b'\0' * 65536)
                    f.flush()
            except OSError:
                pass


def unmount_under(folder):
    with open('/proc/mounts') as f:
        points = [line.split()[1] for line in f]
    for point in reversed(points):
        if point.startswith(str(folder) + os.sep):
            subprocess.run(['umount', point], check=False)


def replace_by(kind):
    """A setup that puts kind (fifo, folder, dangling, loop) where a file was."""
    def put(path):
        if path.exists():
            path.unlink()
        if kind == 'fifo':
            os.mkfifo(path)
        elif kind == 'folder':
            path.mkdir()
        elif kind == 'dangling':
            path.symlink_to(path.parent / 'gone.csv')
        else:
            path.symlink_to(path.name + '.loop')
            (path.parent / (path.name + '.loop')).symlink_to(path.name)
    return put


def semicolons(d, name='training.csv', decimal_comma=False):
    lines = (d / name).read_text().splitlines()
    head = lines[0].replace(',', ';')
    body = [(r.replace(',', ';') if not decimal_comma else r.replace(',', ';').replace('.', ','))
            for r in lines[1:4]]
    (d / name).write_text('\n'.join([head] + body) + '\n')


def demo_run_without_data(t, m):
    copy_run(m, t / 'demo_data' / 'model', ignore=())
    hparams(t / 'demo_data' / 'model', data_dir='demo_data')


NOT_A_FILE = {'fifo': r'is a named pipe \(FIFO\), not a file',
              'folder': r'is a folder, not a file',
              'dangling': r'is a broken symbolic link \(to .*gone.csv, which does not exist\)',
              'loop': r'is a symbolic link that leads back to itself \(a loop\)'}
TRAIN_FULL = ['--data-dir', '{d}', '--model-dir', '{t}/full/new', '--epochs', '1',
              '--validation-size', '8']

# (id, script, setup(d, m, t), argv, standard output, status, message): as in
# test_hostile_inputs.py; stdout None is a pipe, else a path to send it to.
CASES = [
    # -- tracebacks before
    ('photo without extension', P, lambda d, m, t: photo(t / 'me.jpg') or os.rename(
        t / 'me.jpg', t / 'me'), ['--model-dir', '{m}', '--image', '{t}/me'], None, 2,
     r'cannot write \./me_keypoints: OpenCV writes no extensionless pictures; give --output '
     r'NAME.jpg or NAME.png for {t}/me'),
    ('photo of unknown extension', P, lambda d, m, t: photo(t / 'me.jpg') or os.rename(
        t / 'me.jpg', t / 'me.foto'), ['--model-dir', '{m}', '--image', '{t}/me.foto'], None, 2,
     r'cannot write \./me_keypoints.foto: OpenCV writes no .foto pictures'),
    ('new run, disk full', T, lambda d, m, t: small_fs(t / 'full', '1m', fill=True), TRAIN_FULL,
     None, 2, r'cannot write in model folder {t}/full/new: No space left on device'),
    ('checkpoint, disk full', T, lambda d, m, t: small_fs(t / 'full', '2m'), TRAIN_FULL, None, 2,
     r'cannot save a checkpoint in {t}/full/new: No space left on device \([\d.]+ MB free, '
     r'the checkpoint needs [\d.]+ MB\); there was no earlier model to keep'),
    ('predict, stdout full', P, None, PRED[:-1] + ['{t}/new.csv'], '/dev/full', 2,
     r'cannot write to standard output: No space left on device; the work itself is done'),
    ('train, stdout full', T, None, TRAIN, '/dev/full', 2,
     r'cannot write to standard output: No space left on device; the work itself is done'),
    # -- something that is not a plain file
    ('training.csv a FIFO', T, lambda d, m, t: replace_by('fifo')(d / 'training.csv'), TRAIN,
     None, 2, r'{d}/training.csv ' + NOT_A_FILE['fifo']),
    ('training.csv a folder', T, lambda d, m, t: replace_by('folder')(d / 'training.csv'), TRAIN,
     None, 2, r'{d}/training.csv ' + NOT_A_FILE['folder']),
    ('training.csv dangling', T, lambda d, m, t: replace_by('dangling')(d / 'training.csv'),
     TRAIN, None, 2, r'{d}/training.csv ' + NOT_A_FILE['dangling']),
    ('training.csv a loop', T, lambda d, m, t: replace_by('loop')(d / 'training.csv'), TRAIN,
     None, 2, r'{d}/training.csv ' + NOT_A_FILE['loop']),
    ('test.csv a FIFO', P, lambda d, m, t: replace_by('fifo')(d / 'test.csv'), PRED, None, 2,
     r'{d}/test.csv ' + NOT_A_FILE['fifo']),
    ('test.csv a folder', P, lambda d, m, t: replace_by('folder')(d / 'test.csv'), PRED, None, 2,
     r'{d}/test.csv ' + NOT_A_FILE['folder']),
    ('lookup a FIFO', P, lambda d, m, t: replace_by('fifo')(t / 'lookup.csv'),
     PRED + ['--lookup', '{t}/lookup.csv'], None, 2, r'lookup table {t}/lookup.csv ' + NOT_A_FILE['fifo']),
    ('lookup dangling', P, lambda d, m, t: replace_by('dangling')(d / 'IdLookupTable.csv'), PRED,
     None, 2, r'lookup table {d}/IdLookupTable.csv ' + NOT_A_FILE['dangling']),
    ('photo a FIFO', P, lambda d, m, t: replace_by('fifo')(t / 'p.jpg'),
     ['--model-dir', '{m}', '--image', '{t}/p.jpg'], None, 2, r'{t}/p.jpg ' + NOT_A_FILE['fifo']),
    ('photo a loop', P, lambda d, m, t: replace_by('loop')(t / 'p.jpg'),
     ['--model-dir', '{m}', '--image', '{t}/p.jpg'], None, 2, r'{t}/p.jpg ' + NOT_A_FILE['loop']),
    ('video a FIFO', P, lambda d, m, t: replace_by('fifo')(t / 'v.mp4'),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4'], None, 2, r'{t}/v.mp4 ' + NOT_A_FILE['fifo']),
    ('video a folder', P, lambda d, m, t: (t / 'v.mp4').mkdir(),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4'], None, 2,
     r'{t}/v.mp4 ' + NOT_A_FILE['folder']),
    ('video dangling', P, lambda d, m, t: replace_by('dangling')(t / 'v.mp4'),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4'], None, 2,
     r'{t}/v.mp4 ' + NOT_A_FILE['dangling']),
    # -- separators
    ('training.csv with semicolons', T, lambda d, m, t: semicolons(d), TRAIN, None, 2,
     r'{d}/training.csv names none of the expected columns; its columns are separated by '
     r'semicolons: save it with commas'),
    ('semicolons and decimal commas', T, lambda d, m, t: semicolons(d, decimal_comma=True),
     TRAIN, None, 2, r'{d}/training.csv line \d+ has \d+ fields, expected \d+; its columns are '
                     r'separated by semicolons'),
    ('test.csv with semicolons', P, lambda d, m, t: semicolons(d, 'test.csv'), PRED, None, 2,
     r'{d}/test.csv names none of the expected columns; its columns are separated by '
     r'semicolons'),
    ('training.csv with tabs', T, lambda d, m, t: (d / 'training.csv').write_text(
        '\n'.join([HEADER.replace(',', '\t')] + [row().replace(',', '\t')] * 3) + '\n'), TRAIN,
     None, 2, r'{d}/training.csv names none of the expected columns; its columns are '
              r'separated by tabs'),
    # -- demo
    ('demo resume, no demo run', T, None, ['--demo', '--resume'], None, 2,
     r'--demo --resume: demo_data/model holds no demo run to resume; start one with '
     r'"python run_train.py --demo"\.$'),
    ('demo resume, demo data gone', T, lambda d, m, t: demo_run_without_data(t, m),
     ['--demo', '--resume', '--epochs', '3'], None, 2,
     r'found no training data: no training.csv in demo_data .*start the demo afresh with '
     r'"python run_train.py --demo --overwrite"\.$'),
    # -- damaged video: FFmpeg's own lines must not come first
    ('empty .mp4', P, lambda d, m, t: (t / 'v.mp4').write_bytes(b''),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4', '--output', '{t}/o.mp4'], None, 2,
     r'cannot open {t}/v.mp4: not a video OpenCV can read'),
    ('truncated .mp4', P, lambda d, m, t: (video_file(t / 'w.mp4', 10), (t / 'v.mp4').write_bytes(
        (t / 'w.mp4').read_bytes()[:-300])),   # into its index (moov)
     ['--model-dir', '{m}', '--video', '{t}/v.mp4', '--output', '{t}/o.mp4'], None, 2,
     r'cannot open {t}/v.mp4: not a video OpenCV can read'),
]


def own_process(case):
    """Whether a case needs a process of its own (see the module's docstring)."""
    name, script, setup, argv, stdout = case[:5]
    return stdout is not None or '--video' in argv


def run_in_process(script, argv, cwd, capfd, monkeypatch):
    """(status, standard error) of the script's main run here, in cwd."""
    monkeypatch.chdir(cwd)
    capfd.readouterr()
    status = main_status(script, argv)
    return status, capfd.readouterr().err


def run_in_own_process(script, argv, cwd, stdout):
    """(status, standard error) of the script run in a fresh process, in cwd;
    training trains the small network (the cases are about the process)."""
    with open(stdout or os.devnull, 'w') as out:
        p = subprocess.run(script_command(script, small_post=script == T) + argv, cwd=cwd,
                           stdout=out if stdout else subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=600)
    return p.returncode, p.stderr


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_hostile_input(case, trained, tmp_path, capfd, monkeypatch):
    name, script, setup, argv, stdout, status, message = case
    t = tmp_path
    d, m, fill, argv = case_folders(trained, t, argv,
                                    ignore=('events.*', '*.png', 'last-*', 'checkpoint_last'))
    try:
        if setup:
            setup(d, m, t)
        (t / 'submit.csv').write_text(EARLIER_SUBMISSION)
        before = digest(t)
        if own_process(case):
            got, err = run_in_own_process(script, argv, t, stdout)
        else:
            got, err = run_in_process(script, argv, t, capfd, monkeypatch)
        after = digest(t)
    finally:
        unmount_under(t)
    lines = [line for line in err.splitlines() if line.strip()]
    assert got == status, err
    assert_refused(lines, message, fill, before, after)


def test_there_are_at_least_20_cases():
    assert len(CASES) >= 20


def test_a_closed_stdout_stops_the_printing_not_the_training(tiny_data, tmp_path):
    """run_train.py ... | head -1: the reader goes away after the first line;
    the run goes on quietly to its end, keeps its model and says nothing."""
    model_dir = tmp_path / 'm'
    p = subprocess.Popen(script_command(T, small_post=True) + [
        '--data-dir', tiny_data, '--model-dir', str(model_dir), '--epochs', '3',
        '--validation-size', '8', '--batch-size', '16', '--seed', '1'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=600) == 0, err
    assert first.startswith('reading ') and err.strip() == '', err
    best = jsonfiles.read_hparams(str(model_dir))['best']
    assert best['epochs_run'] == 3
    assert checkpoints.best_checkpoint(str(model_dir)).endswith('model-{}'.format(
        best['epoch']))


def test_a_failed_save_leaves_nothing_behind_and_resume_works_once_space_is_freed(
        tiny_data, tmp_path, monkeypatch):
    """TensorFlow itself runs out of space (the check before it is bypassed):
    its temporary file goes, so that freeing what the user can free is enough."""
    from conftest import fit, tiny_config
    from facial_keypoints.runs.errors import UserError
    small_fs(tmp_path / 'full', '300m')     # room for two models and two states, not more
    try:
        with open(tmp_path / 'full' / 'filler', 'wb') as f:    # room for one model left
            f.write(b'\0' * 230 * 2 ** 20)
        model_dir = tmp_path / 'full' / 'm'
        monkeypatch.setattr(checkpoints, '_bytes_to_save', lambda saver, graph: 0)
        with pytest.raises(UserError, match=r'cannot save a checkpoint in .*: No space left on '
                                            r'device; there was no earlier training state'):
            fit(tiny_config(tiny_data, model_dir, epochs=2, state_every_seconds=0))
        left = sorted(os.listdir(model_dir))
        assert not [n for n in left if 'tempstate' in n or n.startswith('last-')], left
        assert checkpoints.best_checkpoint(str(model_dir)).endswith('model-0')
        os.remove(tmp_path / 'full' / 'filler')
        monkeypatch.undo()
        result = fit(tiny_config(tiny_data, model_dir, resume=True, seed=None, batch_size=None,
                                 validation_size=None))
        assert result['epochs_run'] == 2
    finally:
        unmount_under(tmp_path)


def test_a_predictor_loading_while_a_run_saves_reads_the_newer_checkpoint(trained, tmp_path,
                                                                          monkeypatch):
    """The run removes the checkpoint the Predictor chose while it reads it."""
    import numpy as np
    from facial_keypoints.serving.predictor import Predictor
    model_dir = tmp_path / 'm'
    copy_run(trained[1], model_dir, ignore=())
    X = np.linspace(0, 1, 96 * 96, dtype=np.float32).reshape(1, 96, 96, 1)
    with Predictor(str(model_dir)) as p:
        expected, old = p.predict(X), p.checkpoint
    monkeypatch.setattr(checkpoints, 'variables', saved_anew_when_read(model_dir, old))
    with Predictor(str(model_dir)) as p:
        assert p.checkpoint == str(model_dir / 'model-7')
        assert np.array_equal(p.predict(X), expected)
