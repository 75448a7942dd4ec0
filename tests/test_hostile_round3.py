"""More ways to lose data or get a wrong answer without a word, one case a row:
outputs that are not plain files (a named pipe, a device, a socket, a
symbolic link), --overwrite beside other programs' files, ids too long for
a float, a hand-edited hparams.json or a model folder with parts removed
under --resume, and a SavedModel that is not this program's export.

The refusals use test_hostile_outputs.py's checks: the exit status, a single
line "error: ..." naming the file (or flag) and the problem, no file that
existed before has changed, and no new file. GOES_AHEAD holds the cases that
must work: each names the files it may write, and every other file stays.
Below the tables: what does not fit a row.
"""

import json
import os
import re
import shutil
import socket
import stat
import sys
import threading

import numpy as np
import pytest

from conftest import (EARLIER_SUBMISSION, image_field, make_tiny_data, run_script,
                      use_small_post_model)
from facial_keypoints.files import cache
from facial_keypoints import data
from facial_keypoints.runs import checkpoints, modeldir
from facial_keypoints.faces import video
from facial_keypoints.runs.errors import UserError
from test_hostile_inputs import assert_refused, hparams, photo, video_file
from test_hostile_outputs import files, run_case

T, P = 'train', 'predict'
PRED = ['--data-dir', '{d}', '--model-dir', '{m}', '--output']
RESUME = ['--data-dir', '{d}', '--model-dir', '{m}', '--resume', '--epochs', '4']
RUN = ['--data-dir', '{d}', '--model-dir', '{m}', '--epochs', '1', '--validation-size', '8',
       '--quiet']
EXPORT = ['--data-dir', '{d}', '--model-dir', '{t}/exp', '--output', '{t}/out.csv']
LOOKUP = 'RowId,ImageId,FeatureName,Location\n'
LARGEST = 9223372036854775807
TOO_LARGE = r'too large for an id \(at most {}\)\.'.format(LARGEST)
EDITED = (r'--resume: {{m}}/hparams.json has {0} {1}, but {{m}}/last-\d+\.json was saved by a '
          r'run with {0} {2}; a resumed run keeps its settings')
LACKS_BEST = r'--resume: {m} lacks model-\d+\.index and \.data \(the model kept at epoch \d+'
NOT_OURS = r'{t}/exp is not an export of this project: its serving_default signature '


# ---- building the files of a case -------------------------------------------------

def fifo(path):
    os.mkfifo(path)


def unix_socket(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()


def link(path, target):
    os.symlink(target, path)


def others_files(m, *names):
    """Files of another program, with a run's names, in the run's folder m."""
    for name in names:
        if name.endswith('_temp'):
            (m / name).mkdir()
            (m / name / 'notes.txt').write_text('mine\n')
        else:
            (m / name).write_text('mine\n')


def remove(m, pattern):
    for name in os.listdir(m):
        if re.match(pattern, name):
            os.remove(m / name)


def best_stem(m):
    return os.path.basename(checkpoints.best_checkpoint(str(m)))


def last_stem(m):
    return os.path.basename(checkpoints.last_checkpoint(str(m)))


def write_test_csv(d, *ids):
    (d / 'test.csv').write_text('ImageId,Image\n' + ''.join(
        '{},{}\n'.format(i, image_field()) for i in ids))


def foreign_export(path, input_name='images', output_name='keypoints', width=30):
    """A SavedModel whose serving signature is not an export's in one way."""
    import tensorflow as tf

    class Other(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 96, 96, 1], tf.uint8,
                                                    name=input_name)])
        def serve(self, images):
            return {output_name: tf.zeros([tf.shape(images)[0], width])}
    other = Other()
    tf.saved_model.save(other, str(path), signatures={'serving_default': other.serve})


