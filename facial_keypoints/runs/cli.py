"""What run_train.py and run_predict.py call with their parsed arguments:
fill in the --demo defaults, explain missing Kaggle data, choose the
post's path or the improved recipe's, run, report.

Unlike the rest of the package, this module is for the scripts' own process:
it filters TensorFlow's C++ start-up lines out of their stderr, and asks
training to stop cleanly on Ctrl-C. Python callers of train() get neither.
"""

import argparse
import contextlib
import os
import re
import sys
import tempfile

from .. import constants
from ..files import demo
from ..files.fileio import refuse_pretrained
from . import modeldir, which_model
from .errors import EXIT_USER_ERROR, UserError

KAGGLE_HELP = ('get Kaggle\'s files with "kaggle competitions download -c '
               'facial-keypoints-detection" and unzip them there, or try the built-in '
               'demo with --demo')

# What TensorFlow's C++ side prints on every start on a machine without a GPU
# (absl's note, the oneDNN notice, the CUDA probe, the CPU-feature note), and
# the TFLite converter's notes on options it does not use. The CUDA probe's
# cuInit error is dropped only where no driver was found.
_NOISE = re.compile(
    r'All log messages before absl::InitializeLog\(\) is called|'
    r'\] oneDNN custom operations are on|\] Could not find cuda drivers|'
    r'\] This TensorFlow binary is optimized to use available CPU instructions|'
    r'^To enable the following instructions:.*rebuild TensorFlow|'
    r'\] Ignored (output_format|drop_control_dependency)\.$')


@contextlib.contextmanager
def filtered_stderr():
    """Capture stderr at the file-descriptor level (where C++ writes), then pass
    on every captured line but the known ones above: warnings and errors show."""
    sys.stderr.flush()
    try:
        captured = tempfile.TemporaryFile()
    except OSError:                 # no room for it (a full disk): the lines pass as they are
        yield
        return
    saved = os.dup(2)
    with captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode('utf-8', 'replace').splitlines()
            no_driver = any('Could not find cuda drivers' in line for line in lines)
            for line in lines:
                if not (_NOISE.search(line) or (no_driver and 'failed call to cuInit' in line)):
                    print(line, file=sys.stderr)


def import_tensorflow_quietly():
    """Import TensorFlow and let it probe its devices inside filtered_stderr().
    Later INFO lines are hidden too (TF_CPP_MIN_LOG_LEVEL=1, unless set
    already); warnings and errors show."""
    if 'tensorflow' in sys.modules:
        return
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
    os.environ.setdefault('OPENCV_LOG_LEVEL', 'ERROR')     # e.g. its notes on a missing camera
    with filtered_stderr():
        import tensorflow as tf
        tf.config.list_physical_devices()


def train_config(args):
    """The TrainConfig that run_train.py's parsed args describe: flags left
    out are the recipe's defaults (runs/config.py), as from Python."""
    from .config import TrainConfig
    settings = {k: v for k, v in vars(args).items() if v is not None and k != 'demo'}
    if args.demo:
        settings.setdefault('model_dir', demo.DEMO_MODEL_DIR)
    if args.demo and not args.resume:
        settings.setdefault('data_dir', demo.DEMO_DIR)
        settings.setdefault('epochs', demo.DEMO_EPOCHS)
    return TrainConfig.for_run(**settings)


