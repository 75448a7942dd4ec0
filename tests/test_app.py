"""The web page (run_app.py): what it answers for each photo, what it refuses,
and the page itself in a real browser, headless Chromium.

The photos are composed here from matplotlib's sample portrait of Grace
Hopper: one copy is one face, two side by side are two. The browser tests
skip where Chromium (Debian's package; CHROMIUM=/path to name another),
Gradio or Playwright is missing.
"""

import io
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, run_script, with_ctrl_c
from facial_keypoints import constants

cv2 = pytest.importorskip('cv2')
pytest.importorskip('PIL')

CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 # a camera that films a test pattern, allowed without asking
                 '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']
CSV_COLUMNS = ['face', 'box_x', 'box_y', 'box_w', 'box_h'] + constants.KEYPOINT_COLUMNS


def portrait():
    """matplotlib's sample photo of Grace Hopper, BGR [600, 512, 3]: one face."""
    cbook = pytest.importorskip('matplotlib.cbook')
    return cv2.imread(cbook.get_sample_data('grace_hopper.jpg', asfileobj=False))


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """{'one.jpg': path, 'two.jpg': path (two faces), 'blank.png', 'notes.jpg' (text)}."""
    d = tmp_path_factory.mktemp('photos')
    one = portrait()
    cv2.imwrite(str(d / 'one.jpg'), one, [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(str(d / 'two.jpg'), np.hstack([one, one]), [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(str(d / 'blank.png'), np.full((240, 320, 3), 90, np.uint8))
    (d / 'notes.jpg').write_text('not a picture')
    return {p.name: str(p) for p in d.iterdir()}


def png_header(width, height):
    """A PNG whose header claims width x height (grayscale) and whose pixels
    are missing: read only the header, or fail."""
    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data)))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b'IEND', b''))


@pytest.fixture(scope='module')
def app(trained):
    from facial_keypoints.serving.app import App
    _, model_dir, _ = trained
    app = App(model_dir)
    yield app
    app.close()


# ---- what the page answers ------------------------------------------------------

def test_each_face_is_found_drawn_and_tabled_as_run_predict_does(app, photos):
    from facial_keypoints.faces import photo
    pictures, tables, lines, found = app.annotate([photos['two.jpg'], photos['one.jpg']])
    assert found == 3 and lines == ['two.jpg: 2 faces.', 'one.jpg: 1 face.']
    img = photo.read_photo(photos['two.jpg'])
    boxes, points = photo.find_keypoints(img, app.predictor, app.detector)
    assert len(boxes) == 2
    shown, caption = pictures[0]
    assert caption == 'two.jpg: 2 faces' and os.path.basename(shown) == 'two_keypoints.jpg'
    drawn = photo.draw(img, boxes, points).astype(int)
    assert np.abs(cv2.imread(shown).astype(int) - drawn).mean() < 2      # a JPEG of it
    assert [os.path.basename(t) for t in tables] == ['two_keypoints.csv', 'one_keypoints.csv']
    table = pd.read_csv(tables[0])
    assert list(table.columns) == CSV_COLUMNS
    assert np.array_equal(table[CSV_COLUMNS[1:5]].to_numpy(), boxes)
    assert np.allclose(table[constants.KEYPOINT_COLUMNS].to_numpy(), points, atol=0.005)


def test_bad_photos_are_one_sentence_each_and_the_rest_go_on(app, photos, tmp_path):
    huge = tmp_path / 'huge.png'
    huge.write_bytes(png_header(9000, 7000))
    paths = [photos['notes.jpg'], str(huge), photos['blank.png'], photos['one.jpg']]
    pictures, tables, lines, found = app.annotate(paths)
    assert lines == [
        'notes.jpg is not a picture this page can read (JPEG, PNG, WebP, BMP or TIFF).',
        'huge.png is too large (9000 x 7000 pixels): the page takes pictures of up to 50 '
        'megapixels.',
        'blank.png: no face found.',
        'one.jpg: 1 face.']
    assert found == 1 and len(pictures) == 1 and len(tables) == 1