CASES = [
    # -- outputs that are not plain files
    ('output a named pipe nobody reads', P, lambda d, m, t: fifo(t / 'pipe.csv'),
     PRED + ['{t}/pipe.csv'], 2,
     r'cannot write {t}/pipe.csv: it is a named pipe \(FIFO\) that no program is reading\.'),
    ('output a socket', P, lambda d, m, t: unix_socket(t / 'sock'), PRED + ['{t}/sock'], 2,
     r'cannot write {t}/sock: it is a socket, not a file\.'),
    ('video output a named pipe nobody reads', P, lambda d, m, t: (
        video_file(t / 'v.mp4'), fifo(t / 'pipe.mp4')),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4', '--output', '{t}/pipe.mp4'], 2,
     r'cannot write {t}/pipe.mp4: it is a named pipe \(FIFO\) that no program is reading\.'),
    ('output a link to a data file elsewhere', P, lambda d, m, t: (
        make_tiny_data(t / 'other', seed=8), link(t / 'mine.csv', t / 'other' / 'training.csv')),
     PRED + ['{t}/mine.csv'], 2,
     r'--output {t}/mine.csv would replace the data file {t}/other/training.csv; choose'),
    ('output a link to the model\'s hparams.json', P,
     lambda d, m, t: link(t / 'h.json', m / 'hparams.json'), PRED + ['{t}/h.json'], 2,
     r'--output {t}/h.json is a file of the model in {m}; writing there would damage it\.'),
    ('photo folder of pictures this command wrote', P, lambda d, m, t: (
        (t / 'shots').mkdir(), photo(t / 'shots' / 'a_keypoints.jpg')),
     ['--model-dir', '{m}', '--image', '{t}/shots'], 2,
     r'folder {t}/shots holds only pictures named \*_keypoints\.\*, which this command '
     r'writes; give one as --image FILE'),
    # -- --overwrite (and --resume) beside files no run wrote
    ('overwrite, another program\'s model-99', T, lambda d, m, t: others_files(
        m, 'model-99.index', 'model-99.data-00000-of-00001'), RUN + ['--overwrite'], 2,
     r'{m} holds model-99.data-00000-of-00001, model-99.index, which no training run wrote '
     r'there; move them'),
    ('overwrite, another tool\'s TensorBoard events', T, lambda d, m, t: others_files(
        m, 'events.out.tfevents.1700000000.other'), RUN + ['--overwrite'], 2,
     r'{m} holds events.out.tfevents.1700000000.other, which no training run wrote there'),
    ('overwrite, a folder last-7_temp of notes', T,
     lambda d, m, t: others_files(m, 'last-7_temp'), RUN + ['--overwrite'], 2,
     r'{m} holds last-7_temp, which no training run wrote there; move it'),
    ('overwrite, another program\'s model-3.json', T,
     lambda d, m, t: others_files(m, 'model-3.json'), RUN + ['--overwrite'], 2,
     r'{m} holds model-3.json, which no training run wrote there'),
    ('overwrite, another program\'s last-9 state', T, lambda d, m, t: others_files(
        m, 'last-9.index', 'last-9.json'), RUN + ['--overwrite'], 2,
     r'{m} holds last-9.index, last-9.json, which no training run wrote there'),
    ('resume beside another program\'s model-99', T,
     lambda d, m, t: others_files(m, 'model-99.index'), RESUME, 2,
     r'{m} holds model-99.index, which no training run wrote there; move it'),
    ('overwrite, the record edited', T, lambda d, m, t: (m / 'run_files.json').write_text(
        '{"wrote": 5}'), RUN + ['--overwrite'], 2,
     r'{m}/run_files.json should list the files a run wrote under "wrote"; it was edited'),
    # -- ids, exactly or not at all
    ('lookup RowId beyond int64', P, lambda d, m, t: (d / 'IdLookupTable.csv').write_text(
        LOOKUP + '99999999999999999999,1,nose_tip_x\n'), PRED + ['{t}/out.csv'], 2,
     r'{d}/IdLookupTable.csv line 2: RowId is 99999999999999999999, ' + TOO_LARGE),
    ('lookup ImageId beyond int64', P, lambda d, m, t: (d / 'IdLookupTable.csv').write_text(
        LOOKUP + '1,9223372036854775808,nose_tip_x\n'), PRED + ['{t}/out.csv'], 2,
     r'{d}/IdLookupTable.csv line 2: ImageId is 9223372036854775808, ' + TOO_LARGE),
    ('test ImageId beyond int64', P, lambda d, m, t: write_test_csv(d, 1, 9223372036854775808),
     PRED + ['{t}/out.csv'], 2, r'{d}/test.csv line 3: ImageId is 9223372036854775808, '
     + TOO_LARGE),
    ('17-digit RowId twice', P, lambda d, m, t: (d / 'IdLookupTable.csv').write_text(
        LOOKUP + '12345678901234567,1,nose_tip_x\n12345678901234567,1,nose_tip_y\n'),
     PRED + ['{t}/out.csv'], 2,
     r'{d}/IdLookupTable.csv line 3: RowId 12345678901234567 appears more than once\.'),
    ('17-digit ImageId one off the test\'s', P, lambda d, m, t: (
        write_test_csv(d, 12345678901234567), (d / 'IdLookupTable.csv').write_text(
            LOOKUP + '1,12345678901234568,nose_tip_x\n')), PRED + ['{t}/out.csv'], 2,
     r'{d}/IdLookupTable.csv line 2: ImageId 12345678901234568 is not in the test set'),
    # -- --resume with hparams.json edited by hand
    ('resume, learning_rate edited', T, lambda d, m, t: hparams(m, learning_rate=0.01), RESUME,
     2, EDITED.format('learning_rate', '0.01', '0.001')),
    ('resume, seed edited', T, lambda d, m, t: hparams(m, seed=4), RESUME, 2,
     EDITED.format('seed', '4', '3')),
    ('resume, keep_prob edited', T, lambda d, m, t: hparams(m, keep_prob=0.9), RESUME, 2,
     EDITED.format('keep_prob', '0.9', '0.5')),
    ('resume, validation_size edited', T, lambda d, m, t: hparams(m, validation_size=9), RESUME,
     2, EDITED.format('validation_size', '9', '8')),
    ('resume, batch_size edited', T, lambda d, m, t: hparams(m, batch_size=32), RESUME, 2,
     EDITED.format('batch_size', '32', '16')),
    ('resume, recipe edited', T, lambda d, m, t: hparams(m, recipe='improved'), RESUME, 2,
     EDITED.format('recipe', '"improved"', '"blog"')),
    ('resume, all_rows edited', T, lambda d, m, t: hparams(m, recipe='improved', all_rows=True,
                                                          validation_size=None),
     RESUME, 2, EDITED.format('recipe', '"improved"', '"blog"')),
    # -- --resume with parts of the folder removed
    ('resume, best model removed', T, lambda d, m, t: remove(m, r'^model-\d+\.(index|data-)'),
     RESUME, 2, LACKS_BEST),
    ('resume, best model\'s .data removed', T, lambda d, m, t: remove(m, r'^model-\d+\.data-'),
     RESUME, 2, LACKS_BEST),
    ('resume, training state\'s .json removed', T,
     lambda d, m, t: remove(m, r'^last-\d+\.json$'), RESUME, 2,
     r'--resume: the training state {m}/last-\d+ lacks last-\d+\.json; copy it back'),
    ('resume, training state\'s .data removed', T,
     lambda d, m, t: remove(m, r'^last-\d+\.data-'), RESUME, 2,
     r'--resume: the training state {m}/last-\d+ lacks last-\d+\.data-\*; copy it back'),
    ('resume, training state\'s .index removed', T,
     lambda d, m, t: remove(m, r'^last-\d+\.index$'), RESUME, 2,
     r'--resume: the training state {m}/last-\d+ lacks last-\d+\.index; copy it back'),
    ('resume, training state and its name removed', T,
     lambda d, m, t: remove(m, r'^(last-\d+\..*|checkpoint_last)$'), RESUME, 2,
     r'--resume: {m} holds no training state \(last-N.index, .data, .json\), which a run that '
     r'finished saves'),
    ('resume, checkpoint_last and the state\'s .json removed', T,
     lambda d, m, t: remove(m, r'^(last-\d+\.json|checkpoint_last)$'), RESUME, 2,
     r'--resume: the training state {m}/last-\d+ lacks last-\d+\.json'),
    # -- a SavedModel that is not this program's export
    ('export of another input name', P, lambda d, m, t: foreign_export(t / 'exp', 'pixels'),
     EXPORT, 2, NOT_OURS + r'takes pixels uint8 \[N, 96, 96, 1\] and gives keypoints'),
    ('export of another output name', P,
     lambda d, m, t: foreign_export(t / 'exp', output_name='points'), EXPORT, 2,
     NOT_OURS + r'takes images uint8 \[N, 96, 96, 1\] and gives points '),
    ('export of another width', P, lambda d, m, t: foreign_export(t / 'exp', width=10),
     EXPORT, 2, NOT_OURS + r'.* gives keypoints float32 \[N, 10\], '),
]


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_hostile_round3(case, folders, capsys):  # noqa: F811 -- folders: the fixture
    name, command, setup, argv, status, message = case
    d, m, t = folders
    fill = dict(d=d, m=m, t=t)
    setup(d, m, t)
    (t / 'submit.csv').write_text(EARLIER_SUBMISSION)
    before, kinds = files(t), kinds_of(t)
    got, _, lines = run_case(command, [a.format(**fill) for a in argv], capsys)
    assert got == status, lines
    after = files(t)
    assert_refused(lines, message, fill, before, after)
    assert not [p for p in after if p not in before]
    assert kinds_of(t) == kinds          # a pipe stays a pipe, a link a link


