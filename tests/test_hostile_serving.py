"""What a careless or hostile user can do to what serves a model: photos
OpenCV cannot shrink among good ones, SavedModels that are not this
project's, folders that cannot be written, empty names, a video named like
a camera, addresses the page cannot listen at.

Each row is checked as in test_hostile_inputs.py: the exit status, a single
line "error: ..." naming the file (or flag) and the problem (or, for a run
that answered, its printed lines), no file that existed before has changed,
and no new file but those the row names. Below the tables: what a row
cannot show (the page's privacy, its cap per request and its memory, a
closed Predictor, a model saved while the post's path reads it, the
notebook from another folder).
"""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from conftest import (EARLIER_SUBMISSION, ROOT, case_folders, copy_run, main_status,
                      saved_anew_when_read, with_ctrl_c)
from facial_keypoints.runs import checkpoints, modeldir
from test_hostile_inputs import PRED, SCRIPTS, digest, photo, video_file
from test_hostile_more import small_fs, unmount_under

cv2 = pytest.importorskip('cv2')

T, P, E = 'train', 'predict', 'export'


# ---- building the files of a case -------------------------------------------------

def portrait(path):
    """matplotlib's sample photo of Grace Hopper: one face."""
    cbook = pytest.importorskip('matplotlib.cbook')
    shutil.copy(cbook.get_sample_data('grace_hopper.jpg', asfileobj=False), path)


def gray(path, h, w):
    cv2.imwrite(str(path), np.full((h, w), 90, np.uint8))


def thin_video(path, w=4000, h=2, frames=3):
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (w, h))
    for _ in range(frames):
        out.write(np.full((h, w, 3), 90, np.uint8))
    out.release()


def foreign_export(path, take=('images', 'uint8', 96), give=('keypoints', 30),
                   signature='serving_default'):
    """A SavedModel that is not this project's export: its signature takes
    take (name, dtype, side) and gives give (name, width)."""
    import tensorflow as tf
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as sess:
        x = tf1.placeholder(take[1], [None, take[2], take[2], 1])
        y = tf.zeros([tf.shape(x)[0], give[1]])
        info = tf1.saved_model.utils.build_tensor_info
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(sess, ['serve'], signature_def_map={
            signature: tf1.saved_model.build_signature_def(
                {take[0]: info(x)}, {give[0]: info(y)}, 'tensorflow/serving/predict')})
        builder.save()


def read_only(t, *copies):
    """t/ro: a read-only file system holding copies [(source, name)]; or skip."""
    small_fs(t / 'ro', '400m')
    for source, name in copies:
        shutil.copytree(source, t / 'ro' / name)
    subprocess.run(['mount', '-o', 'remount,ro', str(t / 'ro')], check=True)


def with_lock(m):
    (m / modeldir.LOCK_FILE).write_text('')
    return m


OTHER_MODEL = ['--data-dir', '{d}', '--model-dir', '{t}/x', '--output', '{t}/submit.csv']
NOT_AN_EXPORT = r'{t}/x is not an export of this project: its serving_default signature '
NO_FACE = r'^{t}/thin.png: no face found\.$'

# ---- the cases, in the test's own process ------------------------------------------
# (id, command, setup(d, m, t), argv, status, message, new files): as in
# test_hostile_inputs.py, and the files (relative to t) the run writes. A
# message is matched against the one error line, or, for a status of 0 or 1,
# against what the run printed (and no error line).

