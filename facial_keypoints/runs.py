"""What both training loops (train.py, improved.py) add to the post's, as plain
calls: the model folder's rules and lock, resume, the epoch's progress bar and
Ctrl-C, history.json and TensorBoard, batched evaluation, bfloat16.

Nothing here decides how a network learns; the loops do.
"""

import os
import signal
import threading
import time

import numpy as np
import tensorflow as tf

from . import bf16, modeldir, plots
from .units import unscale_keypoints
from .errors import Interrupted, UserError
from .fileio import atomic_write_json
from .progress import Progress

tf1 = tf.compat.v1

# The training state (weights and Adam's slots: 97 MB for the post's network)
# is written at the end of an epoch once this long has passed since the last
# one, and when the run ends; --resume continues from it.
STATE_EVERY_SECONDS = 60
# Settings a resumed run may change; any other given again must match.
CHANGEABLE_ON_RESUME = ('epochs', 'patience', 'bf16', 'quiet')


def batch_sizes(n, batch_size):
    """Sizes of the batches that cover n rows: [batch_size, ..., remainder]."""
    return [min(batch_size, n - j) for j in range(0, n, batch_size)]


def evaluate(sess, rmse, feed, batch_size):
    """The RMSE tensor over all rows of feed (x and y_ arrays), computed
    batch_size rows at a time so memory stays bounded: the same value as one
    pass over every row (the post's rmse.eval), in the loss's units."""
    n = len(next(iter(feed.values())))
    total = 0.0
    for j in range(0, n, batch_size):
        part = {k: v[j:j + batch_size] for k, v in feed.items()}
        total += float(sess.run(rmse, part)) ** 2 * len(next(iter(part.values())))
    return float(np.sqrt(total / max(n, 1)))


def predict(sess, y_conv, x, X, batch_size):
    """y_conv for images X [N, 96, 96, 1], batch_size at a time: float32 [N, 30]."""
    out = [sess.run(y_conv, {x: X[j:j + batch_size]}) for j in range(0, len(X), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 30), np.float32)


def rmse_of(predicted, y):
    """RMSE over the values y has (NaN: missing), in float64, in y's units."""
    return float(np.sqrt(np.nanmean(np.square(predicted - y, dtype=np.float64))))


def mean_face_rmse(y_train, y_valid):
    """RMSE (units of y) of predicting the training rows' mean face for every
    validation row: what a network that learned nothing scores."""
    return rmse_of(np.nanmean(y_train, axis=0), y_valid)


def require_rows(n_train, n_valid, path, rows, split):
    """A UserError unless both sides of the split have rows. rows: what the
    usable rows are; split: what divides them."""
    if n_train + n_valid == 0:
        raise UserError('{} has no {}.'.format(path, rows))
    if n_train < 1 or n_valid < 1:
        raise UserError('{} has {} {}, too few for {} ({} to train on, {} to validate).'.format(
            path, n_train + n_valid, rows, split, n_train, n_valid))