def kinds_of(folder):
    """{path: what it is (file, folder, link, pipe, ...)} of everything under folder."""
    out = {}
    for root, dirs, names in os.walk(folder):
        for n in dirs + names:
            path = os.path.join(root, n)
            if '.facial_keypoints_cache' not in path:
                out[path] = stat.S_IFMT(os.lstat(path).st_mode)
    return out


# ---- what must go ahead, writing only what it should -------------------------------

class Reader(threading.Thread):
    """A program reading a named pipe to its end."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.text = path, None
        self.start()

    def run(self):
        with open(self.path, 'rb') as f:
            self.text = f.read().decode()

    def done(self):
        self.join(60)
        if self.is_alive():             # never written: let it go
            os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
            self.join(5)
        return self.text


def device(path):
    """A character device like /dev/null (1, 3), made where the test may (root)."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (OSError, AttributeError):
        pytest.skip('cannot make a device here (needs root)')


def submission_rows(text):
    lines = text.splitlines()
    assert lines[0] == 'RowId,Location'
    return [line.split(',') for line in lines[1:]]


def check_reader(d, m, t, state):
    rows = submission_rows(state['reader'].done())
    assert len(rows) == len((d / 'IdLookupTable.csv').read_text().splitlines()) - 1


def exact_ids(d, m, t):
    ids = [12345678901234567, 12345678901234568, 99999999999999999]
    write_test_csv(d, *ids)
    (d / 'IdLookupTable.csv').write_text(LOOKUP + ''.join(
        '{},{},nose_tip_x\n'.format(LARGEST - k, i) for k, i in enumerate(ids)))


