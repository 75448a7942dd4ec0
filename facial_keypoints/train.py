"""Training: the post's Session + feed_dict loop, with its early stopping.

Reads the data (data.py), builds the recipe's graph (recipes.py, model.py),
and keeps the best validation model with tf.train.Saver (checkpoints.py).
"""

import contextlib
import dataclasses
import os
import signal
import threading
import time

import numpy as np
import tensorflow as tf

from . import checkpoints, constants, plots
from .data import input_data, unscale_keypoints
from .errors import UserError
from .progress import Progress
from .recipes import get_recipe

tf1 = tf.compat.v1

# Training RMSE is measured each epoch, like validation's (keep_prob 1.0),
# on at most this many training rows.
TRAIN_EVAL_ROWS = 1000


@dataclasses.dataclass
class TrainConfig:
    """One run's hyperparameters; saved as hparams.json beside the checkpoint."""
    data_dir: str = '.'
    model_dir: str = constants.SAVE_PATH
    recipe: str = 'blog'
    epochs: int = constants.EPOCHS
    batch_size: int = constants.BATCH_SIZE
    validation_size: int = constants.VALIDATION_SIZE
    patience: int = constants.EARLY_STOP_PATIENCE
    learning_rate: float = constants.LEARNING_RATE
    keep_prob: float = constants.TRAIN_KEEP_PROB
    seed: int = None
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False


class TrainingGraph:
    """The tensors a training session feeds and fetches."""

    def __init__(self, recipe):
        from .model import placeholders
        self.x, self.y_, self.keep_prob = placeholders()
        self.training = tf1.placeholder_with_default(False, shape=[], name='training')
        self.learning_rate = tf1.placeholder(tf.float32, shape=[], name='learning_rate')
        # (run seed, step): dropout masks as a function of the step, for exact resume.
        self.dropout_seed = tf1.placeholder_with_default(
            tf.constant([0, 0], tf.int32), shape=[2], name='dropout_seed')
        with tf1.variable_scope('net'):
            self.y_conv = recipe.inference(self.x, self.keep_prob, self.training,
                                           self.dropout_seed)
        self.net_variables = tf1.global_variables()
        self.rmse = recipe.loss(self.y_conv, self.y_)
        # The post: tf.train.AdamOptimizer(1e-3).minimize(rmse); the rate is
        # fed so a recipe can schedule it (the blog recipe feeds 1e-3 always).
        with tf.control_dependencies(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)):
            self.train_step = tf1.train.AdamOptimizer(self.learning_rate).minimize(self.rmse)
        # Bookkeeping saved with the last checkpoint, so --resume is exact.
        with tf1.variable_scope('train_state'):
            self.state = {
                'epoch': tf.Variable(0, trainable=False, name='epoch'),
                'next_batch': tf.Variable(0, trainable=False, name='next_batch'),
                'best_validation_loss': tf.Variable(np.inf, trainable=False,
                                                    dtype=tf.float64, name='best'),
                'best_epoch': tf.Variable(-1, trainable=False, name='best_epoch'),
            }
            self._state_in = {k: tf1.placeholder(v.dtype.base_dtype, [])
                              for k, v in self.state.items()}
            self._state_assign = tf.group(*[tf1.assign(v, self._state_in[k])
                                            for k, v in self.state.items()])

    def set_state(self, sess, **values):
        sess.run(self._state_assign, {self._state_in[k]: v for k, v in values.items()})

    def predict(self, sess, X, batch_size):
        """y_conv for X, keep_prob 1.0: float32 [N, 30], units of /96."""
        return run_in_batches(sess, self.y_conv, self.x, X, batch_size)


def run_in_batches(sess, y_conv, x, X, batch_size):
    """y_conv for X fed batch_size rows at a time (so memory stays bounded)."""
    out = [sess.run(y_conv, {x: X[j:j + batch_size]}) for j in range(0, len(X), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, constants.NUM_OUTPUTS), np.float32)


def rmse_pixels(y_pred, y_true):
    """RMSE in pixels over the values y_true has (NaN = missing); both /96."""
    err = unscale_keypoints(y_pred) - unscale_keypoints(y_true)
    have = ~np.isnan(err)
    return float(np.sqrt(np.mean(np.square(err[have], dtype=np.float64))))


