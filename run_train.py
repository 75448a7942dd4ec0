"""Train the post's network: python run_train.py [--data-dir DIR] [--demo].

Parses arguments and calls facial_keypoints.train; see --help.
"""

import argparse
import sys

from facial_keypoints import constants
from facial_keypoints.demo import DEMO_EPOCHS
from facial_keypoints.recipes import RECIPE_NAMES


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Train the blog post's CNN on Kaggle's training.csv and keep the "
                    "best validation model.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--data-dir', default='.',
                   help='folder holding training.csv (or training.csv.gz / training.zip)')
    p.add_argument('--model-dir', default=None,
                   help='folder for checkpoints and hparams.json '
                        '(default: {}, or demo_data/model with --demo)'.format(
                            constants.SAVE_PATH))
    p.add_argument('--demo', action='store_true',
                   help='no Kaggle data? write a synthetic face set in Kaggle\'s layout '
                        'to demo_data/ and train on it for a few epochs')
    p.add_argument('--recipe', choices=RECIPE_NAMES, default='blog',
                   help="'blog' is the post unchanged; 'improved' uses every labelled "
                        'point, flips and a schedule')
    p.add_argument('--epochs', type=int, default=None,
                   help='most epochs (default: {} as in the post; 100 for the improved '
                        'recipe; {} with --demo)'.format(constants.EPOCHS, DEMO_EPOCHS))
    p.add_argument('--batch-size', type=int, default=constants.BATCH_SIZE)
    p.add_argument('--validation-size', type=int, default=constants.VALIDATION_SIZE,
                   help='rows held out for validation (blog recipe: the first rows)')
    p.add_argument('--patience', type=int, default=None,
                   help='stop after this many epochs without a better validation RMSE '
                        '(default: {} as in the post; 25 for the improved recipe)'.format(
                            constants.EARLY_STOP_PATIENCE))
    p.add_argument('--learning-rate', type=float, default=constants.LEARNING_RATE,
                   help="Adam's learning rate")
    p.add_argument('--seed', type=int, default=None,
                   help='seed for weights, dropout and shuffling (default: a random one, '
                        'recorded in hparams.json)')
    p.add_argument('--resume', action='store_true',
                   help='continue the run saved in --model-dir where it stopped')
    p.add_argument('--overwrite', action='store_true',
                   help='start again even though --model-dir holds a checkpoint')
    p.add_argument('--quiet', action='store_true', help='print only the summary lines')
    args = p.parse_args(argv)
    if args.resume and args.overwrite:
        p.error('--resume and --overwrite exclude each other')
    for name in ('batch_size', 'patience', 'epochs'):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error('--{} must be at least 1'.format(name.replace('_', '-')))
    if args.validation_size < 1:
        p.error('--validation-size must be at least 1')
    return args


if __name__ == '__main__':
    from facial_keypoints.cli import train_main
    from facial_keypoints.errors import run_cli
    sys.exit(run_cli(train_main, parse_args()))
