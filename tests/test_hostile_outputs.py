"""What a careless user can do to lose data or get a wrong answer without a
word, one case a row: outputs that would replace a data file (named, or the
.csv a picture or video implies), --overwrite over the user's own files,
--resume on other data, a keypoint the improved recipe never sees.

For every case, as in test_hostile_inputs.py: the exit status, a single line
"error: ..." naming the file (or flag) and the problem, and no file that
existed before has changed. Below the table: what these refusals protect,
when the command goes ahead.
"""

import gzip
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import EARLIER_SUBMISSION, fit, main_status, make_tiny_data, run_script, tiny_config
from facial_keypoints import data
from facial_keypoints.improved import train as improved
from facial_keypoints.runs import checkpoints, jsonfiles, modeldir
from facial_keypoints.runs.errors import UserError
from test_hostile_inputs import SCRIPTS, assert_refused, digest, hparams, photo, video_file, zipped

T, P = 'train', 'predict'
PRED = ['--data-dir', '{d}', '--model-dir', '{m}', '--output']
PHOTO = ['--model-dir', '{m}', '--image', '{t}/p.jpg', '--output']
VIDEO = ['--model-dir', '{m}', '--video', '{t}/v.mp4', '--output']
RESUME = ['--data-dir', '{d}', '--model-dir', '{m}', '--resume', '--epochs', '4']
IMPROVED = ['--data-dir', '{d}', '--model-dir', '{t}/new', '--recipe', 'improved',
            '--epochs', '1']
NEW_RUN = ['--data-dir', '{d}', '--model-dir', '{t}/mine', '--epochs', '1',
           '--validation-size', '8']
REPLACES = r'--output {0} would replace the data file {1}; choose another name\.'
OTHER_DATA = r'--resume: {0} is not the data {{m}} was trained on \({1}\); give the --data-dir'
FEWER = r'it trained on \d+ rows of training.csv, this has \d+'
EITHER = r'({}|as many rows, but other faces or keypoints)'.format(FEWER)


def copy(src, dst):
    shutil.copyfile(src, dst)


def gz(src, dst):
    dst.write_bytes(gzip.compress(src.read_bytes()))


def own_files(folder, *names):
    """A folder of the user's own, holding files with a run's names."""
    folder.mkdir()
    for name in names:
        (folder / name).write_text('mine\n')


def edit_complete_row(path, change):
    """training.csv with change() made to its first row that has all 30
    keypoints (the blog recipe trains on those only)."""
    lines = path.read_text().split('\n')
    k = next(k for k, line in enumerate(lines[1:], 1) if ',,' not in line)
    lines[k] = change(lines[k])
    path.write_text('\n'.join(lines))


def first_keypoint_plus_one(text):
    first, rest = text.split(',', 1)
    return '{:g},{}'.format(float(first) + 1, rest)


def first_pixel(text, value):
    """A training.csv row with its first pixel set to value."""
    head, image = text.rsplit(',', 1)
    return head + ',' + ' '.join([value] + image.split(' ')[1:])


def unlabelled_in_training(d, column='nose_tip_x'):
    """training.csv with column empty in every row the improved recipe trains
    on; only its validation groups label it."""
    X, _ = data.input_data(data_dir=str(d), dropna=False)
    train_rows, _ = improved.held_out_groups(X)
    df = pd.read_csv(d / 'training.csv')
    df.loc[train_rows, column] = np.nan
    df.to_csv(d / 'training.csv', index=False)