def _prepare_model_dir(cfg):
    try:
        os.makedirs(cfg.model_dir, exist_ok=True)
    except OSError as e:
        raise UserError('cannot create model folder {}: {}.'.format(
            cfg.model_dir, e.strerror or e))
    if not os.access(cfg.model_dir, os.W_OK):
        raise UserError('model folder {} is not writable.'.format(cfg.model_dir))
    has_checkpoint = (checkpoints.best_checkpoint(cfg.model_dir)
                      or checkpoints.last_checkpoint(cfg.model_dir))
    if cfg.resume:
        if not checkpoints.last_checkpoint(cfg.model_dir):
            raise UserError('--resume: {} holds no training state to resume from.'.format(
                cfg.model_dir))
        saved = checkpoints.read_hparams(cfg.model_dir)
        if saved.get('recipe', 'blog') != cfg.recipe:
            raise UserError('--resume: {} was trained with --recipe {}, not {}.'.format(
                cfg.model_dir, saved.get('recipe'), cfg.recipe))
        return saved.get('seed', cfg.seed)
    if has_checkpoint:
        if not cfg.overwrite:
            raise UserError('{} already holds a checkpoint; pass --resume to continue '
                            'it or --overwrite to start again.'.format(cfg.model_dir))
        checkpoints.remove_checkpoints(cfg.model_dir)
    return cfg.seed


def train(cfg, log=print, recipe=None):
    """Train as the post does. Returns a dict of the run's results.

    recipe: a recipe object to use instead of the one cfg.recipe names
    (bench/ablations.py passes variants of the improved one).

    Saves the best validation model in cfg.model_dir whenever validation
    RMSE improves and stops after cfg.patience epochs without improvement.
    Also writes history.json, TensorBoard events and, with matplotlib,
    learning_curve.png and validation_faces.png there.
    """
    say = (lambda *a: None) if cfg.quiet else log
    recipe = recipe or get_recipe(cfg.recipe)
    X, y = input_data(data_dir=cfg.data_dir, dropna=recipe.dropna)
    seed = _prepare_model_dir(cfg)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2 ** 31))
    split = recipe.split(X, y, cfg.validation_size, seed)
    if split is None:
        raise UserError('{} has {} usable rows, too few for a validation set of {} '
                        '(see --validation-size).'.format(cfg.data_dir, len(X),
                                                          cfg.validation_size))
    train_rows, valid_rows = split
    X_train, y_train = X[train_rows], y[train_rows]
    X_valid, y_valid = X[valid_rows], y[valid_rows]
    del X, y

    hparams = dataclasses.asdict(cfg)
    for k in ('resume', 'overwrite', 'quiet'):
        hparams.pop(k)
    hparams.update(seed=seed, train_rows=len(X_train), validation_rows=len(X_valid),
                   tensorflow=tf.__version__)
    if cfg.resume:
        hparams['best'] = checkpoints.read_hparams(cfg.model_dir).get('best')
    checkpoints.write_hparams(cfg.model_dir, hparams)

    tf1.disable_eager_execution()
    # tf.compat.v1 prints a deprecation notice for Saver internals; not the user's concern.
    tf1.logging.set_verbosity(tf1.logging.ERROR)
    with _deterministic_ops(cfg.seed is not None or cfg.resume), tf.Graph().as_default():
        tf1.set_random_seed(seed)
        g = TrainingGraph(recipe)
        with tf1.Session() as sess:
            run = _Run(cfg, recipe, g, sess, seed, hparams, say)
            sess.run(tf1.global_variables_initializer())
            recipe.initialize(sess, X_train, y_train)
            if cfg.resume:
                run.resume()
            with _Interrupt() as interrupt:
                result = run.loop(X_train, y_train, X_valid, y_valid, interrupt)
            run.writer.close()
            if not result['interrupted'] and result['best_checkpoint']:
                run.pictures(X_valid, y_valid)
    return result