def check_exact_ids(d, m, t, state):
    rows = submission_rows((t / 'out.csv').read_text())
    assert [int(r[0]) for r in rows] == [LARGEST, LARGEST - 1, LARGEST - 2]
    assert len({r[1] for r in rows}) == 1       # the three test images are the same face


GOES_AHEAD = [
    # (name, command, setup -> state, argv, files it may write, check)
    ('output a device', P, lambda d, m, t: device(t / 'null'), PRED + ['{t}/null'], [],
     lambda d, m, t, s: stat.S_ISCHR(os.lstat(t / 'null').st_mode) or pytest.fail('replaced')),
    ('output a named pipe with a reader', P, lambda d, m, t: (
        fifo(t / 'pipe.csv'), {'reader': Reader(t / 'pipe.csv')})[1], PRED + ['{t}/pipe.csv'],
     [], check_reader),
    ('output a link to a file', P, lambda d, m, t: (
        (t / 'real').mkdir(), (t / 'real' / 'sub.csv').write_text('RowId,Location\n'),
        link(t / 'sub.csv', t / 'real' / 'sub.csv')), PRED + ['{t}/sub.csv'], ['real/sub.csv'],
     lambda d, m, t, s: submission_rows((t / 'real' / 'sub.csv').read_text())),
    ('output a link to a file not yet there', P, lambda d, m, t: (
        (t / 'real').mkdir(), link(t / 'sub.csv', 'real/new.csv')), PRED + ['{t}/sub.csv'],
     ['real/new.csv'], lambda d, m, t, s: submission_rows((t / 'real' / 'new.csv').read_text())),
    ('video output a link', P, lambda d, m, t: (
        video_file(t / 'v.mp4'), (t / 'real').mkdir(), link(t / 'o.mp4', t / 'real' / 'o.mp4')),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4', '--output', '{t}/o.mp4'],
     ['real/o.mp4', 'o.csv'],
     lambda d, m, t, s: video.complete_container(str(t / 'real' / 'o.mp4'), '.mp4')
     or pytest.fail('no video')),
    ('17- to 19-digit ids, exactly', P, exact_ids, PRED + ['{t}/out.csv'], ['out.csv'],
     check_exact_ids),
    ('demo beside the user\'s training.csv', T, lambda d, m, t: (
        (t / 'demo_data').mkdir(), shutil.copy(d / 'training.csv', t / 'demo_data')),
     ['--demo', '--epochs', '1', '--validation-size', '8', '--model-dir', '{t}/dm', '--quiet'],
     ['demo_data/test.csv', 'demo_data/IdLookupTable.csv', 'dm/'],
     lambda d, m, t, s: (t / 'demo_data' / 'training.csv').read_bytes() == (
         d / 'training.csv').read_bytes() or pytest.fail('training.csv replaced')),
]