class Run:
    """One training run's model folder and bookkeeping.

    Run(cfg) only checks (nothing is written, so a run that then fails on its
    data changes nothing); `with run:` locks the folder, clears it on
    --overwrite and records the settings; leaving it releases everything.
    """

    def __init__(self, cfg, log=print):
        self.cfg, self.log, self.warn = cfg, (lambda *a: None) if cfg.quiet else log, log
        self.dir = cfg.model_dir
        modeldir.refuse_file(self.dir)
        if modeldir.is_export(self.dir):
            raise UserError('--model-dir {} holds an exported model ({}); train into another '
                            'folder.'.format(self.dir, modeldir.SAVED_MODEL_FILE))
        pid = modeldir.in_use(self.dir)
        if pid is not None:
            raise UserError('another training run{} is using {}; wait for it to finish or '
                            'choose another --model-dir.'.format(
                                ' (process {})'.format(pid) if pid else '', self.dir))
        saved = modeldir.read_hparams(self.dir) if cfg.resume else {}
        if cfg.resume:
            if not saved:
                raise UserError('--resume: {} holds no run to resume (no {}).'.format(
                    self.dir, modeldir.HPARAMS_FILE))
            saved.setdefault('all_rows', False)      # runs saved before --all-rows had none
            for key in sorted(cfg.given - set(CHANGEABLE_ON_RESUME) - {'data_dir'}):
                if key in saved and saved[key] != getattr(cfg, key):
                    flag = '--' + key.replace('_', '-')
                    how = 'with ' + flag if saved[key] is True else 'without ' + flag \
                        if saved[key] is False else 'with {} {}'.format(flag, saved[key])
                    raise UserError('--resume: {} was trained {}; a resumed run keeps it (start '
                                    'a new run to change it).'.format(self.dir, how))
            self.seed = saved.get('seed')
            if type(self.seed) is not int:
                raise UserError('{} has no valid "seed"; it was edited or damaged.'.format(
                    os.path.join(self.dir, modeldir.HPARAMS_FILE)))
            # Damage shows now, before any work or any file is written.
            for path in (modeldir.last_checkpoint(self.dir), modeldir.best_checkpoint(self.dir)):
                if path:
                    modeldir.variables(path)
            modeldir.read_history(self.dir)
            if modeldir.last_checkpoint(self.dir):
                self._refuse_finished(saved, modeldir.read_state(
                    modeldir.last_checkpoint(self.dir)))
        else:
            self._refuse_to_replace()
            self.seed = cfg.seed if cfg.seed is not None else \
                int(np.random.SeedSequence().generate_state(1)[0] % 2 ** 31)
        # With --all-rows (improved recipe) the held-out groups train too: their
        # score is no validation, and the model kept is each epoch's, the last.
        self.scored, self.kept = ('held-out (trained on)', 'latest') if cfg.all_rows else \
            ('validation', 'best')
        self.hparams = dict(saved if cfg.resume else {})
        self.hparams.update(cfg.hparams(), seed=self.seed, tensorflow=tf.__version__)
        self.history, self.writer, self.best_path, self.first_epoch = [], None, None, 0
        self.epoch_start = self.last_state_save = time.time()
        self.interrupt = _Interrupt()

    def __enter__(self):
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError as e:
            raise UserError('cannot create model folder {}: {}.'.format(self.dir, e.strerror))
        self._lock = modeldir.locked(self.dir)
        self._lock.__enter__()
        try:
            if not self.cfg.resume:
                self._refuse_to_replace()        # again, now that no other run can start
                modeldir.remove_run(self.dir)
            modeldir.write_hparams(self.dir, self.hparams)
            self.interrupt.__enter__()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        self.interrupt.__exit__()
        if self.writer is not None:
            self.writer.close()
        self._lock.__exit__(*exc)

    def _nothing_left(self, state):
        """Why these settings leave the run at this training state nothing to
        train (a phrase about its folder), or None."""
        done, best = state['epochs_done'], state['best_epoch']
        stale = done - 1 - best
        if done >= self.cfg.epochs:
            return '{} has trained {} epochs; give --epochs above {} to go on'.format(
                self.dir, done, done)
        if stale >= self.cfg.patience:
            return '{} stopped early, its last {} epoch{} no better than epoch {}; give ' \
                '--patience above {} to go on'.format(self.dir, stale, 's' if stale > 1 else '',
                                                      best, stale)
        return None

    def _refuse_finished(self, saved, state):
        """A UserError if the run finished (its result is in hparams.json, saved
        at the state's epoch) and these settings leave it nothing to train:
        resuming it would only rewrite its files."""
        finished = isinstance(saved.get('best'), dict) and \
            saved['best'].get('epochs_run') == state['epochs_done']
        if finished and self._nothing_left(state):
            raise UserError('--resume: {}.'.format(self._nothing_left(state)))

    def _refuse_to_replace(self):
        if modeldir.holds_a_run(self.dir) and not self.cfg.overwrite:
            raise UserError('{} already holds a training run; pass --resume to continue it or '
                            '--overwrite to replace it.'.format(self.dir))

    def session_config(self):
        """The Session's ConfigProto: bfloat16 arithmetic with --bf16."""
        return bf16.session_config(self.cfg.bf16, self.warn)     # shown even with --quiet

    def shuffle(self, epoch, n):
        """Row order of an epoch, a function of (seed, epoch), so that a resumed
        run sees the order an uninterrupted one would."""
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def resume(self, sess, draws_per_epoch):
        """Where the loop starts: (best_validation_loss, current_epoch,
        first_epoch); the post's 1000000.0, 0, 0 for a new run.

        With --resume, the newest training state is restored into sess and
        TensorFlow's dropout stream (which no checkpoint holds) is wound
        forward by drawing the masks of the epochs already run: draws_per_epoch
        lists the batch sizes each epoch runs the network on. A resumed run
        then repeats an uninterrupted one exactly, from the end of the last
        saved epoch.
        """
        self.epoch_start = time.time()
        path = modeldir.last_checkpoint(self.dir) if self.cfg.resume else None
        if path is None:
            if self.cfg.resume:
                self.log('resuming {}: no training state saved yet, so from the start'.format(
                    self.dir))
                modeldir.write_history(self.dir, [])
            return 1000000.0, 0, 0
        state = modeldir.read_state(path)
        modeldir.restore(modeldir.saver(), sess, path)
        random_ops = [op for op in sess.graph.get_operations() if op.type == 'RandomUniform']
        for op in random_ops:
            for n in draws_per_epoch * state['epochs_done']:
                sess.run(op.outputs[0], {op.inputs[0]: [n] + op.outputs[0].shape[1:].as_list()})
        first = self.first_epoch = state['epochs_done']
        self.history = [h for h in modeldir.read_history(self.dir) if h['epoch'] < first]
        self.best_path = modeldir.best_checkpoint(self.dir)
        self.log('resuming {} at epoch {} ({} {} RMSE {:.4f} px at epoch {})'.format(
            path, first, self.kept, self.scored, state['best_validation_loss'] * 96,
            state['best_epoch']))
        # A run stopped between its last epoch and writing its result only finishes.
        if self._nothing_left(state):
            self.log(self._nothing_left(state))
            first = max(first, self.cfg.epochs)
        return state['best_validation_loss'], state['best_epoch'], first

    def batches(self, n, batch_size, label):
        """Start rows of an epoch's batches; draws the progress bar, and stops the
        run between two batches when Ctrl-C was pressed."""
        bar = Progress(n, label, enabled=not self.cfg.quiet)
        for j in range(0, n, batch_size):
            if self.interrupt.requested:
                bar.close()
                raise Interrupted(self._interrupted_message())
            yield j
            bar.update(min(j + batch_size, n))
        bar.close()

    def _interrupted_message(self):
        state = modeldir.last_checkpoint(self.dir)
        return 'the {} model so far is {}; --resume continues from {}.'.format(
            self.kept, self.best_path or 'not saved yet',
            'the training state saved after epoch {}'.format(
                modeldir.read_state(state)['epochs_done'] - 1) if state else 'the start')

    def record(self, epoch, train_losses, validation_loss, **learned):
        """The epoch's line, history.json and TensorBoard. Losses in units of /96;
        the training RMSE is the root mean square of the epoch's batch RMSEs, as trained
        (dropout on, weights changing); learned: other values to keep (pixels)."""
        if not np.isfinite(validation_loss):
            raise UserError('training diverged in epoch {}: the validation RMSE is {} (try a '
                            'smaller --learning-rate); the best model so far is {}.'.format(
                                epoch, validation_loss, self.best_path or 'not saved'))
        train_loss = float(np.sqrt(np.mean(np.square(train_losses)))) if train_losses else 0.0
        seconds = time.time() - self.epoch_start
        entry = dict({'epoch': epoch, 'train_rmse_px': train_loss * 96,
                      'validation_rmse_px': validation_loss * 96, 'seconds': seconds}, **learned)
        self.history.append(entry)
        modeldir.write_history(self.dir, self.history)
        if self.writer is None:
            self.writer = tf1.summary.FileWriter(self.dir, tf1.get_default_graph())
        self.writer.add_summary(tf1.Summary(value=[
            tf1.Summary.Value(tag='rmse_px/' + k.split('_')[0], simple_value=entry[k])
            for k in ('train_rmse_px', 'validation_rmse_px')] + [
            tf1.Summary.Value(tag=k, simple_value=v) for k, v in learned.items()]), epoch)
        self.writer.flush()
        self.log('epoch {} done! {} loss:{:.4f} px (train {:.4f} px{}; {:.1f} s)'.format(
            epoch, self.scored, validation_loss * 96, train_loss * 96,
            ''.join(', {} {:.3g}'.format(k, v) for k, v in learned.items()), seconds))
        self.epoch_start = time.time()

    def save_model(self, saver, sess, epoch):
        """The post's save_model(saver, sess, SAVE_PATH), as model-<epoch>."""
        self.best_path = modeldir.save(saver, sess, self.dir, modeldir.BEST_PREFIX, epoch)
        self.log('model save in :{0}'.format(self.best_path))

    def save_state(self, sess, epoch, best_validation_loss, best_epoch, force=False):
        """The training state after epoch (everything --resume needs), when
        STATE_EVERY_SECONDS have passed since the last one, or force."""
        if not force and time.time() - self.last_state_save < STATE_EVERY_SECONDS:
            return
        path = os.path.join(self.dir, '{}-{}'.format(modeldir.LAST_PREFIX, epoch + 1))
        atomic_write_json(path + '.json', {
            'epochs_done': epoch + 1, 'best_validation_loss': float(best_validation_loss),
            'best_epoch': int(best_epoch), 'seed': self.seed})
        modeldir.save(modeldir.saver(), sess, self.dir, modeldir.LAST_PREFIX, epoch + 1)
        self.last_state_save = time.time()

    def finish(self, sess, best_saver, predict, X_valid, y_valid, last_epoch,
               best_validation_loss, best_epoch):
        """After the loop: the final training state, the result in hparams.json,
        and (with matplotlib) the pictures, drawn with the best model, which
        is restored into sess. predict(X) -> keypoints / 96. Returns the result."""
        self.save_state(sess, last_epoch, best_validation_loss, best_epoch, force=True)
        result = {'best_validation_rmse_px': best_validation_loss * 96, 'best_epoch': best_epoch,
                  'epochs_run': last_epoch + 1, 'epochs_now': last_epoch + 1 - self.first_epoch,
                  'best_checkpoint': self.best_path, 'history': self.history,
                  'seconds': sum(h['seconds'] for h in self.history
                                 if h['epoch'] >= self.first_epoch)}
        self.hparams['best'] = {'epoch': best_epoch, 'epochs_run': last_epoch + 1,
                                'validation_rmse_px': best_validation_loss * 96,
                                'checkpoint': os.path.basename(self.best_path or '')}
        modeldir.write_hparams(self.dir, self.hparams)
        plt = plots.matplotlib_pyplot()
        if plt is None:
            self.log('for learning_curve.png and validation_faces.png: pip install matplotlib')
        elif self.best_path:
            modeldir.restore(best_saver, sess, self.best_path)
            n = min(16, len(X_valid))
            plots.learning_curve(self.history, os.path.join(self.dir, modeldir.PICTURES[0]), plt,
                                 best_epoch, self.scored, self.kept)
            plots.validation_faces(X_valid[:n], unscale_keypoints(y_valid[:n]),
                                   unscale_keypoints(predict(X_valid[:n])),
                                   os.path.join(self.dir, modeldir.PICTURES[1]), plt, self.scored)
        return result


class _Interrupt:
    """Turns Ctrl-C into a flag the loop checks between batches, so a run never
    stops inside a save (main thread only). A second Ctrl-C stops at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