CASES = [
    # -- a named output over a data file, in any of its forms
    ('output training.csv', P, None, PRED + ['{d}/training.csv'], 2,
     REPLACES.format('{d}/training.csv', '{d}/training.csv')),
    ('output a copy of training.csv', P, lambda d, m, t: copy(d / 'training.csv',
                                                             t / 'training.csv'),
     PRED + ['{t}/training.csv'], 2, REPLACES.format('{t}/training.csv', '{t}/training.csv')),
    ('output training.csv.gz', P, lambda d, m, t: gz(d / 'training.csv', t / 'training.csv.gz'),
     PRED + ['{t}/training.csv.gz'], 2,
     REPLACES.format('{t}/training.csv.gz', '{t}/training.csv.gz')),
    ('output training.zip', P, lambda d, m, t: zipped(t, {'training.csv': 'x'}),
     PRED + ['{t}/training.zip'], 2, REPLACES.format('{t}/training.zip', '{t}/training.zip')),
    ('output test.csv.gz beside test.csv', P,
     lambda d, m, t: gz(d / 'test.csv', d / 'test.csv.gz'), PRED + ['{d}/test.csv.gz'], 2,
     REPLACES.format('{d}/test.csv.gz', '{d}/test.csv.gz')),
    ('output test.zip', P, lambda d, m, t: (t / 'test.zip').write_bytes(b'PK'),
     PRED + ['{t}/test.zip'], 2, REPLACES.format('{t}/test.zip', '{t}/test.zip')),
    ('output a file of yours that is no submission', P,
     lambda d, m, t: (t / 'notes.csv').write_text('my notes\n'), PRED + ['{t}/notes.csv'], 2,
     r'{t}/notes.csv already exists and is not a submission this program wrote; choose '
     r'another --output\.'),
    ('output a lookup table not in use', P,
     lambda d, m, t: copy(d / 'IdLookupTable.csv', t / 'IdLookupTable.csv'),
     PRED + ['{t}/IdLookupTable.csv', '--lookup', '{d}/IdLookupTable.csv'], 2,
     REPLACES.format('{t}/IdLookupTable.csv', '{t}/IdLookupTable.csv')),
    ('output IdLookupTable.zip', P, lambda d, m, t: (t / 'IdLookupTable.zip').write_bytes(b'PK'),
     PRED + ['{t}/IdLookupTable.zip'], 2,
     REPLACES.format('{t}/IdLookupTable.zip', '{t}/IdLookupTable.zip')),
    ('output Training.CSV', P, lambda d, m, t: copy(d / 'training.csv', t / 'Training.CSV'),
     PRED + ['{t}/Training.CSV'], 2, REPLACES.format('{t}/Training.CSV', '{t}/Training.CSV')),
    # -- the .csv that a picture implies
    ('photo output training.jpg', P, lambda d, m, t: photo(t / 'p.jpg'),
     PHOTO + ['{d}/training.jpg'], 2, REPLACES.format('{d}/training.jpg', '{d}/training.csv')),
    ('photo output IdLookupTable.png', P, lambda d, m, t: photo(t / 'p.jpg'),
     PHOTO + ['{d}/IdLookupTable.png'], 2,
     REPLACES.format('{d}/IdLookupTable.png', '{d}/IdLookupTable.csv')),
    ('photo output test.jpg', P, lambda d, m, t: photo(t / 'p.jpg'),
     PHOTO + ['{d}/test.jpg'], 2, REPLACES.format('{d}/test.jpg', '{d}/test.csv')),
    ('photo output training, no extension', P, lambda d, m, t: photo(t / 'p.jpg'),
     PHOTO + ['{d}/training'], 2, REPLACES.format('{d}/training', '{d}/training.csv')),
    # -- the .csv that a video implies
    ('video output test.mp4', P, lambda d, m, t: video_file(t / 'v.mp4'),
     VIDEO + ['{d}/test.mp4'], 2, REPLACES.format('{d}/test.mp4', '{d}/test.csv')),
    ('video output training.avi', P, lambda d, m, t: video_file(t / 'v.mp4'),
     VIDEO + ['{d}/training.avi'], 2, REPLACES.format('{d}/training.avi', '{d}/training.csv')),
    ('video output IdLookupTable.mp4', P, lambda d, m, t: video_file(t / 'v.mp4'),
     VIDEO + ['{d}/IdLookupTable.mp4'], 2,
     REPLACES.format('{d}/IdLookupTable.mp4', '{d}/IdLookupTable.csv')),
    # -- a folder of the user's own files with a run's names
    ('overwrite the user\'s history.json', T, lambda d, m, t: own_files(t / 'mine',
                                                                       'history.json'),
     NEW_RUN + ['--overwrite'], 2,
     r'{t}/mine holds history.json, which no training run wrote there; move it or choose '
     r'another --model-dir\.'),
    ('overwrite the user\'s checkpoint', T, lambda d, m, t: own_files(t / 'mine', 'checkpoint',
                                                                     'notes.txt'),
     NEW_RUN + ['--overwrite'], 2, r'{t}/mine holds checkpoint, which no training run wrote'),
    ('the user\'s checkpoint, no --overwrite', T,
     lambda d, m, t: own_files(t / 'mine', 'checkpoint'), NEW_RUN, 2,
     r'{t}/mine holds checkpoint, which no training run wrote there'),
    ('the user\'s own TensorFlow run', T, lambda d, m, t: own_files(
        t / 'mine', 'checkpoint', 'model-3.index', 'model-3.data-00000-of-00001'),
     NEW_RUN + ['--overwrite'], 2,
     r'{t}/mine holds checkpoint, model-3.data-00000-of-00001, model-3.index, which no '
     r'training run wrote there; move them'),
    ('the user\'s hparams.json, damaged', T, lambda d, m, t: own_files(t / 'mine',
                                                                      'hparams.json'),
     NEW_RUN + ['--overwrite'], 2, r'{t}/mine holds hparams.json, which no training run wrote'),
    # -- --resume on other data
    ('resume on another data folder', T, lambda d, m, t: make_tiny_data(t / 'other', seed=8),
     ['--data-dir', '{t}/other'] + RESUME[2:], 2,
     OTHER_DATA.format('{t}/other/training.csv', EITHER)),
    ('resume, training.csv replaced', T,
     lambda d, m, t: edit_complete_row(d / 'training.csv', lambda s: first_pixel(s, '1')), RESUME,
     2,
     OTHER_DATA.format('{d}/training.csv', 'as many rows, but other faces or keypoints')),
    ('resume, one keypoint changed', T,
     lambda d, m, t: edit_complete_row(d / 'training.csv', first_keypoint_plus_one), RESUME, 2,
     OTHER_DATA.format('{d}/training.csv', 'as many rows, but other faces or keypoints')),
    ('resume, rows dropped', T, lambda d, m, t: (d / 'training.csv').write_text(
        '\n'.join((d / 'training.csv').read_text().split('\n')[:31]) + '\n'), RESUME, 2,
     OTHER_DATA.format('{d}/training.csv', FEWER)),
    ('resume, relative data_dir now elsewhere', T, lambda d, m, t: (
        hparams(m, data_dir='other'), make_tiny_data(t / 'other', seed=9)),
     ['--model-dir', '{m}', '--resume', '--epochs', '4'], 2,
     OTHER_DATA.format('other/training.csv', EITHER)),
    ('resume, now a zip of other faces', T, lambda d, m, t: (
        make_tiny_data(t / 'other', seed=8), os.remove(d / 'training.csv'),
        zipped(d, {'training.csv': (t / 'other' / 'training.csv').read_text()})), RESUME, 2,
     OTHER_DATA.format('{d}/training.zip', EITHER)),
    # -- a keypoint the improved recipe never sees
    ('improved, keypoint unlabelled in training rows', T,
     lambda d, m, t: unlabelled_in_training(d), IMPROVED, 2,
     r'{d}/training.csv labels nose_tip_x in none of the \d+ rows the improved recipe trains '
     r'on; it cannot learn a keypoint it never sees\.'),
    ('improved, keypoint never labelled', T, lambda d, m, t: (
        lambda df: df.assign(mouth_left_corner_y=np.nan).to_csv(d / 'training.csv', index=False))(
        pd.read_csv(d / 'training.csv')), IMPROVED, 2,
     r'{d}/training.csv has no row with all 30 keypoints among its validation groups'),
]