@pytest.mark.parametrize('case', GOES_AHEAD, ids=[c[0] for c in GOES_AHEAD])
def test_goes_ahead_writing_only_its_files(case, folders, capsys, monkeypatch):  # noqa: F811
    name, command, setup, argv, writes, check = case
    d, m, t = folders
    if command == T:        # a new run, of the small network: the case is about its files
        use_small_post_model(monkeypatch)
    state = setup(d, m, t)
    before, kinds = files(t), kinds_of(t)
    got, _, lines = run_case(command, [a.format(d=d, m=m, t=t) for a in argv], capsys)
    assert got == 0, lines
    assert not [line for line in lines if line.startswith('error')], lines
    check(d, m, t, state)
    after = files(t)

    def allowed(p):
        return any(os.path.relpath(p, t).startswith(w) for w in writes)
    assert not [p for p in before if after.get(p) != before[p] and not allowed(p)]
    assert not [p for p in after if p not in before and not allowed(p)]
    assert {p: k for p, k in kinds_of(t).items() if p in kinds} == kinds


def test_there_are_at_least_40_rows():
    assert len(CASES) + len(GOES_AHEAD) >= 40


# ---- what does not fit a row -----------------------------------------------------------

def test_output_dev_stdout_writes_into_the_pipe(trained, tmp_path):
    d, m, _ = trained
    status, out, err = run_script('run_predict.py', '--data-dir', d, '--model-dir', m,
                                  '--output', '/dev/stdout', cwd=str(tmp_path))
    assert status == 0, err
    rows = [line for line in out.splitlines() if re.match(r'^\d+,[\d.]+$', line)]
    assert 'RowId,Location' in out.splitlines()
    assert len(rows) == len(open(os.path.join(d, 'IdLookupTable.csv')).read().splitlines()) - 1
    assert os.path.islink('/dev/stdout') or not os.path.isfile('/dev/stdout')


