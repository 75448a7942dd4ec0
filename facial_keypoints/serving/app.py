"""A local web page to try a model: photos or the webcam in, each face's box
and 15 keypoints drawn, and a CSV of the keypoints to download (run_app.py).

What the page does with a photo is what `run_predict.py --image` does
(faces/photo.py): the same detector, the same crop to Kaggle's framing, the same
Predictor, and the same CSV. Gradio, which draws the page, is an optional
extra (requirements-extra.txt), as are OpenCV and dlib.
"""

import errno
import os
import socket
import tempfile
import threading

from ..faces import photo
from ..faces.detect import Detector, cv2_or_error
from ..files.demo import DEMO_MODEL_DIR
from ..runs import which_model
from ..runs.errors import UserError, reason

MAX_MEGAPIXELS = 50         # a 48-megapixel phone photo passes; decoded, it is 150 MB
MAX_UPLOAD = '100mb'        # per file, refused by Gradio before it is stored
MAX_PHOTOS = 20             # per request; the page says so, and refuses the rest in one line
ASK = 'Choose one or more photos, or take a picture with the webcam.'


def gradio_or_error():
    try:
        import gradio
    except ImportError:
        raise UserError('the web page needs Gradio: pip install -r requirements-extra.txt.')
    return gradio


def check_size(path, name, max_megapixels=MAX_MEGAPIXELS):
    """UserError unless path is a picture of at most max_megapixels, judged
    from its header alone (nothing is decoded); name: how the page calls it."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            width, height = im.size
    except Image.DecompressionBombError:
        width = height = None
    except (OSError, SyntaxError, ValueError):
        raise UserError('{} is not a picture this page can read (JPEG, PNG, WebP, BMP or '
                        'TIFF).'.format(name))
    if width is None or width * height > max_megapixels * 1e6:
        size = '' if width is None else ' ({} x {} pixels)'.format(width, height)
        raise UserError('{} is too large{}: the page takes pictures of up to {} '
                        'megapixels.'.format(name, size, max_megapixels))


class App:
    """One model and one detector, loaded once and shared by every page.

    Each request writes into a folder of its own, so two pages open at once
    never see each other's answers. TensorFlow's Session.run is thread-safe,
    OpenCV's cascade classifier is not documented to be, so detection and
    prediction take turns under a lock; reading, drawing and encoding do not.
    folder: where the requests' folders go (default: the system's temporary
    folder).
    """

    def __init__(self, model_dir=None, detector='auto', use_bf16=False, folder=None):
        from .predictor import Predictor
        self.detector = Detector(detector)
        self.predictor = Predictor(model_dir, use_bf16)
        self._lock = threading.Lock()
        self._outputs = tempfile.TemporaryDirectory(prefix='facial_keypoints_app_', dir=folder)

    def close(self):
        self.predictor.close()
        self._outputs.cleanup()

    def annotate(self, paths, names=None):
        """Find the faces and keypoints in each photo (file paths), one photo
        at a time (read, looked at, written, released), so that memory does
        not grow with the number of photos.

        Returns (pictures, tables, lines, found): the annotated photos as
        (JPEG file, caption), the CSV files (photo.faces_csv: box and 15
        keypoints in photo pixels), one sentence per photo, and the number of
        faces found in all of them. The files are this account's alone (0600,
        in a 0700 folder). names: how to call the photos (default: their file
        names).
        """
        names = names or [os.path.basename(p) for p in paths]
        folder = tempfile.mkdtemp(dir=self._outputs.name)
        as_jpeg = [os.path.splitext(n)[0] + '.jpg' for n in names]
        targets, _ = photo.output_paths(as_jpeg, folder + os.sep)
        pictures, tables, lines, found = [], [], [], 0
        for path, name, (picture, table) in zip(paths, names, targets):
            faces, line = self._one(path, name, picture, table)
            lines.append(line)
            if faces:
                found += faces
                pictures.append((picture, line.rstrip('.')))
                tables.append(table)
        return pictures, tables, lines, found

    def _one(self, path, name, picture, table):
        """(faces found, the photo's sentence); picture and table written
        where a face was found."""
        cv2 = cv2_or_error()
        try:
            check_size(path, name)
            img = photo.read_photo(path)
            with self._lock:
                boxes, points = photo.look_at(img, self.predictor, self.detector, path)
        except UserError as e:
            return 0, str(e).replace(path, name)
        if len(boxes) == 0:
            return 0, '{}: no face found.'.format(name)
        ok, encoded = cv2.imencode('.jpg', photo.draw(img, boxes, points),
                                   [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            return 0, '{}: the picture with its faces drawn cannot be encoded.'.format(name)
        del img
        private_file(picture, encoded.tobytes())
        private_file(table, photo.faces_csv(boxes, points).encode())
        return len(boxes), '{}: {} face{}.'.format(name, len(boxes), 's' * (len(boxes) > 1))

    def answer(self, files, webcam):
        """The page's button: (report text, gallery, CSV files). Up to
        MAX_PHOTOS photos are answered; the rest are named in one line."""
        paths = list(files or []) + ([webcam] if webcam else [])
        if not paths:
            return ASK, [], []
        names = [os.path.basename(p) for p in files or []] + (['webcam'] if webcam else [])
        pictures, tables, lines, found = self.annotate(paths[:MAX_PHOTOS], names[:MAX_PHOTOS])
        answered, left = min(len(paths), MAX_PHOTOS), names[MAX_PHOTOS:]
        summary = '{} face{} in {} of {} photo{}.'.format(
            found, 's' * (found != 1), len(pictures), answered, 's' * (answered > 1))
        if left:
            lines.append('{} more photo{} ({}{}) not looked at: the page takes up to {} photos '
                         'at a time; send {} again.'.format(
                             len(left), 's' * (len(left) > 1), left[0],
                             ' ...' if len(left) > 1 else '', MAX_PHOTOS,
                             'them' if len(left) > 1 else 'it'))
        return '\n'.join([summary] + lines), pictures, tables


def private_file(path, data):
    """Write data (bytes) to the new file path, readable by this account only
    (0600, whatever the umask): a visitor's photo is nobody else's."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'wb') as f:
        f.write(data)


def where_kept(folder, removed_at_stop):
    """The page's sentence on where photos and answers are kept."""
    try:
        private = os.stat(folder).st_mode & 0o077 == 0
    except OSError:
        private = False
    return 'Photos and their answers stay on this computer, in `{}`, {}{}.'.format(
        folder, 'which only this account can read' if private else
        'where other accounts on it may read them',
        ', until the page stops' if removed_at_stop else '')


def page(app, gr, kept=''):
    """The Gradio page (gr: the gradio module) around app.answer; kept: the
    sentence that says where photos are kept (where_kept())."""
    title = 'Facial keypoints'
    recipe = app.predictor.recipe
    about = ('Model: `{}` ({}), {} face detector. Up to {} photos at a time. {}'.format(
        app.predictor.checkpoint, 'an export' if recipe == 'export' else recipe + ' recipe',
        app.detector.name, MAX_PHOTOS, kept))
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(600, 3600)) as blocks:
        gr.Markdown('## {}\n{}'.format(title, about.strip()))
        with gr.Row():
            files = gr.File(label='Photos', file_count='multiple', elem_id='photos')
            webcam = gr.Image(label='Webcam', sources=['webcam'], type='filepath',
                              image_mode=None, elem_id='webcam')
        button = gr.Button('Find faces and keypoints', variant='primary', elem_id='run')
        report = gr.Textbox(label='Found', lines=2, interactive=False, elem_id='report')
        gallery = gr.Gallery(label='Faces and keypoints', format='jpeg', columns=2,
                             object_fit='contain', interactive=False, elem_id='annotated')
        tables = gr.File(label='Keypoints in photo pixels (CSV)', file_count='multiple',
                         interactive=False, elem_id='tables')
        button.click(app.answer, [files, webcam], [report, gallery, tables])
    return blocks