def run_case(command, argv, capsys):
    """(exit status, stdout, the lines of stderr) of a command run in-process."""
    got = main_status(SCRIPTS[command], argv)
    out, err = capsys.readouterr()
    return got, out, [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_hostile_output(case, folders, capsys):
    name, command, setup, argv, status, message = case
    d, m, t = folders
    fill = dict(d=d, m=m, t=t)
    if setup:
        setup(d, m, t)
    (t / 'submit.csv').write_text(EARLIER_SUBMISSION)
    before = files(t)
    got, _, lines = run_case(command, [a.format(**fill) for a in argv], capsys)
    assert got == status, lines
    after = files(t)
    assert_refused(lines, message, fill, before, after)
    assert not [p for p in after if p not in before]


def files(folder):
    """digest() of folder, but the data folder's cache, which is rebuilt at will."""
    return {p: h for p, h in digest(folder).items() if '.facial_keypoints_cache' not in p}


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25


# ---- what the refusals protect, when the command goes ahead ----------------------------

@pytest.mark.usefixtures('small_post_network')
def test_resume_of_a_moved_folder_with_the_same_data_goes_on(tiny_data, tmp_path, capsys):
    m, moved = tmp_path / 'm', tmp_path / 'elsewhere'
    fit(tiny_config(tiny_data, m))
    shutil.move(tiny_data, str(moved))
    got, out, lines = run_case(T, ['--data-dir', str(moved), '--model-dir', str(m), '--resume',
                                   '--epochs', '3', '--quiet'], capsys)
    assert got == 0, lines
    assert jsonfiles.read_hparams(str(m))['best']['epochs_run'] == 3


@pytest.mark.usefixtures('small_post_network')
def test_the_run_names_the_file_it_reads_and_the_one_beside_it_it_does_not(folders, capsys):
    d, m, t = folders
    make_tiny_data(t / 'other', seed=8)
    zipped(d, {'training.csv': (t / 'other' / 'training.csv').read_text()})
    got, out, lines = run_case(T, ['--data-dir', str(d), '--model-dir', str(t / 'new'),
                                   '--epochs', '1', '--validation-size', '8'], capsys)
    assert got == 0, lines
    assert out.splitlines()[0] == 'reading {} (not training.zip: training.csv comes first)'.format(
        d / 'training.csv')
    gz(d / 'test.csv', d / 'test.csv.gz')
    got, out, lines = run_case(P, ['--data-dir', str(d), '--model-dir', str(t / 'new')], capsys)
    assert got == 0, lines
    assert out.splitlines()[0] == 'reading {} (not test.csv.gz: test.csv comes first)'.format(
        d / 'test.csv')


@pytest.mark.usefixtures('small_post_network')
def test_overwrite_removes_the_run_and_keeps_the_users_files(folders, capsys):
    d, m, t = folders
    (m / 'notes.txt').write_text('mine\n')
    (m / 'model-notes.md').write_text('mine too\n')
    old = set(os.listdir(m))
    got, _, lines = run_case(T, ['--data-dir', str(d), '--model-dir', str(m), '--overwrite',
                                 '--epochs', '1', '--validation-size', '8', '--quiet'], capsys)
    assert got == 0, lines
    now = set(os.listdir(m))
    assert {'notes.txt', 'model-notes.md', 'model-0.index', modeldir.RECORD_FILE} <= now
    assert 'model-1.index' in old and 'model-1.index' not in now
    assert (m / 'notes.txt').read_text() == 'mine\n'


@pytest.mark.usefixtures('small_post_network')
def test_overwrite_still_replaces_a_run_saved_before_runs_kept_a_record(folders, capsys):
    d, m, t = folders
    os.remove(m / modeldir.RECORD_FILE)
    got, _, lines = run_case(T, ['--data-dir', str(d), '--model-dir', str(m), '--overwrite',
                                 '--epochs', '1', '--validation-size', '8', '--quiet'], capsys)
    assert got == 0, lines
    assert not os.path.exists(m / 'model-1.index') and os.path.exists(m / 'model-0.index')


@pytest.mark.usefixtures('small_post_network')
def test_an_interrupted_runs_model_stays_when_the_resumed_run_restarts_worse(tmp_path):
    """No training state saved yet (a run stopped in its first minute):
    --resume starts again from epoch 0, and the model the interruption said
    was kept is replaced only by a better one."""
    from conftest import fit, tiny_config
    from facial_keypoints.runs.errors import Interrupted
    data_dir = make_tiny_data(tmp_path / 'data')

    def scores(*values):
        values = iter(values)

        def evaluate(*args):
            value = next(values)
            if value is None:
                raise Interrupted('stopped')
            return value
        return evaluate
    cfg = dict(epochs=8, patience=10, state_every_seconds=1e9)
    with pytest.raises(Interrupted):
        fit(tiny_config(data_dir, tmp_path / 'm', **cfg),
            validation_rmse=scores(0.3, 0.2, 0.1, None))
    assert checkpoints.best_checkpoint(str(tmp_path / 'm')).endswith('model-2')
    assert checkpoints.last_checkpoint(str(tmp_path / 'm')) is None
    said = []
    with pytest.raises(Interrupted):
        fit(tiny_config(data_dir, tmp_path / 'm', resume=True, quiet=False, **cfg),
            log=said.append,
            validation_rmse=scores(0.5, 0.4, 0.12, None))
    assert any('model-2 (9.6000 px) stays unless an epoch does better' in s for s in said), said
    assert checkpoints.best_checkpoint(str(tmp_path / 'm')).endswith('model-2')
    assert not [n for n in os.listdir(tmp_path / 'm') if re.match(r'model-[01]\.', n)]
    with pytest.raises(Interrupted):
        fit(tiny_config(data_dir, tmp_path / 'm', resume=True, **cfg),
            validation_rmse=scores(0.2, 0.05, None))
    assert checkpoints.best_checkpoint(str(tmp_path / 'm')).endswith('model-1')
    assert not os.path.exists(tmp_path / 'm' / 'model-2.index')


def test_only_a_submission_is_replaced_by_one_a_bom_or_crlf_included(tmp_path):
    from facial_keypoints.files.fileio import refuse_replacing_another_table
    from facial_keypoints.submission import HEADER
    for text in (b'RowId,Location\n1,48.0\n', b'\xef\xbb\xbfRowId,Location\r\n1,48.0\r\n'):
        (tmp_path / 'submit.csv').write_bytes(text)
        refuse_replacing_another_table(str(tmp_path / 'submit.csv'), HEADER, what='a submission')
    (tmp_path / 'submit.csv').write_text('RowId;Location\n')
    with pytest.raises(UserError, match='already exists and is not a submission'):
        refuse_replacing_another_table(str(tmp_path / 'submit.csv'), HEADER, what='a submission')


def test_a_submission_never_holds_nan(tmp_path):
    from facial_keypoints.submission import save_submission
    lookup = tmp_path / 'IdLookupTable.csv'
    lookup.write_text('RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x\n2,2,nose_tip_y\n')
    y = np.full((2, 30), 40.0)
    y[1, 21] = np.nan
    with pytest.raises(UserError, match=r'^the model predicts nan for nose_tip_y of ImageId 2; '
                                        r'nothing was written'):
        save_submission(str(tmp_path / 'submit.csv'), y, np.array([1, 2]), str(lookup))
    assert not os.path.exists(tmp_path / 'submit.csv')


def test_help_names_every_file_a_command_writes():
    _, out, _ = run_script('run_predict.py', '--help')
    text = ' '.join(out.split())
    assert 'and its keypoints in the .csv of the same name beside it' in text
    assert 'and the .csv of the same name' in text and 'beside it a .csv of the same name' in text
    assert 'Never a data file' in text
    _, out, _ = run_script('run_train.py', '--help')
    assert 'run_files.json' in ' '.join(out.split())


# ---- a full disk ---------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB file system the test mounts (as root), nearly full; skipped where
    it cannot be made."""
    mount = tmp_path / 'small'
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(mount)],
            capture_output=True).returncode != 0:
        pytest.skip('cannot mount a small file system here (needs root and tmpfs)')
    try:
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / 'filler').write_bytes(b'\0' * (free - 16384))
        yield mount
    finally:
        subprocess.run(['umount', str(mount)], check=True)


def test_a_video_onto_a_full_disk_leaves_no_broken_file(trained, tmp_path, small_disk):
    cv2 = pytest.importorskip('cv2')
    from facial_keypoints.faces.video import annotate_video
    from test_photo import Fixed
    source = tmp_path / 'noise.mp4'
    w = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*'mp4v'), 10, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(30):                 # noise does not compress: far more than 16 KB
        w.write(rng.integers(0, 256, (120, 160, 3), np.uint8))
    w.release()
    before = set(os.listdir(small_disk))
    with pytest.raises(UserError, match=r'^cannot write {}: No space left on device\.$'.format(
            re.escape(str(small_disk / 'out.mp4')))):
        annotate_video(str(source), trained[1], str(small_disk / 'out.mp4'),
                       detector=Fixed(np.array([[40, 20, 60, 60]])), log=lambda *a: None)
    assert set(os.listdir(small_disk)) == before