def train_main(args):
    """Train as args say, Ctrl-C stopping the run between two batches; prints
    the result and returns 0."""
    from ..data import find_data_file
    from .record import holds_a_run
    again = 'start the demo afresh with "python run_train.py --demo --overwrite"'
    refuse_pretrained(args.model_dir or constants.SAVE_PATH, '--model-dir')  # before any reading
    if args.demo and args.resume and not holds_a_run(args.model_dir or demo.DEMO_MODEL_DIR):
        raise UserError('--demo --resume: {} holds no demo run to resume; start one with '
                        '"python run_train.py --demo".'.format(
                            args.model_dir or demo.DEMO_MODEL_DIR))
    cfg = train_config(args)
    if args.demo and not args.resume:
        demo.make_demo_data(cfg.data_dir)
    try:
        find_data_file(cfg.data_dir, constants.TRAIN_FILE)
    except UserError as e:
        if not getattr(e, 'missing', False):
            raise
        raise UserError('found no training data: {} To train: {}.'.format(
            e, again if args.demo else KAGGLE_HELP))
    import_tensorflow_quietly()
    if cfg.recipe == 'improved':
        from ..improved.train import train_improved as train
    else:
        from ..train import train
    result = train(cfg, handle_ctrl_c=True)
    print('{} RMSE {:.4f} px at epoch {}; {} epochs, {} of them now in {:.0f} s; '
          'model in {}'.format('trained on every row (no validation left): held-out groups\''
                               if cfg.all_rows else 'best validation',
                               result['best_validation_rmse_px'], result['best_epoch'],
                               result['epochs_run'], result['epochs_now'], result['seconds'],
                               cfg.model_dir))
    return 0


def predict_main(args):
    """Predict as args say; returns 0, or with --image 1 when a photo held no
    face and 2 when one could not be read (each such photo is one line, the
    others are written)."""
    model_dir = args.model_dir or (demo.DEMO_MODEL_DIR if args.demo else constants.SAVE_PATH)
    if (args.image or args.video) and not (args.model_dir or args.demo):
        model_dir = which_model.model_to_use()     # ./model if trained, else the pretrained one
    if not args.demo:       # the demo's own check says to run the demo's training
        modeldir.refuse_missing(model_dir)  # before TensorFlow loads and the data is read
    if args.image or args.video:
        print(which_model.describe(model_dir, demo.DEMO_MODEL_DIR))
    if args.video:
        from ..faces.video import annotate_video

        # FFmpeg's and OpenCV's own lines on a file they cannot open (an empty
        # or truncated .mp4) would come before the sentence that says so.
        os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')      # AV_LOG_QUIET
        os.environ.setdefault('OPENCV_LOG_LEVEL', 'OFF')
        import_tensorflow_quietly()
        annotate_video(args.video, model_dir, args.output, detector=args.detector,
                       use_bf16=args.bf16, smooth=not args.no_smoothing)
        return 0
    if args.image:
        from ..faces.photo import annotate_photos
        import_tensorflow_quietly()
        no_face, failed = annotate_photos(
            args.image, model_dir, args.output, detector=args.detector, use_bf16=args.bf16,
            warn=lambda line: print('error: ' + line, file=sys.stderr))
        return EXIT_USER_ERROR if failed else 1 if no_face else 0
    data_dir, output = args.data_dir or constants.DATA_DIR, args.output or constants.SUBMIT_FILE
    if args.demo:
        if args.data_dir:
            raise UserError('--demo predicts the demo data in {}; leave out --data-dir.'.format(
                demo.DEMO_DIR))
        data_dir = demo.DEMO_DIR
        output = args.output or demo.DEMO_OUTPUT
        if not os.path.isdir(data_dir):
            raise UserError('no demo data in {}: run "python run_train.py --demo" first.'
                            .format(data_dir))
    import_tensorflow_quietly()
    from ..predict import write_submission
    write_submission(data_dir=data_dir, model_dir=model_dir, output=output,
                     lookup_file=args.lookup, batch_size=args.batch_size, use_bf16=args.bf16)
    return 0


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a wrong flag reported like every other user error: one
    line, exit status 2 (the usage is in --help)."""

    def error(self, message):
        self.exit(2, 'error: {} (see --help).\n'.format(message))


def refuse_empty(parser, args, *flags):
    """A flag given an empty name (--output "$UNSET") is one sentence, rather
    than the default, the current folder, or whatever '' would mean."""
    for flag in flags:
        value = getattr(args, flag[2:].replace('-', '_'))
        if value == '' or (isinstance(value, list) and '' in value):
            parser.error('{} is given an empty name'.format(flag))


def export_main(args):
    import_tensorflow_quietly()
    from ..serving.export import export
    with filtered_stderr():
        export(which_model.model_to_use(args.model_dir), args.output)
    return 0
