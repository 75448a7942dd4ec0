"""Predict with a trained model: python run_predict.py [--data-dir DIR] [--demo].

Writes Kaggle's submit.csv from test.csv and IdLookupTable.csv; see --help.
"""

import argparse
import sys

from facial_keypoints import constants


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Predict the test set with the best checkpoint and write a Kaggle '
                    'submission (RowId,Location).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--data-dir', default='.',
                   help='folder holding test.csv (or .csv.gz / .zip) and IdLookupTable.csv')
    p.add_argument('--model-dir', default=None,
                   help='folder the training run saved into (default: {}, or '
                        'demo_data/model with --demo)'.format(constants.SAVE_PATH))
    p.add_argument('--output', default=None,
                   help='submission file to write (default: submit.csv, or '
                        'demo_data/submit.csv with --demo); with --image, the annotated '
                        'picture for one photo or a folder for several (default: '
                        'PHOTO_keypoints.png and .csv in the current folder)')
    p.add_argument('--lookup', default=None,
                   help='IdLookupTable.csv to follow (default: the one in --data-dir)')
    p.add_argument('--image', nargs='+', metavar='PHOTO',
                   help='instead of test.csv: find the faces in these photographs (files or '
                        'folders) and write each one annotated, with a CSV of its keypoints '
                        '(needs requirements-extra.txt)')
    p.add_argument('--demo', action='store_true',
                   help='predict the synthetic demo test set that run_train.py --demo made')
    p.add_argument('--batch-size', type=int, default=constants.BATCH_SIZE)
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error('--batch-size must be at least 1')
    return args


if __name__ == '__main__':
    from facial_keypoints.cli import predict_main
    from facial_keypoints.errors import run_cli
    sys.exit(run_cli(predict_main, parse_args()))