def test_the_size_limit_reads_only_the_header(tmp_path):
    from facial_keypoints.serving.app import check_size
    from facial_keypoints.runs.errors import UserError
    path = tmp_path / 'x.png'
    path.write_bytes(png_header(7000, 7000))        # 49 megapixels: allowed, undecodable
    check_size(str(path), 'x.png')
    with pytest.raises(UserError, match=r'x.png is too large \(7000 x 7000 pixels\)'):
        check_size(str(path), 'x.png', max_megapixels=40)
    path.write_bytes(png_header(100000, 100000))    # past Pillow's own bomb limit
    with pytest.raises(UserError, match=r'^x.png is too large: the page'):
        check_size(str(path), 'x.png')


def test_the_button_reports_the_total_and_asks_for_a_photo(app, photos):
    report, pictures, tables = app.answer([photos['two.jpg'], photos['blank.png']], None)
    assert report == '2 faces in 1 of 2 photos.\ntwo.jpg: 2 faces.\nblank.png: no face found.'
    report, pictures, tables = app.answer(None, photos['one.jpg'])
    assert report == '1 face in 1 of 1 photo.\nwebcam: 1 face.'
    assert app.answer([], None) == ('Choose one or more photos, or take a picture with the '
                                    'webcam.', [], [])


def test_requests_write_apart(app, photos):
    _, first, _, _ = app.annotate([photos['one.jpg']])
    _, second, _, _ = app.annotate([photos['one.jpg']])
    assert os.path.basename(first[0]) == os.path.basename(second[0])
    assert os.path.dirname(first[0]) != os.path.dirname(second[0])
    assert open(first[0]).read() == open(second[0]).read()


# ---- start-up ---------------------------------------------------------------------

@pytest.mark.parametrize('case', ['missing', 'empty'])
def test_no_model_is_refused_at_start_up(tmp_path, case):
    pytest.importorskip('gradio')
    model_dir = tmp_path / 'model'
    if case == 'empty':
        model_dir.mkdir()
    status, out, err = run_script('run_app.py', '--model-dir', str(model_dir),
                                  '--port', str(free_port()))
    assert status == 2 and 'Traceback' not in err
    said = 'does not exist' if case == 'missing' else 'no checkpoint in'
    assert err.strip().splitlines() == [line for line in err.strip().splitlines()
                                        if line.startswith('error: ')]
    assert said in err and str(model_dir) in err


def test_a_port_in_use_is_one_line(trained):
    pytest.importorskip('gradio')
    _, model_dir, _ = trained
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = run_script('run_app.py', '--model-dir', model_dir, '--port', str(port))
    assert status == 2 and err == ('error: cannot serve the page at 127.0.0.1:{}: the port is '
                                   'in use; choose another --port.\n'.format(port))


def test_a_wrong_port_is_one_line():
    status, _, err = run_script('run_app.py', '--port', '70000')
    assert status == 2 and err == 'error: --port must be from 1 to 65535 (see --help).\n'


# ---- in the browser -----------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def chromium_or_skip():
    path = os.environ.get('CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
    if not os.path.isfile(path):
        pytest.skip('no Chromium at {} (apt-get install chromium)'.format(path))
    return path


@pytest.fixture(scope='module')
def server(trained, tmp_path_factory):
    """run_app.py on a free local port: its URL."""
    chromium_or_skip()
    pytest.importorskip('gradio')
    _, model_dir, _ = trained
    port = free_port()
    env = dict(os.environ, GRADIO_TEMP_DIR=str(tmp_path_factory.mktemp('gradio')))
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'run_app.py'), '--model-dir',
                             model_dir, '--port', str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=with_ctrl_c)
    url = 'http://127.0.0.1:{}/'.format(port)
    try:
        for _ in range(600):                # up to ten minutes on a busy machine
            if proc.poll() is not None:
                pytest.fail('run_app.py ended with status {}: {}'.format(
                    proc.returncode, proc.stdout.read()))
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail('run_app.py did not answer at {}'.format(url))
        yield url
    finally:
        proc.send_signal(signal.SIGINT)     # Ctrl-C: the page's own folders are removed
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope='module')
def browser(server):
    sync_api = pytest.importorskip('playwright.sync_api')
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def send(browser, url, files):
    """A page of its own (a new browser context), with files chosen and the button
    pressed; the answer is not waited for."""
    page = browser.new_context().new_page()
    page.set_default_timeout(180_000)
    page.goto(url)
    page.locator('#photos input[type=file]').set_input_files(files)
    for name in files:        # listed once uploaded, as stem and extension
        page.wait_for_function('document.querySelector("#photos").innerText.includes({!r})'
                               .format(os.path.splitext(os.path.basename(name))[0]))
    page.click('#run')
    return page