CASES = [
    # -- photos OpenCV could not shrink for the detector: answered, as any photo
    ('photo 1 x 60000', P, lambda d, m, t: gray(t / 'thin.png', 1, 60000),
     ['--model-dir', '{m}', '--image', '{t}/thin.png'], 1, NO_FACE, ()),
    ('photo 60000 x 1', P, lambda d, m, t: gray(t / 'thin.png', 60000, 1),
     ['--model-dir', '{m}', '--image', '{t}/thin.png'], 1, NO_FACE, ()),
    ('photo 2 x 4000', P, lambda d, m, t: gray(t / 'thin.png', 2, 4000),
     ['--model-dir', '{m}', '--image', '{t}/thin.png'], 1, NO_FACE, ()),
    ('thin photo and a face', P, lambda d, m, t: (gray(t / 'thin.png', 1, 60000),
                                                  portrait(t / 'face.jpg')),
     ['--model-dir', '{m}', '--image', '{t}/thin.png', '{t}/face.jpg', '--output', '{t}/o/'],
     1, r'thin.png: no face found\.\n.*face.jpg: 1 face .*-> {t}/o/face_keypoints.jpg',
     ('o/face_keypoints.jpg', 'o/face_keypoints.csv')),
    ('video 4000 x 2', P, lambda d, m, t: thin_video(t / 'v.avi'),
     ['--model-dir', '{m}', '--video', '{t}/v.avi', '--output', '{t}/o.avi'], 0,
     r'{t}/v.avi: 3 frames .* 0 face tracks -> {t}/o.avi, {t}/o.csv', ('o.avi', 'o.csv')),
    ('video 2 x 4000', P, lambda d, m, t: thin_video(t / 'v.avi', 2, 4000),
     ['--model-dir', '{m}', '--video', '{t}/v.avi', '--output', '{t}/o.avi'], 0,
     r'{t}/v.avi: 3 frames', ('o.avi', 'o.csv')),
    # -- a photo that cannot be read is one line; the others are answered
    ('unreadable photo first', P, lambda d, m, t: ((t / 'notes.jpg').write_text('hello'),
                                                   portrait(t / 'face.jpg')),
     ['--model-dir', '{m}', '--image', '{t}/notes.jpg', '{t}/face.jpg', '--output', '{t}/o/'],
     2, r'{t}/notes.jpg is not an image OpenCV can read',
     ('o/face_keypoints.jpg', 'o/face_keypoints.csv')),
    ('unreadable photo last', P, lambda d, m, t: ((t / 'zz.png').write_bytes(b'\x89PNG\r\n'),
                                                  portrait(t / 'face.jpg')),
     ['--model-dir', '{m}', '--image', '{t}/face.jpg', '{t}/zz.png', '--output', '{t}/o/'],
     2, r'{t}/zz.png is not an image OpenCV can read',
     ('o/face_keypoints.jpg', 'o/face_keypoints.csv')),
    ('folder with an empty photo', P, lambda d, m, t: (
        (t / 'in').mkdir(), (t / 'in' / 'a.jpg').write_bytes(b''), portrait(t / 'in' / 'b.jpg')),
     ['--model-dir', '{m}', '--image', '{t}/in', '--output', '{t}/o/'], 2,
     r'{t}/in/a.jpg is not an image OpenCV can read',
     ('o/b_keypoints.jpg', 'o/b_keypoints.csv')),
    # -- SavedModels that are not this project's export
    ('export, input named x', P, lambda d, m, t: foreign_export(t / 'x', take=('x', 'uint8', 96)),
     OTHER_MODEL, 2, NOT_AN_EXPORT + r'takes x uint8 \[N, 96, 96, 1\]'),
    ('export, output named y', P, lambda d, m, t: foreign_export(t / 'x', give=('y', 30)),
     OTHER_MODEL, 2, NOT_AN_EXPORT + r'.* gives y float32 \[N, 30\]'),
    ('export, 64 x 64 images', P, lambda d, m, t: foreign_export(
        t / 'x', take=('images', 'uint8', 64)),
     OTHER_MODEL, 2, NOT_AN_EXPORT + r'takes images uint8 \[N, 64, 64, 1\]'),
    ('export, 10 outputs', P, lambda d, m, t: foreign_export(t / 'x', give=('keypoints', 10)),
     OTHER_MODEL, 2,
     NOT_AN_EXPORT + r'.* gives keypoints float32 \[N, 10\], not images uint8'),
    ('export, float images', P, lambda d, m, t: foreign_export(
        t / 'x', take=('images', 'float32', 96)),
     OTHER_MODEL, 2, NOT_AN_EXPORT + r'takes images float32'),
    ('export, other signature', P, lambda d, m, t: foreign_export(t / 'x', signature='predict'),
     OTHER_MODEL, 2,
     r'{t}/x is not an export of this project: it has no serving_default signature'),
    # -- folders that cannot be written
    ('export into a read-only folder', E, lambda d, m, t: read_only(t),
     ['--model-dir', '{m}', '--output', '{t}/ro/e'], 2,
     r'cannot write {t}/ro/e: Read-only file system'),
    ('resume, read-only model folder', T, lambda d, m, t: read_only(t, (with_lock(m), 'm')),
     ['--data-dir', '{d}', '--model-dir', '{t}/ro/m', '--resume', '--epochs', '3'], 2,
     r'cannot write in model folder {t}/ro/m: Read-only file system'),
    ('overwrite, read-only model folder', T, lambda d, m, t: read_only(t, (with_lock(m), 'm')),
     ['--data-dir', '{d}', '--model-dir', '{t}/ro/m', '--overwrite', '--epochs', '1',
      '--validation-size', '8'], 2,
     r'cannot write in model folder {t}/ro/m: Read-only file system'),
    # -- empty names
    ('predict, --model-dir empty', P, None, ['--model-dir', ''], 2,
     r'--model-dir is given an empty name'),
    ('predict, --output empty', P, None, PRED[:4] + ['--output', ''], 2,
     r'--output is given an empty name'),
    ('predict, --data-dir empty', P, None, ['--data-dir', '', '--model-dir', '{m}'], 2,
     r'--data-dir is given an empty name'),
    ('predict, --lookup empty', P, None, PRED + ['--lookup', ''], 2,
     r'--lookup is given an empty name'),
    ('photos, one of them empty', P, lambda d, m, t: photo(t / 'p.jpg'),
     ['--model-dir', '{m}', '--image', '{t}/p.jpg', ''], 2, r'--image is given an empty name'),
    ('photo, --output empty', P, lambda d, m, t: photo(t / 'p.jpg'),
     ['--model-dir', '{m}', '--image', '{t}/p.jpg', '--output', ''], 2,
     r'--output is given an empty name'),
    ('train, --data-dir empty', T, None, ['--data-dir', '', '--model-dir', '{t}/new'], 2,
     r'--data-dir is given an empty name'),
    ('train, --model-dir empty', T, None, ['--data-dir', '{d}', '--model-dir', ''], 2,
     r'--model-dir is given an empty name'),
    ('export, --output empty', E, None, ['--model-dir', '{m}', '--output', ''], 2,
     r'--output is given an empty name'),
    ('export, --model-dir empty', E, None, ['--model-dir', '', '--output', '{t}/e'], 2,
     r'--model-dir is given an empty name'),
    # -- a video named by a number is that video, not a camera
    ('video named 2024, not a video', P, lambda d, m, t: (t / '2024').write_text('hello'),
     ['--model-dir', '{m}', '--video', '2024', '--output', '{t}/o.mp4'], 2,
     r'cannot open 2024: not a video OpenCV can read'),
    ('video named 7', P, lambda d, m, t: (video_file(t / 'v.mp4'), os.rename(t / 'v.mp4', t / '7')),
     ['--model-dir', '{m}', '--video', '7', '--output', '{t}/o.mp4'], 0,
     r'^7: 3 frames .* -> {t}/o.mp4, {t}/o.csv$', ('o.mp4', 'o.csv')),
]


