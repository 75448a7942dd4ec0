"""Predict with a trained model: python run_predict.py [--data-dir DIR] [--demo].

Writes Kaggle's submit.csv from test.csv and IdLookupTable.csv, or annotates
photographs; parses arguments and calls the package (facial_keypoints.runs.cli).
"""

import sys


def parse_args(argv=None):
    from facial_keypoints import constants
    from facial_keypoints.faces.detect import DETECTORS
    from facial_keypoints.files import demo
    from facial_keypoints.runs.cli import ArgumentParser, refuse_empty
    p = ArgumentParser(description='Predict the test set with the best checkpoint and write a '
                                   'Kaggle submission (RowId,Location), or find faces and '
                                   'their keypoints in photos.')
    p.add_argument('--data-dir', help='folder holding test.csv (or .csv.gz / '
                   '.zip) and IdLookupTable.csv (default: the current folder)')
    p.add_argument('--model-dir', help='a model folder that run_train.py saved into, or an '
                   'export from run_export.py (default: {}, or {} with --demo; with --image '
                   'or --video, {} if it holds a trained model, else the pretrained model '
                   'shipped with the package)'.format(constants.SAVE_PATH, demo.DEMO_MODEL_DIR,
                                                      constants.SAVE_PATH))
    p.add_argument('--output', help='submission file to write (default: {}, or {} '
                   'with --demo); with --image, the picture for one photo, and its keypoints '
                   'in the .csv of the same name beside it, or a folder for several '
                   '(default: PHOTO_keypoints.EXT and PHOTO_keypoints.csv in the current '
                   'folder); with --video, the annotated video (.mp4 or .avi; default '
                   'NAME_keypoints.mp4) and the .csv of the same name. Never a data file: '
                   'training, test or IdLookupTable as .csv, .csv.gz or .zip. A device, a '
                   'named pipe or /dev/stdout is written into, and a symbolic link\'s target '
                   'is what gets written'
                   .format(constants.SUBMIT_FILE, demo.DEMO_OUTPUT))
    p.add_argument('--lookup', help='IdLookupTable.csv to follow (default: the one in '
                   '--data-dir)')
    p.add_argument('--image', nargs='+', metavar='PHOTO',
                   help='instead of test.csv: find the faces in these photographs (files or '
                        'folders) and write each one annotated, with a CSV of its keypoints '
                        '(needs requirements-extra.txt)')
    p.add_argument('--video', metavar='VIDEO_OR_CAMERA',
                   help='instead of test.csv: annotate a video file, or camera N (a number that '
                        'is not the name of a file here) '
                        'until Ctrl-C; writes --output (default NAME_keypoints.mp4) and '
                        'beside it a .csv of the same name, one row per frame and face (needs '
                        'requirements-extra.txt)')
    p.add_argument('--no-smoothing', action='store_true',
                   help='--video: draw each frame as predicted, without smoothing the '
                        'keypoints over time')
    p.add_argument('--detector', choices=DETECTORS, default='auto',
                   help="face detector for --image and --video: dlib's HOG detector, or "
                        "OpenCV's Haar cascade (default: auto, dlib where installed)")
    p.add_argument('--demo', action='store_true',
                   help='predict the synthetic demo test set that run_train.py --demo made')
    p.add_argument('--batch-size', type=int, default=constants.BATCH_SIZE,
                   help='faces predicted at once (default: {})'.format(constants.BATCH_SIZE))
    p.add_argument('--bf16', action='store_true',
                   help='bfloat16 arithmetic on CPUs that have it (default: float32)')
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error('--batch-size must be at least 1')
    if args.image and args.video is not None:
        p.error('give --image or --video, not both')
    if args.video is not None and not args.video.strip():
        p.error('--video needs a video file or a camera number')
    refuse_empty(p, args, '--data-dir', '--model-dir', '--output', '--lookup', '--image')
    return args


def main():
    from facial_keypoints.runs.cli import predict_main
    return predict_main(parse_args())


if __name__ == '__main__':
    from facial_keypoints.runs.errors import run_cli  # from here on, Ctrl-C is one line
    sys.exit(run_cli(main))
