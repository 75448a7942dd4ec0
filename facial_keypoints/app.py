"""A local web page to try a model: photos or the webcam in, each face's box
and 15 keypoints drawn, and a CSV of the keypoints to download (run_app.py).

What the page does with a photo is what `run_predict.py --image` does
(photo.py): the same detector, the same crop to Kaggle's framing, the same
Predictor, and the same CSV. Gradio, which draws the page, is an optional
extra (requirements-extra.txt), as are OpenCV and dlib.
"""

import os
import tempfile
import threading

from . import modeldir, photo
from .demo import DEMO_MODEL_DIR
from .detect import Detector, cv2_or_error
from .errors import UserError, reason
from .predictor import Predictor

MAX_MEGAPIXELS = 50         # a 48-megapixel phone photo passes; decoded, it is 150 MB
MAX_UPLOAD = '100mb'        # per file, refused by Gradio before it is stored
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
    """

    def __init__(self, model_dir=None, detector='auto', use_bf16=False):
        self.detector = Detector(detector)
        self.predictor = Predictor(model_dir, use_bf16)
        self._lock = threading.Lock()
        self._outputs = tempfile.TemporaryDirectory(prefix='facial_keypoints_app_')

    def close(self):
        self.predictor.close()
        self._outputs.cleanup()

    def annotate(self, paths, names=None):
        """Find the faces and keypoints in each photo (file paths).

        Returns (pictures, tables, lines, found): the annotated photos as RGB
        uint8 [H, W, 3] with their captions, the CSV files (photo.faces_csv:
        box and 15 keypoints in photo pixels), one sentence per photo, and the
        number of faces found in all of them.
        names: how to call the photos (default: their file names).
        """
        cv2 = cv2_or_error()
        names = names or [os.path.basename(p) for p in paths]
        folder = tempfile.mkdtemp(dir=self._outputs.name)
        targets, _ = photo.output_paths(names, folder + os.sep)
        pictures, tables, lines, found = [], [], [], 0
        for path, name, (_, table) in zip(paths, names, targets):
            try:
                check_size(path, name)
                img = photo.read_photo(path)
            except UserError as e:
                lines.append(str(e).replace(path, name))
                continue
            with self._lock:
                boxes, points = photo.find_keypoints(img, self.predictor, self.detector)
            if len(boxes) == 0:
                lines.append('{}: no face found.'.format(name))
                continue
            found += len(boxes)
            faces = '{} face{}'.format(len(boxes), 's' * (len(boxes) > 1))
            pictures.append((cv2.cvtColor(photo.draw(img, boxes, points), cv2.COLOR_BGR2RGB),
                             '{}: {}'.format(name, faces)))
            with open(table, 'w') as f:
                f.write(photo.faces_csv(boxes, points))
            tables.append(table)
            lines.append('{}: {}.'.format(name, faces))
        return pictures, tables, lines, found

    def answer(self, files, webcam):
        """The page's button: (report text, gallery, CSV files)."""
        paths = list(files or []) + ([webcam] if webcam else [])
        if not paths:
            return ASK, [], []
        names = [os.path.basename(p) for p in files or []] + (['webcam'] if webcam else [])
        pictures, tables, lines, found = self.annotate(paths, names)
        summary = '{} face{} in {} of {} photo{}.'.format(
            found, 's' * (found != 1), len(pictures), len(paths), 's' * (len(paths) > 1))
        return '\n'.join([summary] + lines), pictures, tables


def page(app, gr):
    """The Gradio page (gr: the gradio module) around app.answer."""
    title = 'Facial keypoints'
    recipe = app.predictor.recipe
    about = ('Model: `{}` ({}), {} face detector. Photos stay on this computer.'.format(
        app.predictor.checkpoint, 'an export' if recipe == 'export' else recipe + ' recipe',
        app.detector.name))
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(600, 3600)) as blocks:
        gr.Markdown('## {}\n{}'.format(title, about))
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


def serve(model_dir=None, host='127.0.0.1', port=7860, detector='auto', use_bf16=False,
          log=print):
    """Load the model (model_dir, or as Predictor() chooses: ./model, else the
    pretrained one; log names it), then serve the page at http://host:port/
    until Ctrl-C. A missing model folder or one without a model is a UserError
    here, at start-up, before anything listens."""
    gr = gradio_or_error()
    app = App(model_dir, detector, use_bf16)
    log(modeldir.describe(app.predictor.model_dir, DEMO_MODEL_DIR))
    try:
        page(app, gr).queue().launch(
            server_name=host, server_port=port, max_file_size=MAX_UPLOAD, show_error=False,
            run_history=False, footer_links=['gradio'])
    except OSError as e:
        raise UserError('cannot serve the page at {}:{}: {}.'.format(
            host, port, 'the port is in use or not allowed; choose another --port'
            if 'port' in str(e) else reason(e)))
    finally:
        app.close()