def check(status, got, err, out, message, fill, before, after, new, t):
    expected = message.format(**{k: re.escape(str(v)) for k, v in fill.items()})
    lines = [line for line in err.splitlines() if line.strip()]
    assert got == status, err
    if status == 2:
        assert len(lines) == 1 and lines[0].startswith('error: '), lines
        assert re.search(expected, lines[0]), lines[0]
    else:
        assert not [line for line in lines if line.startswith(('error', 'Traceback'))], err
        assert re.search(expected, out, re.M | re.S), (out, err)
    assert not sorted(p for p in before if after.get(p) != before[p])
    written = {os.path.relpath(p, t) for p in set(after) - set(before)}
    assert sorted(p for p in written if '.facial_keypoints_cache' not in p) == sorted(new)


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_hostile_serving(case, trained, tmp_path, capsys, monkeypatch):
    name, command, setup, argv, status, message, *new = case
    t = tmp_path
    d, m, fill, argv = case_folders(trained, t, argv)
    monkeypatch.chdir(t)
    try:
        if setup:
            setup(d, m, t)
        (t / 'submit.csv').write_text(EARLIER_SUBMISSION)
        capsys.readouterr()
        before = digest(t)
        got = main_status(SCRIPTS[command], argv)
        after = digest(t)
    finally:
        unmount_under(t)
    out, err = capsys.readouterr()
    check(status, got, err, out, message, fill, before, after, new[0] if new else (), t)


