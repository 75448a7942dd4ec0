"""Export a trained model: python run_export.py --model-dir MODEL --output DIR.

Writes a TensorFlow SavedModel (and a .tflite file) that predicts keypoints
in pixels from uint8 images, usable without this repository; see --help.
"""

import sys


def parse_args(argv=None):
    from facial_keypoints import constants
    from facial_keypoints.runs.cli import ArgumentParser, refuse_empty
    p = ArgumentParser(description='Export the best checkpoint of a model folder as a '
                                   'TensorFlow SavedModel (signature serving_default: images '
                                   'uint8 [N, 96, 96, 1] -> keypoints float32 [N, 30] in '
                                   'pixels) plus keypoints.tflite.')
    p.add_argument('--model-dir',
                   help='the model folder run_train.py saved into (default: {} if it holds a '
                        'trained model, else the pretrained model shipped with the '
                        'package)'.format(constants.SAVE_PATH))
    p.add_argument('--output', required=True, help='a new folder for the export')
    args = p.parse_args(argv)
    refuse_empty(p, args, '--model-dir', '--output')
    return args


def main():
    from facial_keypoints.runs.cli import export_main
    return export_main(parse_args())


if __name__ == '__main__':
    from facial_keypoints.runs.errors import run_cli  # from here on, Ctrl-C is one line
    sys.exit(run_cli(main))
