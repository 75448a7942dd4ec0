"""What run_train.py and run_predict.py call with their parsed arguments:
fill in the --demo defaults, explain missing Kaggle data, run, report."""

import os

from . import constants, demo
from .errors import UserError

KAGGLE_HELP = ('get Kaggle\'s files with "kaggle competitions download -c '
               'facial-keypoints-detection" and unzip them there, or try the built-in '
               'demo with --demo')


# Settings a resumed run takes from its hparams.json unless given again.
RESUMED_SETTINGS = ('data_dir', 'recipe', 'epochs', 'batch_size', 'validation_size',
                    'patience', 'learning_rate', 'seed')


def train_main(args):
    """Returns 0, or 130 when Ctrl-C stopped training (state saved)."""
    from .data import find_data_file
    from .recipes import get_recipe
    model_dir = args.model_dir or (demo.DEMO_MODEL_DIR if args.demo else constants.SAVE_PATH)
    settings = {}
    if args.resume:
        from .checkpoints import read_hparams
        saved = read_hparams(model_dir)
        settings.update({k: saved[k] for k in RESUMED_SETTINGS if k in saved})
    settings.update({k: v for k, v in vars(args).items()
                     if k in RESUMED_SETTINGS and v is not None})
    if args.demo:
        settings.setdefault('data_dir', demo.make_demo_data())
        settings.setdefault('epochs', demo.DEMO_EPOCHS)
    recipe = get_recipe(settings.get('recipe') or 'blog')
    defaults = dict(data_dir='.', recipe=recipe.name, epochs=recipe.epochs,
                    batch_size=constants.BATCH_SIZE, validation_size=constants.VALIDATION_SIZE,
                    patience=recipe.patience, learning_rate=constants.LEARNING_RATE)
    for k, v in defaults.items():
        settings.setdefault(k, v)
    try:
        find_data_file(settings['data_dir'], constants.TRAIN_FILE)
    except UserError as e:
        raise UserError('found no training data: {} To train: {}.'.format(e, KAGGLE_HELP))
    from .train import TrainConfig, train     # TensorFlow loads here, once the data is found
    cfg = TrainConfig(model_dir=model_dir, resume=args.resume, overwrite=args.overwrite,
                      quiet=args.quiet, **settings)
    result = train(cfg)
    if result['interrupted']:
        return 130
    print('best validation RMSE {:.4f} px at epoch {}; {} epochs in {:.0f} s; model in {}'
          .format(result['best_validation_rmse_px'], result['best_epoch'],
                  result['epochs_run'], result['seconds'], cfg.model_dir))
    return 0


def predict_main(args):
    """Returns 0, or 1 when --image photos held no face."""
    from .predict import predict_test_set
    data_dir, model_dir, output = args.data_dir, args.model_dir, args.output
    if args.image:
        from .photo import annotate_photos
        if args.demo:
            model_dir = model_dir or demo.DEMO_MODEL_DIR
        no_face = annotate_photos(args.image, model_dir or constants.SAVE_PATH, output)
        return 1 if no_face else 0
    if args.demo:
        data_dir = demo.DEMO_DIR
        model_dir = model_dir or demo.DEMO_MODEL_DIR
        output = output or demo.DEMO_OUTPUT
        if not os.path.isdir(data_dir):
            raise UserError('no demo data in {}: run "python run_train.py --demo" first.'
                            .format(data_dir))
    predict_test_set(data_dir=data_dir, model_dir=model_dir or constants.SAVE_PATH,
                     output=output or 'submit.csv', lookup_file=args.lookup,
                     batch_size=args.batch_size)
    return 0