# ---- the cases of run_app.py, each in a process of its own (it sets its umask,
# environment and signal handlers) ----------------------------------------------------
# (id, argv, environment, message): all end with status 2 and one line.

APP_CASES = [
    ('host not of this computer', ['--host', '192.0.2.1'], {},
     r'cannot serve the page at 192.0.2.1:\d+: 192.0.2.1 is not an address of this computer'),
    ('IPv6 host not of this computer', ['--host', '2001:db8::1'], {},
     r'2001:db8::1 is not an address of this computer; give one of its own'),
    ('host that does not resolve', ['--host', 'no-such-host.invalid'], {},
     r'--host no-such-host.invalid is not a name this computer can resolve to an address'),
    ('host with a space', ['--host', 'my computer'], {},
     r'--host my computer is not a name this computer can resolve'),
    ('host half bracketed', ['--host', '[::1'], {},
     r'--host \[::1 is not a name this computer can resolve'),
    ('host empty', ['--host', ''], {}, r'--host is empty; give an address of this computer'),
    ('app, --model-dir empty', ['--model-dir', ''], {}, r'--model-dir is given an empty name'),
    ('app, page folder in a file', [], {'GRADIO_TEMP_DIR': '{t}/notes.txt'},
     r"cannot create a folder for the page's files in {t}/notes.txt: Not a directory"),
]


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('case', APP_CASES, ids=[c[0] for c in APP_CASES])
def test_hostile_app(case, trained, tmp_path):
    name, argv, env, message = case
    t = tmp_path
    (t / 'notes.txt').write_text('my notes\n')
    fill = dict(t=t, m=trained[1])
    before = digest(t)
    env = dict(os.environ, **{k: v.format(**fill) for k, v in env.items()})
    p = subprocess.run([sys.executable, os.path.join(ROOT, 'run_app.py'), '--model-dir',
                        trained[1], '--port', str(free_port())] + argv, cwd=t, env=env,
                       capture_output=True, text=True, timeout=600)
    check(2, p.returncode, p.stderr, p.stdout, message, fill, before, digest(t), (), t)


def test_there_are_at_least_30_cases():
    assert len(CASES) + len(APP_CASES) >= 30


# ---- the page: private, bounded, and gone when it stops ------------------------------

def test_the_page_keeps_photos_private_over_ipv6_and_removes_them_when_stopped(trained,
                                                                               tmp_path):
    """run_app.py on ::1: a visitor's upload and answers are this account's
    alone (folders 0700, files 0600), and SIGTERM, as Ctrl-C, stops the page
    (status 0) and removes them: nothing is left in GRADIO_TEMP_DIR."""
    client = pytest.importorskip('gradio_client')
    portrait(tmp_path / 'face.jpg')
    cache = tmp_path / 'cache'
    cache.mkdir()
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'run_app.py'), '--model-dir',
                             trained[1], '--host', '::1', '--port', str(port)], cwd=tmp_path,
                            env=dict(os.environ, GRADIO_TEMP_DIR=str(cache)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=with_ctrl_c)
    url = 'http://[::1]:{}/'.format(port)
    try:
        for _ in range(600):
            assert proc.poll() is None, proc.stdout.read()
            try:
                config = urllib.request.urlopen(url + 'config', timeout=5).read().decode()
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail('run_app.py did not answer at {}'.format(url))
        (folder,) = cache.iterdir()
        assert 'in `{}`, which only this account can read, until the page stops'.format(
            folder) in config
        report, gallery, tables = client.Client(url, verbose=False).predict(
            [client.handle_file(str(tmp_path / 'face.jpg'))] * 2, None, api_name='/answer')
        assert report.splitlines() == ['2 faces in 2 of 2 photos.', 'face.jpg: 1 face.',
                                       'face.jpg: 1 face.']
        modes = {os.path.relpath(os.path.join(root, n), folder): stat.S_IMODE(os.stat(
            os.path.join(root, n)).st_mode) for root, dirs, names in os.walk(folder)
            for n in dirs + names}
        kinds = {os.path.isdir(os.path.join(folder, p)) for p in modes}
        assert {os.path.basename(p) for p in modes} >= {
            'face.jpg', 'face_keypoints.jpg', 'face_keypoints.csv', 'face_2_keypoints.csv'}
        assert kinds == {True, False} and stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert {m for p, m in modes.items() if os.path.isdir(os.path.join(folder, p))} == {0o700}
        assert {m for p, m in modes.items() if not os.path.isdir(os.path.join(folder, p))} \
            == {0o600}
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert 'Traceback' not in out and os.listdir(cache) == []


