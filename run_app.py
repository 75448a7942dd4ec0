"""Try a model in the browser: python run_app.py [--model-dir DIR] [--port N].

Serves a local web page (Gradio, requirements-extra.txt): photos or the
webcam in, faces and their keypoints drawn, a CSV to download. Parses
arguments and calls the package (facial_keypoints.app); see --help.
"""

import sys

DEFAULT_HOST, DEFAULT_PORT = '127.0.0.1', 7860


def parse_args(argv=None):
    from facial_keypoints import constants, demo
    from facial_keypoints.cli import ArgumentParser
    from facial_keypoints.detect import DETECTORS
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
                   help='address to listen on (default: {}, this computer only; 0.0.0.0 '
                        'lets other computers open the page)'.format(DEFAULT_HOST))
    p.add_argument('--detector', choices=DETECTORS, default='auto',
                   help="face detector: dlib's HOG detector, or OpenCV's Haar cascade "
                        "(default: auto, dlib where installed)")
    p.add_argument('--bf16', action='store_true',
                   help='bfloat16 arithmetic on CPUs that have it (default: float32)')
    args = p.parse_args(argv)
    if not 1 <= args.port <= 65535:
        p.error('--port must be from 1 to 65535')
    return args


def main():
    import os
    args = parse_args()
    # This process's settings: no usage reports from Gradio, TensorFlow's
    # start-up lines filtered as in the other scripts.
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    from facial_keypoints.cli import import_tensorflow_quietly
    import_tensorflow_quietly()
    from facial_keypoints.app import serve
    serve(args.model_dir, args.host, args.port, args.detector, args.bf16)
    return 0


if __name__ == '__main__':
    from facial_keypoints.errors import run_cli     # from here on, Ctrl-C is one line
    sys.exit(run_cli(main))