@pytest.mark.usefixtures('small_post_network')
def test_overwrite_removes_what_the_record_lists_and_the_record_follows_the_files(
        folders, capsys):  # noqa: F811
    d, m, t = folders
    record = json.loads((m / 'run_files.json').read_text())['wrote']
    present = {n for n in os.listdir(m) if n not in ('.lock', 'run_files.json')}
    # Every file of the run is recorded; of the removed, only the copy's events and pictures.
    assert present <= set(record)
    assert {n for n in set(record) - present if not n.startswith('events.')} <= set(
        modeldir.PICTURES)
    got, _, lines = run_case(T, [a.format(d=d, m=m) for a in RUN] + ['--overwrite'], capsys)
    assert got == 0, lines
    record = json.loads((m / 'run_files.json').read_text())['wrote']
    assert 'model-0.index' in record and 'model-1.index' not in record
    assert not (m / 'model-1.index').exists() and not (m / 'last-2.index').exists()


@pytest.mark.usefixtures('small_post_network')
def test_overwrite_still_reads_a_record_of_the_fixed_names(folders, capsys):  # noqa: F811
    d, m, t = folders
    (m / 'run_files.json').write_text(json.dumps(list(modeldir.FIXED_NAMES)))
    (m / 'notes.txt').write_text('mine\n')
    got, _, lines = run_case(T, [a.format(d=d, m=m) for a in RUN] + ['--overwrite'], capsys)
    assert got == 0, lines
    assert not (m / 'model-1.index').exists() and (m / 'model-0.index').exists()
    assert (m / 'notes.txt').read_text() == 'mine\n'
    # The new run's record lists what it wrote, so its next --overwrite needs no pattern.
    assert 'model-0.index' in json.loads((m / 'run_files.json').read_text())['wrote']


def test_a_cache_never_serves_the_arrays_of_an_earlier_file(tmp_path, monkeypatch):
    """A file system that keeps whole seconds: the file rewritten in the same
    second, at the same size, has the same size and times."""
    real = os.stat

    class Coarse:
        def __init__(self, st):
            self.st = st

        def __getattr__(self, name):
            value = getattr(self.st, name)
            return value // 10 ** 12 * 10 ** 12 if name.endswith('_ns') else value
    monkeypatch.setattr(cache.os, 'stat', lambda p, *a, **k: Coarse(real(p, *a, **k)))
    d = make_tiny_data(tmp_path / 'data', n_train=6)
    path = os.path.join(d, 'training.csv')
    X, y = data.input_data(data_dir=d, dropna=False)
    text = open(path).read()
    first = text.split('\n')[1].split(',')[0]
    changed = '{:.4f}'.format(float(first) + 1)
    assert len(changed) == len(first)
    with open(path, 'w') as f:
        f.write(text.replace(first, changed, 1))
    X2, y2 = data.input_data(data_dir=d, dropna=False)
    assert y2[0, 0] * 96 == pytest.approx(float(changed), abs=1e-4)
    assert y2[0, 0] != y[0, 0]


