"""Train the post's network: python run_train.py [--data-dir DIR] [--demo].

Parses arguments and calls facial_keypoints.train; see --help.
"""

import argparse
import sys

from facial_keypoints import constants
from facial_keypoints.demo import DEMO_DIR, DEMO_EPOCHS, DEMO_MODEL_DIR
from facial_keypoints.recipes import RECIPE_NAMES


def parse_args(argv=None):
    """Flags left out are None here: --resume takes them from the saved run,
    otherwise the recipe's defaults (the post's constants) apply."""
    p = argparse.ArgumentParser(
        description="Train the blog post's CNN on Kaggle's training.csv and keep the "
                    "best validation model.")
    p.add_argument('--data-dir', default=None,
                   help='folder holding training.csv (or training.csv.gz / training.zip) '
                        '(default: the current folder)')
    p.add_argument('--model-dir', default=None,
                   help='folder for checkpoints, hparams.json, history.json, TensorBoard '
                        'events and pictures (default: {}, or {} with --demo)'.format(
                            constants.SAVE_PATH, DEMO_MODEL_DIR))
    p.add_argument('--demo', action='store_true',
                   help="no Kaggle data? write a synthetic face set in Kaggle's layout "
                        'to {} and train on it'.format(DEMO_DIR))
    p.add_argument('--recipe', choices=RECIPE_NAMES, default=None,
                   help="'blog' (default) is the post unchanged; 'improved' uses every "
                        'labelled point, flips, a deeper net and a schedule')
    p.add_argument('--epochs', type=int, default=None,
                   help='most epochs (default: {} as in the post; {} with --demo)'.format(
                       constants.EPOCHS, DEMO_EPOCHS))
    p.add_argument('--batch-size', type=int, default=None,
                   help='(default: {})'.format(constants.BATCH_SIZE))
    p.add_argument('--validation-size', type=int, default=None,
                   help='blog recipe: the first rows that validate (default: {}); the '
                        'improved recipe holds out 20%% of the rows in near-duplicate '
                        'groups'.format(constants.VALIDATION_SIZE))
    p.add_argument('--patience', type=int, default=None,
                   help='stop after this many epochs without a better validation RMSE '
                        '(default: {} as in the post; 40 for the improved recipe)'.format(
                            constants.EARLY_STOP_PATIENCE))
    p.add_argument('--learning-rate', type=float, default=None,
                   help="Adam's learning rate (default: {})".format(constants.LEARNING_RATE))
    p.add_argument('--seed', type=int, default=None,
                   help='seed for weights, dropout, shuffling and augmentation; makes a '
                        'CPU run repeatable (default: a random one, recorded in '
                        'hparams.json)')
    p.add_argument('--resume', action='store_true',
                   help='continue the run saved in --model-dir where it stopped, with its '
                        'saved settings (flags given again override them)')
    p.add_argument('--overwrite', action='store_true',
                   help='start again even though --model-dir holds a checkpoint')
    p.add_argument('--quiet', action='store_true',
                   help='no progress bar and no per-epoch lines, only the summary')
    args = p.parse_args(argv)
    if args.resume and args.overwrite:
        p.error('--resume and --overwrite exclude each other')
    for name in ('batch_size', 'patience', 'epochs', 'validation_size'):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error('--{} must be at least 1'.format(name.replace('_', '-')))
    if args.learning_rate is not None and not args.learning_rate > 0:
        p.error('--learning-rate must be positive')
    return args


if __name__ == '__main__':
    from facial_keypoints.cli import train_main
    from facial_keypoints.errors import run_cli
    sys.exit(run_cli(train_main, parse_args()))
