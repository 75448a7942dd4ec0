"""Train the post's network: python run_train.py [--data-dir DIR] [--demo].

Parses arguments and calls the package (facial_keypoints.runs.cli); see --help.
"""

import sys


def parse_args(argv=None):
    """Flags left out are None: --resume takes them from the saved run,
    otherwise the recipe's defaults apply (config.py)."""
    from facial_keypoints import constants
    from facial_keypoints.files import demo
    from facial_keypoints.improved import settings as imp
    from facial_keypoints.runs.cli import ArgumentParser, refuse_empty
    from facial_keypoints.runs.config import RECIPES
    p = ArgumentParser(description="Train the blog post's CNN (or, with --recipe improved, "
                                   "the improved recipe) on Kaggle's training.csv and keep "
                                   "the best validation model (with --all-rows, the last).")
    p.add_argument('--data-dir', help='folder holding training.csv (or training.csv.gz / '
                   'training.zip; the first of them there is read, and named) (default: the '
                   'current folder)')
    p.add_argument('--model-dir', help='folder for the checkpoints (model-E.*, last-N.*, '
                   'checkpoint, checkpoint_last), hparams.json, history.json, run_files.json '
                   '(the record of what the run writes), TensorBoard events and pictures '
                   '(default: {}, or {} with --demo)'.format(constants.SAVE_PATH,
                                                             demo.DEMO_MODEL_DIR))
    p.add_argument('--demo', action='store_true',
                   help="no Kaggle data? write a synthetic face set in Kaggle's layout to {} "
                        'and train on it'.format(demo.DEMO_DIR))
    p.add_argument('--recipe', choices=RECIPES,
                   help="'blog' (default) is the post unchanged; 'improved' uses every "
                        'labelled point, flips, two deeper nets and a schedule; \'compact\' '
                        'is the improved recipe with one network of fewer channels, about six '
                        'times faster (the pretrained model\'s)')
    p.add_argument('--epochs', type=int, help='most epochs (default: {} as in the post and '
                   'for the improved recipe, {} with --demo)'.format(
                       constants.EPOCHS, demo.DEMO_EPOCHS))
    p.add_argument('--batch-size', type=int,
                   help='faces per training step (default: {})'.format(constants.BATCH_SIZE))
    p.add_argument('--validation-size', type=int,
                   help='blog recipe: the first rows validate (default: {}); the improved '
                        'recipe holds out a fifth of the rows in whole near-duplicate '
                        'groups'.format(constants.VALIDATION_SIZE))
    p.add_argument('--patience', type=int,
                   help='stop after this many epochs without a better validation RMSE '
                        '(default: {} as in the post; {} for the improved recipe; not with '
                        '--all-rows)'.format(
                            constants.EARLY_STOP_PATIENCE, imp.PATIENCE))
    p.add_argument('--learning-rate', type=float,
                   help="Adam's learning rate (default: {})".format(constants.LEARNING_RATE))
    p.add_argument('--keep-prob', type=float, help='dropout keep probability while training '
                   '(default: {} as in the post; {} for the improved recipe, which needs no '
                   'dropout)'.format(constants.TRAIN_KEEP_PROB, imp.KEEP_PROB))
    p.add_argument('--seed', type=int,
                   help='seed for weights, dropout, shuffling and augmentation; the same seed '
                        'gives the same numbers (default: a random one, recorded in '
                        'hparams.json)')
    p.add_argument('--bf16', action='store_true', default=None,
                   help='bfloat16 arithmetic on CPUs that have it (AVX512_BF16, AMX), '
                        'variables stay float32 (default: float32, as the post)')
    p.add_argument('--all-rows', action='store_true', default=None,
                   help='improved recipe: train on every row, its validation groups too, '
                        'for a final model once the recipe is chosen; the last epoch is '
                        'kept, and no validation is left')
    p.add_argument('--resume', action='store_true',
                   help='continue the run saved in --model-dir from its last saved training '
                        'state; --epochs, --patience and --bf16 may be given again, and '
                        '--data-dir where the data has moved')
    p.add_argument('--overwrite', action='store_true',
                   help='replace the run in --model-dir: remove exactly the files (and '
                        "TensorFlow's _temp folders) that its record, run_files.json, lists as "
                        'written by a run, and nothing else (a folder saved before the record '
                        'listed every file: also its model-N.*, last-N.*, _temp folders and '
                        'TensorBoard events); a file of a run\'s name not in the record is '
                        'refused')
    p.add_argument('--quiet', action='store_true',
                   help='no progress bar and no per-epoch lines, only the summary')
    args = p.parse_args(argv)
    if args.resume and args.overwrite:
        p.error('--resume and --overwrite exclude each other')
    refuse_empty(p, args, '--data-dir', '--model-dir')
    return args


def main():
    from facial_keypoints.runs.cli import train_main
    return train_main(parse_args())


if __name__ == '__main__':
    from facial_keypoints.runs.errors import run_cli  # from here on, Ctrl-C is one line
    sys.exit(run_cli(main))
