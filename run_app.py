"""Try a model in the browser: python run_app.py [--model-dir DIR] [--port N].

Serves a local web page (Gradio, requirements-extra.txt): photos or the
webcam in, faces and their keypoints drawn, a CSV to download. Visitors'
photos and answers are kept in a folder of this process's own, readable by
this account alone and removed when the page stops (Ctrl-C or SIGTERM).
Parses arguments and calls the package (facial_keypoints.serving.app); see --help.
"""

import sys

DEFAULT_HOST, DEFAULT_PORT = '127.0.0.1', 7860


def parse_args(argv=None):
    from facial_keypoints import constants
    from facial_keypoints.faces.detect import DETECTORS
    from facial_keypoints.files import demo
    from facial_keypoints.runs.cli import ArgumentParser, refuse_empty
    p = ArgumentParser(description='A local web page that finds the faces in photos (or a '
                                   'webcam picture), draws their keypoints and offers them '
                                   'as CSV.')
    p.add_argument('--model-dir',
                   help='a model folder that run_train.py saved into, or an export from '
                        'run_export.py (default: {} if it holds a trained model, else the '
                        'pretrained model shipped with the package; the demo\'s: {})'.format(
                            constants.SAVE_PATH, demo.DEMO_MODEL_DIR))
    p.add_argument('--port', type=int, default=DEFAULT_PORT,
                   help='port to listen on (default: {})'.format(DEFAULT_PORT))
    p.add_argument('--host', default=DEFAULT_HOST,
                   help='address to listen on, IPv4 or IPv6 (default: {}, this computer '
                        'only; 0.0.0.0 lets other computers open the page)'.format(DEFAULT_HOST))
    p.add_argument('--detector', choices=DETECTORS, default='auto',
                   help="face detector: dlib's HOG detector, or OpenCV's Haar cascade "
                        "(default: auto, dlib where installed)")
    p.add_argument('--bf16', action='store_true',
                   help='bfloat16 arithmetic on CPUs that have it (default: float32)')
    args = p.parse_args(argv)
    if not 1 <= args.port <= 65535:
        p.error('--port must be from 1 to 65535')
    refuse_empty(p, args, '--model-dir')
    return args


def main():
    import os
    import shutil
    import signal
    import tempfile
    args = parse_args()
    from facial_keypoints.runs.errors import UserError, reason
    from facial_keypoints.serving.app import serving_address
    serving_address(args.host, args.port)      # before the slow start, as in serve()
    # This process's settings: no usage reports from Gradio; visitors' photos
    # and answers in a folder of its own that only this account can read
    # (0700, files 0600), removed when the page stops, on Ctrl-C and SIGTERM
    # alike; TensorFlow's start-up lines filtered as in the other scripts.
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    os.umask(0o077)
    parent = os.environ.get('GRADIO_TEMP_DIR') or None
    try:
        folder = tempfile.mkdtemp(prefix='facial_keypoints_page_', dir=parent)
    except OSError as e:
        raise UserError('cannot create a folder for the page\'s files in {}: {}.'.format(
            parent or tempfile.gettempdir(), reason(e)))
    os.environ['GRADIO_TEMP_DIR'] = folder
    signal.signal(signal.SIGTERM, stop)
    try:
        from facial_keypoints.runs.cli import import_tensorflow_quietly
        import_tensorflow_quietly()
        from facial_keypoints.serving.app import serve
        serve(args.model_dir, args.host, args.port, args.detector, args.bf16,
              removed_at_stop=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def stop(signum, frame):
    """SIGTERM stops the page as Ctrl-C does."""
    raise KeyboardInterrupt


if __name__ == '__main__':
    from facial_keypoints.runs.errors import run_cli  # from here on, Ctrl-C is one line
    sys.exit(run_cli(main))