def answer(page):
    """The report's text, once it came; the annotated picture (BGR) and the first
    CSV table, fetched as the browser would."""
    page.wait_for_function("document.querySelector('#report textarea').value !== ''")
    report = page.locator('#report textarea').input_value()
    if not report.split()[0].isdigit() or int(report.split()[0]) == 0:
        return report, None, None
    page.wait_for_selector('#annotated img')
    page.wait_for_selector('#tables a')
    shown = page.request.get(page.locator('#annotated img').first.get_attribute('src')).body()
    table = page.request.get(page.locator('#tables a').first.get_attribute('href')).text()
    return (report, cv2.imdecode(np.frombuffer(shown, np.uint8), cv2.IMREAD_COLOR),
            pd.read_csv(io.StringIO(table)))


def test_two_pages_at_once_each_get_their_own_faces_drawn(browser, server, photos):
    two = send(browser, server, [photos['two.jpg']])
    one = send(browser, server, [photos['notes.jpg'], photos['one.jpg']])
    report, shown, table = answer(two)
    assert report.splitlines() == ['2 faces in 1 of 1 photo.', 'two.jpg: 2 faces.']
    upload = cv2.imread(photos['two.jpg'])
    assert shown.shape == upload.shape
    assert list(table.columns) == CSV_COLUMNS and len(table) == 2
    # Where the CSV says each box and keypoint is, the picture shown has them
    # drawn (green, red) and the photo sent has not.
    for face in table.itertuples():
        x, y, w = face.box_x, face.box_y, face.box_w
        for b, g, r in (shown[y, x + w // 2], shown[y + w // 2, x]):
            assert g > 150 and r < 100 and b < 100
        for b, g, r in (upload[y, x + w // 2], upload[y + w // 2, x]):
            assert not (g > 150 and r < 100 and b < 100)
        xy = np.array(face[6:], float).reshape(15, 2)
        for px, py in np.round(xy).astype(int):
            b, g, r = shown[py, px].astype(int)
            assert r > 150 and g < 100 and b < 100, (px, py)
    assert np.abs(shown.astype(int) - upload).mean() < 6     # the rest is the photo
    report, shown, table = answer(one)
    assert report.splitlines() == [
        '1 face in 1 of 2 photos.',
        'notes.jpg is not a picture this page can read (JPEG, PNG, WebP, BMP or TIFF).',
        'one.jpg: 1 face.']
    assert shown.shape == portrait().shape and len(table) == 1
    assert 'Traceback' not in one.content()


def test_a_photo_without_a_face_says_so(browser, server, photos):
    report, shown, table = answer(send(browser, server, [photos['blank.png']]))
    assert report.splitlines() == ['0 faces in 0 of 1 photo.', 'blank.png: no face found.']


def test_a_webcam_picture_is_answered(browser, server):
    page = browser.new_context().new_page()
    page.set_default_timeout(180_000)
    page.goto(server)
    page.click('#webcam >> text=Click to Access Webcam')
    page.wait_for_function('(v => v && v.videoWidth > 0 && v.currentTime > 0)'
                           '(document.querySelector("#webcam video"))')      # filming
    page.click('#webcam button[aria-label="capture photo"]')
    page.wait_for_selector('#webcam img[src*="/file="]')      # the picture is on the server
    page.click('#run')
    report, _, _ = answer(page)
    assert report.splitlines() == ['0 faces in 0 of 1 photo.', 'webcam: no face found.']