class _Run:
    """One training run's session, savers and bookkeeping."""

    def __init__(self, cfg, recipe, g, sess, seed, hparams, log):
        self.cfg, self.recipe, self.g, self.sess = cfg, recipe, g, sess
        self.seed, self.hparams, self.log = seed, hparams, log
        self.best_saver = tf1.train.Saver(var_list=g.net_variables, max_to_keep=2)
        self.last_saver = tf1.train.Saver(max_to_keep=2)
        # TensorBoard: the graph, then per-epoch RMSE (tensorboard --logdir MODEL_DIR).
        self.writer = tf1.summary.FileWriter(cfg.model_dir, sess.graph)
        self.state = {'epoch': 0, 'next_batch': 0, 'best_validation_loss': np.inf,
                      'best_epoch': -1}
        self.best_path = None
        self.history = []

    def resume(self):
        path = checkpoints.last_checkpoint(self.cfg.model_dir)
        checkpoints.restore(self.last_saver, self.sess, path,
                            'the {} training graph'.format(self.cfg.recipe))
        self.state = {k: v.item() for k, v in self.sess.run(self.g.state).items()}
        self.best_path = checkpoints.best_checkpoint(self.cfg.model_dir)
        self.history = [h for h in checkpoints.read_history(self.cfg.model_dir)
                        if h['epoch'] < self.state['epoch']]
        self.log('resuming {} at epoch {}, batch {} (best validation RMSE {:.4f} px at '
                 'epoch {})'.format(path, self.state['epoch'], self.state['next_batch'],
                                    self.state['best_validation_loss'],
                                    self.state['best_epoch']))

    def save_last(self, epoch, next_batch):
        """Save everything --resume needs: weights, Adam slots, counters."""
        self.g.set_state(self.sess, epoch=epoch, next_batch=next_batch,
                         best_validation_loss=self.state['best_validation_loss'],
                         best_epoch=self.state['best_epoch'])
        return checkpoints.save(self.last_saver, self.sess, self.cfg.model_dir,
                                checkpoints.LAST_PREFIX, epoch, checkpoints.LAST_STATE)

    def save_best(self, epoch, validation_loss, learned):
        """The post's save_model(): keep the model with the best validation RMSE.
        learned: the recipe's report() now, saved beside it in hparams.json."""
        self.state['best_validation_loss'] = validation_loss
        self.state['best_epoch'] = epoch
        self.best_path = checkpoints.save(self.best_saver, self.sess, self.cfg.model_dir,
                                          checkpoints.BEST_PREFIX, epoch,
                                          checkpoints.BEST_STATE)
        self.hparams['best'] = dict({'epoch': epoch, 'validation_rmse_px': validation_loss,
                                     'checkpoint': os.path.basename(self.best_path)},
                                    **learned)
        checkpoints.write_hparams(self.cfg.model_dir, self.hparams)

    def record(self, entry):
        self.history.append(entry)
        checkpoints.write_history(self.cfg.model_dir, self.history)
        summary = tf1.Summary(value=[
            tf1.Summary.Value(tag='rmse_px/train', simple_value=entry['train_rmse_px']),
            tf1.Summary.Value(tag='rmse_px/validation',
                              simple_value=entry['validation_rmse_px']),
            tf1.Summary.Value(tag='learning_rate', simple_value=entry['learning_rate'])])
        self.writer.add_summary(summary, entry['epoch'])
        self.writer.flush()

    def loop(self, X_train, y_train, X_valid, y_valid, interrupt):
        cfg, g, sess, state = self.cfg, self.g, self.sess, self.state
        TRAIN_SIZE = len(X_train)
        self.log('begin training..., train dataset size:{} validation size:{} recipe:{}'
                 .format(TRAIN_SIZE, len(X_valid), cfg.recipe))
        start = time.time()
        epoch = state['epoch']
        # A resumed run that had already run out of patience stays stopped.
        stopped_early = (state['best_epoch'] >= 0
                         and epoch - 1 - state['best_epoch'] >= cfg.patience)
        while epoch < cfg.epochs and not stopped_early:
            epoch_start = time.time()
            # Shuffle each epoch (每个epoch都shuffle一下效果更好) from a generator
            # seeded by (seed, epoch), so a resumed run sees the same order.
            train_index = np.random.default_rng([self.seed, epoch]).permutation(TRAIN_SIZE)
            lr = self.recipe.learning_rate(cfg.learning_rate, epoch, cfg.epochs)
            first, state['next_batch'] = state['next_batch'], 0
            bar = Progress(TRAIN_SIZE, 'epoch {}'.format(epoch), enabled=not cfg.quiet)
            for j in range(first, TRAIN_SIZE, cfg.batch_size):
                if interrupt.requested:
                    bar.close()
                    path = self.save_last(epoch, j)
                    self.log('interrupted: training state saved in {} (continue with '
                             '--resume); best model so far: {}'.format(
                                 path, self.best_path or 'none yet'))
                    return self.result(epoch, False, start, True)
                idx = train_index[j:j + cfg.batch_size]
                # Every random draw of a step comes from (seed, epoch, batch), so a
                # run resumed mid-epoch repeats the uninterrupted run exactly.
                xb, yb, extra = self.recipe.augment(
                    X_train[idx], y_train[idx], np.random.default_rng([self.seed, epoch, j]))
                step_seed = (self.seed % 2 ** 31, epoch * TRAIN_SIZE + j)
                feed = {g.x: xb, g.y_: yb, g.keep_prob: cfg.keep_prob, g.training: True,
                        g.learning_rate: lr, g.dropout_seed: step_seed}
                feed.update(extra)
                sess.run(g.train_step, feed)
                bar.update(min(j + cfg.batch_size, TRAIN_SIZE))
            bar.close()
            validation_loss = rmse_pixels(g.predict(sess, X_valid, cfg.batch_size), y_valid)
            # The post skipped the training loss because evaluating every row at
            # once froze its machine; in batches, on a fixed subset, it is cheap.
            train_loss = rmse_pixels(
                g.predict(sess, X_train[:TRAIN_EVAL_ROWS], cfg.batch_size),
                y_train[:TRAIN_EVAL_ROWS])
            improved = validation_loss < state['best_validation_loss']
            learned = self.recipe.report(sess)
            if improved:
                self.save_best(epoch, validation_loss, learned)
            self.record(dict({'epoch': epoch, 'train_rmse_px': train_loss,
                              'validation_rmse_px': validation_loss,
                              'seconds': time.time() - epoch_start,
                              'learning_rate': float(lr)}, **learned))
            self.log('epoch {} done! train RMSE {:.4f} px, validation RMSE {:.4f} px{}{} '
                     '({:.1f} s, {:.0f} s total)'.format(
                         epoch, train_loss, validation_loss,
                         ''.join(', {} {:.3f}'.format(k, v) for k, v in learned.items()),
                         ' *saved*' if improved else '',
                         time.time() - epoch_start, time.time() - start))
            epoch += 1
            self.save_last(epoch, 0)
            if not improved and (epoch - 1 - state['best_epoch']) >= cfg.patience:
                self.log('early stopping')
                stopped_early = True
        return self.result(epoch, stopped_early, start, False)

    def result(self, epochs_run, stopped_early, start, interrupted):
        return {'best_validation_rmse_px': self.state['best_validation_loss'],
                'best_epoch': self.state['best_epoch'], 'epochs_run': epochs_run,
                'stopped_early': stopped_early, 'seconds': time.time() - start,
                'best_checkpoint': self.best_path, 'history': self.history,
                'interrupted': interrupted}

    def pictures(self, X_valid, y_valid):
        """learning_curve.png and validation_faces.png (best model) in model_dir."""
        plt = plots.matplotlib_pyplot()
        if plt is None:
            self.log('for learning_curve.png and validation_faces.png: pip install '
                     'matplotlib (see requirements-extra.txt)')
            return
        self.best_saver.restore(self.sess, self.best_path)
        n = min(16, len(X_valid))
        y_pred = self.g.predict(self.sess, X_valid[:n], self.cfg.batch_size)
        plots.learning_curve(self.history, os.path.join(
            self.cfg.model_dir, plots.LEARNING_CURVE), plt)
        plots.validation_faces(X_valid[:n], unscale_keypoints(y_valid[:n]),
                               unscale_keypoints(y_pred),
                               os.path.join(self.cfg.model_dir, plots.VALIDATION_FACES), plt)


@contextlib.contextmanager
def _deterministic_ops(enabled):
    """Deterministic kernels for a seeded run (the same numbers every run on a
    CPU). The switch is process-wide and makes every unseeded random op fail,
    so it is put back as it was when training ends."""
    from tensorflow.python.framework import config as tf_config
    was = tf_config.is_op_determinism_enabled()
    if enabled and not was:
        tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if enabled and not was:
            tf_config.disable_op_determinism()


class _Interrupt:
    """Turns Ctrl-C into a flag the loop checks between batches, so the state
    it saves is exactly "these batches done" (main thread only)."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