def test_a_photo_folder_says_which_pictures_it_skips(trained, tmp_path):
    from facial_keypoints.faces.photo import annotate_photos
    from test_photo import Fixed, photo_with_face
    import cv2
    _, model_dir, _ = trained
    shots = tmp_path / 'shots'
    shots.mkdir()
    gray = photo_with_face(scale=2, ox=60, oy=40)[0]
    for name in ('a.jpg', 'a_keypoints.jpg', 'b_keypoints.png'):
        cv2.imwrite(str(shots / name), gray)
    said = []
    annotate_photos([str(shots)], model_dir, str(tmp_path / 'out') + '/',
                    detector=Fixed(np.array([[60, 40, 190, 190]])), log=said.append)
    assert said[0] == ('{}: skipping 2 pictures named *_keypoints.* (a_keypoints.jpg, '
                       'b_keypoints.png), which this command writes; give one as --image FILE '
                       'to annotate it.'.format(shots))
    assert sorted(os.listdir(tmp_path / 'out')) == ['a_keypoints.csv', 'a_keypoints.jpg']


class UnevenClip:
    """A capture whose frames come 33 ms apart, then 133 ms apart (a variable
    frame rate), as OpenCV's CAP_PROP_POS_MSEC gives them."""

    def __init__(self, frames):
        self.frames, self.ms, self.times = list(frames), -1.0, []
        t = 0.0
        for k in range(len(self.frames)):
            self.times.append(t)
            t += 33.3 if k < len(self.frames) // 2 else 133.3

    def isOpened(self):
        return True

    def get(self, prop):
        import cv2
        return {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_COUNT: 0.0,
                cv2.CAP_PROP_POS_MSEC: self.ms}.get(prop, -1.0)

    def read(self):
        if not self.frames:
            return False, None
        self.ms = self.times[len(self.times) - len(self.frames)]
        return True, self.frames.pop(0)

    def release(self):
        pass


def test_a_variable_frame_rate_is_said_and_smoothed_by_the_real_gaps(trained, tmp_path,
                                                                     monkeypatch):
    from test_photo import Fixed
    from test_video import moving_face_frames
    _, model_dir, _ = trained
    (tmp_path / 'clip.mp4').write_bytes(b'stand-in')
    monkeypatch.setattr(video, 'open_capture', lambda s: UnevenClip(moving_face_frames(8)))
    said = []
    video.annotate_video(str(tmp_path / 'clip.mp4'), model_dir, str(tmp_path / 'o.mp4'),
                         detector=Fixed([(60, 40, 190, 190)]), log=said.append)
    assert said[0] == ('{}: its frames are 33 to 133 ms apart (a variable frame rate); {} shows '
                       "every frame for 33.3 ms, so its timing is not the input's (the "
                       'smoothing followed the real gaps).'.format(tmp_path / 'clip.mp4',
                                                                    tmp_path / 'o.mp4'))
    # A step after a long gap is followed further than after a frame's gap.
    short, long = video.OneEuro(30), video.OneEuro(30)
    short(np.zeros(2)), long(np.zeros(2))
    assert long(np.full(2, 10.0), 4 / 30)[0] > short(np.full(2, 10.0))[0] + 1


def test_a_predictor_refuses_a_savedmodel_of_another_width(tmp_path):
    from facial_keypoints.serving.predictor import Predictor
    foreign_export(tmp_path / 'exp', width=10)
    (tmp_path / 'exp' / 'saved_model.pb').stat()
    with pytest.raises(UserError, match=r'^{} is not an export of this project: its '
                                        r'serving_default signature .* gives keypoints float32 '
                                        r'\[N, 10\], '.format(re.escape(str(tmp_path / 'exp')))):
        Predictor(str(tmp_path / 'exp'))


def test_a_changed_improved_option_is_named(tmp_path):
    from facial_keypoints.runs.config import TrainConfig
    from facial_keypoints.improved.settings import Options
    d = make_tiny_data(tmp_path / 'data', n_train=6)
    cfg = TrainConfig(data_dir=d, model_dir=str(tmp_path / 'm'), recipe='improved', seed=1,
                      options=Options(turns=True))
    kept = cfg.fixed_settings()
    cfg.options = Options(turns=False)
    with pytest.raises(UserError, match=r'has improved.turns false, but saved.json was saved by '
                                        r'a run with improved.turns true; '):
        cfg.refuse_edited_settings(kept, 'saved.json')


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q']))