def serving_address(host, port):
    """The address to give Gradio for host (an IPv6 address in brackets), once
    a socket could be bound there: a UserError in one sentence, before the
    model loads, for an empty host, a name that does not resolve, an address
    this computer does not have, or a port in use or not allowed."""
    where = 'cannot serve the page at {}:{}'.format(host, port)
    bare = host[1:-1] if host.startswith('[') and host.endswith(']') else host
    if not bare.strip():
        raise UserError('--host is empty; give an address of this computer (127.0.0.1 for '
                        'this computer only, 0.0.0.0 for every network it is on).')
    try:
        family, kind, _, _, address = socket.getaddrinfo(
            bare, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise UserError('{}: --host {} is not a name this computer can resolve to an address '
                        '({}).'.format(where, host, reason(e) if isinstance(e, UnicodeError)
                                       else e.strerror))
    try:
        with socket.socket(family, kind) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as the server does
            s.bind(address)
    except OSError as e:
        raise UserError('{}: {}.'.format(where, {
            errno.EADDRNOTAVAIL: '{} is not an address of this computer; give one of its '
                                 'own (127.0.0.1 for this computer only, 0.0.0.0 for every '
                                 'network it is on)'.format(host),
            errno.EADDRINUSE: 'the port is in use; choose another --port',
            errno.EACCES: 'this account may not use port {}; choose another --port (1024 '
                          'or above)'.format(port)}.get(e.errno, reason(e))))
    return '[{}]'.format(bare) if ':' in bare else host


def serve(model_dir=None, host='127.0.0.1', port=7860, detector='auto', use_bf16=False,
          removed_at_stop=False, log=print):
    """Load the model (model_dir, or as Predictor() chooses: ./model, else the
    pretrained one; log names it), then serve the page at http://host:port/ until Ctrl-C.
    A host or port it cannot listen at, a missing model folder or one
    without a model is a UserError here, at start-up, before anything
    listens. Photos and answers go in Gradio's cache folder (GRADIO_TEMP_DIR,
    else the system's temporary folder's gradio/), and the page says where;
    removed_at_stop: whether the caller removes that folder when this returns
    (run_app.py does)."""
    address = serving_address(host, port)
    gr = gradio_or_error()
    from gradio.utils import get_upload_folder
    folder = get_upload_folder()
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise UserError('cannot create {}, the folder for the page\'s files: {}.'.format(
            folder, reason(e)))
    app = App(model_dir, detector, use_bf16, folder)
    log(which_model.describe(app.predictor.model_dir, DEMO_MODEL_DIR))
    try:
        page(app, gr, where_kept(folder, removed_at_stop)).queue().launch(
            server_name=address, server_port=port, max_file_size=MAX_UPLOAD, show_error=False,
            run_history=False, footer_links=['gradio'])
    except OSError as e:
        raise UserError('cannot serve the page at {}:{}: {}.'.format(
            host, port, 'the port is in use or not allowed; choose another --port'
            if 'port' in str(e) else reason(e)))
    finally:
        app.close()