@pytest.fixture(scope='module')
def app(trained):
    from facial_keypoints.serving.app import App
    app = App(trained[1])
    yield app
    app.close()


def test_the_page_answers_20_photos_a_request_and_names_the_rest_in_one_line(app, tmp_path):
    from facial_keypoints.serving.app import MAX_PHOTOS
    paths = []
    for i in range(23):
        gray(tmp_path / 'p{:02}.png'.format(i), 40, 50)
        paths.append(str(tmp_path / 'p{:02}.png'.format(i)))
    report, pictures, tables = app.answer(paths, None)
    lines = report.splitlines()
    assert MAX_PHOTOS == 20 and lines[0] == '0 faces in 0 of 20 photos.'
    assert lines[1:21] == ['p{:02}.png: no face found.'.format(i) for i in range(20)]
    assert lines[21:] == ['3 more photos (p20.png ...) not looked at: the page takes up to 20 '
                          'photos at a time; send them again.']
    report, _, _ = app.answer(paths[:20], paths[20])
    assert report.splitlines()[-1] == ('1 more photo (webcam) not looked at: the page takes up '
                                       'to 20 photos at a time; send it again.')


def test_the_pages_answers_are_this_accounts_alone_whatever_the_umask(app, tmp_path):
    portrait(tmp_path / 'face.jpg')
    old = os.umask(0o022)
    try:
        pictures, tables, lines, found = app.annotate([str(tmp_path / 'face.jpg')])
    finally:
        os.umask(old)
    assert found == 1 and lines == ['face.jpg: 1 face.']
    for path in (pictures[0][0], tables[0]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_a_thin_photo_among_others_is_one_line_on_the_page(app, tmp_path):
    gray(tmp_path / 'thin.png', 1, 60000)
    portrait(tmp_path / 'face.jpg')
    pictures, tables, lines, found = app.annotate([str(tmp_path / 'thin.png'),
                                                   str(tmp_path / 'face.jpg')])
    assert lines == ['thin.png: no face found.', 'face.jpg: 1 face.'] and found == 1


MEMORY = '''
import os, resource, sys, numpy as np, cv2
sys.path.insert(0, {root!r})
from facial_keypoints.runs.cli import import_tensorflow_quietly
import_tensorflow_quietly()
from facial_keypoints.faces import photo
from facial_keypoints.serving.app import App
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from matplotlib import cbook
folder = {folder!r}
os.makedirs(os.path.join(folder, 'one')); os.makedirs(os.path.join(folder, 'many'))
img = cv2.resize(cv2.imread(cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)),
                 (3264, 2448))          # 8 megapixels, one face
cv2.imwrite(os.path.join(folder, 'one', 'p.jpg'), img)
for i in range({n}):        # each read and decoded on its own; one file on the disk
    os.link(os.path.join(folder, 'one', 'p.jpg'), os.path.join(folder, 'many', 'p%02d.jpg' % i))
paths = sorted(os.path.join(folder, 'many', n) for n in os.listdir(os.path.join(folder, 'many')))
quiet = lambda *a: None
if {page!r}:
    app = App({model!r}, 'haar')
    app.annotate(paths[:1]); first = peak()
    app.annotate(paths); print(first, peak())
else:
    photo.annotate_photos([os.path.join(folder, 'one')], {model!r}, folder + '/o1/', 'haar',
                          log=quiet); first = peak()
    photo.annotate_photos([os.path.join(folder, 'many')], {model!r}, folder + '/o2/', 'haar',
                          log=quiet); print(first, peak())
'''


@pytest.mark.parametrize('page', [False, True], ids=['folder', 'page'])
def test_memory_does_not_grow_with_the_number_of_photos(trained, tmp_path, page):
    """12 photos of 8 megapixels (24 MB each, decoded) take no more memory at
    their peak than one does, give or take 60 MB; kept together, they would
    take about 290 MB more (less what loading the model took at its peak)."""
    code = MEMORY.format(root=ROOT, folder=str(tmp_path / 'p'), n=12, page=page,
                         model=trained[1])
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stderr
    one, many = map(float, p.stdout.split())
    assert many - one < 60, (one, many)


# ---- Python callers -----------------------------------------------------------------

@pytest.mark.parametrize('kind', ['checkpoint', 'export'])
def test_a_closed_predictor_refuses_in_one_sentence(trained, tmp_path, kind):
    from facial_keypoints.runs.errors import UserError
    from facial_keypoints.serving.predictor import Predictor
    model_dir = trained[1]
    if kind == 'export':
        model_dir = str(tmp_path / 'x')
        foreign_export(model_dir)      # shaped as this project's: images -> 30 zeros
    X = np.zeros((3, 96, 96, 1), np.uint8)
    p = Predictor(model_dir)
    assert p.predict(X).shape == (3, 30)
    p.close()
    p.close()
    with pytest.raises(UserError, match=r'^this Predictor of {} is closed; make a new one to '
                                        r'predict again\.$'.format(re.escape(model_dir))):
        p.predict(X)


def test_numpy_integers_are_batch_sizes(trained):
    from facial_keypoints.runs.errors import UserError
    from facial_keypoints.serving.predictor import Predictor
    X = np.linspace(0, 1, 5 * 96 * 96, dtype=np.float32).reshape(5, 96, 96, 1)
    with Predictor(trained[1]) as p:
        expected = p.predict(X, 2)
        for size in (np.int64(2), np.int32(2), np.uint8(2)):
            assert np.array_equal(p.predict(X, size), expected)
        for size in (True, np.int64(0), 2.0):
            with pytest.raises(UserError, match='must be a whole number of at least 1'):
                p.predict(X, size)


def test_the_posts_prediction_reads_the_newer_model_a_run_saved_meanwhile(trained, tmp_path,
                                                                         monkeypatch):
    """As Predictor does: the run removes the checkpoint chosen while it is read."""
    from facial_keypoints import predict
    data_dir, model_dir = trained[0], tmp_path / 'm'
    copy_run(trained[1], model_dir)
    predict.write_submission(data_dir, str(model_dir), str(tmp_path / 'a.csv'),
                             log=lambda *a: None)
    old = checkpoints.best_checkpoint(str(model_dir))
    monkeypatch.setattr(checkpoints, 'variables', saved_anew_when_read(model_dir, old))
    said = []
    predict.write_submission(data_dir, str(model_dir), str(tmp_path / 'b.csv'), log=said.append)
    assert any(line.endswith(str(model_dir / 'model-7')) for line in said), said
    assert (tmp_path / 'b.csv').read_text() == (tmp_path / 'a.csv').read_text()


def test_an_empty_model_name_is_refused_not_read_from_the_current_folder(trained, tmp_path,
                                                                          monkeypatch):
    from facial_keypoints.runs.errors import UserError
    from facial_keypoints.serving.predictor import Predictor
    copy_run(trained[1], tmp_path / 'here')
    monkeypatch.chdir(tmp_path / 'here')          # a model folder, and the current folder
    with pytest.raises(UserError, match=r"^the model folder's name is empty; give --model-dir "
                                        r"a folder\.$"):
        Predictor('')
