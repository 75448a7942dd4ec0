"""The training state and --resume: what a run saves after an epoch so that a
resumed run repeats the uninterrupted one exactly, from the end of the last
saved epoch.

The state is the model folder's last-N checkpoint (weights, Adam's slots and the
training step) and last-N.json (epochs done, the best validation RMSE so far
and its epoch). Everything random is a function of the seed and where the run
is: the order of an epoch's rows (epoch_order), the improved recipe's
augmentation (its epoch and batch), dropout's masks (the training step,
model.dropout_seed), so restoring the checkpoint is all a resumed run needs.
"""

import hashlib
import os
import time

import numpy as np

from ..files.fileio import atomic_write_json, read_json
from ..units import unscale_keypoints
from . import checkpoints, jsonfiles, modeldir, record
from .errors import UserError


class TrainingState:
    """One run's training state. TrainingState(cfg) only checks (with
    cfg.resume: every checkpoint, history.json, and that something is left to
    train); resume() and save() read and write it."""

    def __init__(self, cfg, log=print):
        self.cfg, self.log = cfg, log
        self.last_saved, self.scored = time.time(), None
        if not cfg.resume:
            return
        # Damage shows now, before any work or any file is written.
        refuse_missing_state(cfg.model_dir)
        last, best = checkpoints.last_checkpoint(cfg.model_dir), checkpoints.best_checkpoint(
            cfg.model_dir)
        for path in (last, best):
            if path:
                checkpoints.variables(path)
        jsonfiles.read_history(cfg.model_dir)
        saved = jsonfiles.read_hparams(cfg.model_dir)
        for path in (last, best):
            kept = read_json(path + '.json', dict, {}) if path else {}
            if isinstance(kept.get('settings'), dict):
                cfg.refuse_edited_settings(kept['settings'], path + '.json')
        if last:
            state = jsonfiles.read_state(last)
            # A finished run has its result in hparams.json, saved at this state's epoch.
            finished = isinstance(saved.get('best'), dict) and \
                saved['best'].get('epochs_run') == state['epochs_done']
            if finished and self.nothing_left(state):
                raise UserError('--resume: {}.'.format(self.nothing_left(state)))
            # A best model removed by hand (one newer than the state is a run's
            # killed before it saved the state, which resuming repeats).
            if best is None or _epoch(best) < state['best_epoch']:
                raise UserError('--resume: {} lacks model-{}.index and .data (the model kept '
                                'at epoch {}, which {}.json names); copy them back, or start '
                                'a new run.'.format(cfg.model_dir, state['best_epoch'],
                                                    state['best_epoch'], last))

    def check_data(self, path, X, y):
        """Record what the run trains on, X and y as read from path, in
        cfg.data_fingerprint (hparams.json's "data"); a resumed run must
        train on the same content (wherever it now lies), else a UserError
        that says what changed."""
        digest = hashlib.sha256()
        for array in (X, y):
            digest.update(np.ascontiguousarray(array))
        now = {'file': os.path.basename(path), 'rows': len(X), 'sha256': digest.hexdigest()}
        saved = jsonfiles.read_hparams(self.cfg.model_dir).get('data') if self.cfg.resume else None
        if isinstance(saved, dict) and saved.get('sha256') != now['sha256']:
            raise UserError('--resume: {} is not the data {} was trained on ({}); give the '
                            '--data-dir it was trained on, or start a new run.'.format(
                                path, self.cfg.model_dir,
                                'it trained on {} rows of {}, this has {}'.format(
                                    saved.get('rows'), saved.get('file'), now['rows'])
                                if saved.get('rows') != now['rows'] else
                                'as many rows, but other faces or keypoints'))
        self.cfg.data_fingerprint = now

    def nothing_left(self, state):
        """Why these settings leave the run at this state nothing to train (a
        phrase about its folder), or None."""
        done, best = state['epochs_done'], state['best_epoch']
        stale = done - 1 - best
        if done >= self.cfg.epochs:
            return '{} has trained {} epochs; give --epochs above {} to go on'.format(
                self.cfg.model_dir, done, done)
        if stale >= self.cfg.patience:
            return '{} stopped early, its last {} epoch{} no better than epoch {}; give ' \
                '--patience above {} to go on'.format(
                    self.cfg.model_dir, stale, 's' if stale > 1 else '', best, stale)
        return None

    def resume(self, sess):
        """Where the loop starts: (best_validation_loss, current_epoch,
        first_epoch); the post's 1000000.0, 0, 0 for a new run. With --resume,
        the newest state is first restored into sess."""
        path = checkpoints.last_checkpoint(self.cfg.model_dir) if self.cfg.resume else None
        if path is None:
            if self.cfg.resume:
                return self.restart()
            return 1000000.0, 0, 0
        state = jsonfiles.read_state(path)
        restore_state(sess, path)
        first = state['epochs_done']
        self.log('resuming {} at epoch {} ({} {} RMSE {:.4f} px at epoch {})'.format(
            path, first, 'latest' if self.cfg.all_rows else 'best',
            'held-out (trained on)' if self.cfg.all_rows else 'validation',
            unscale_keypoints(state['best_validation_loss']), state['best_epoch']))
        # A run stopped between its last epoch and writing its result only finishes.
        if self.nothing_left(state):
            self.log(self.nothing_left(state))
            first = max(first, self.cfg.epochs)
        return state['best_validation_loss'], state['best_epoch'], first

    def restart(self):
        """resume() where no state was saved yet: the run starts again, but the
        model an interrupted run kept is replaced only by a better one, so its
        validation RMSE (model-E.json) is the one to beat."""
        best = checkpoints.best_checkpoint(self.cfg.model_dir)
        score = read_json(best + '.json', dict, {}) if best else {}
        loss = score.get('validation_loss')
        if self.cfg.all_rows or type(loss) is not float:
            self.log('resuming {}: no training state saved yet, so from the start'.format(
                self.cfg.model_dir))
            return 1000000.0, 0, 0
        self.log('resuming {}: no training state saved yet, so from the start; {} ({:.4f} px) '
                 'stays unless an epoch does better'.format(
                     self.cfg.model_dir, best, unscale_keypoints(loss)))
        return loss, int(best.rsplit('-', 1)[1]), 0

    def save(self, sess, epoch, best_validation_loss, best_epoch, final=False):
        """The state after epoch (everything --resume needs), once
        cfg.state_every_seconds have passed since the last time, or when final.
        The best model's validation RMSE is written beside it (model-E.json)
        at every epoch, for restart()."""
        kept = os.path.join(self.cfg.model_dir, '{}-{}'.format(modeldir.BEST_PREFIX, best_epoch))
        settings = self.cfg.fixed_settings()
        if os.path.exists(kept + '.index') and self.scored != (kept, best_validation_loss):
            record.record_written(self.cfg.model_dir, os.path.basename(kept) + '.json')
            atomic_write_json(kept + '.json', {'validation_loss': float(best_validation_loss),
                                               'settings': settings})
            self.scored = (kept, best_validation_loss)
        if not final and time.time() - self.last_saved < self.cfg.state_every_seconds:
            return
        path = os.path.join(self.cfg.model_dir, '{}-{}'.format(modeldir.LAST_PREFIX, epoch + 1))
        record.record_written(self.cfg.model_dir, os.path.basename(path) + '.json')
        atomic_write_json(path + '.json', {
            'epochs_done': epoch + 1, 'best_validation_loss': float(best_validation_loss),
            'best_epoch': int(best_epoch), 'seed': self.cfg.seed, 'settings': settings})
        checkpoints.save(checkpoints.saver(), sess, self.cfg.model_dir, modeldir.LAST_PREFIX,
                         epoch + 1)
        self.last_saved = time.time()


def restore_state(sess, path):
    """The training state at path restored into sess's variables. A state
    saved before the training step was kept lacks it: the step then counts
    on from 0 (dropout's masks differ from those the run would have drawn)."""
    import tensorflow as tf
    saved = {name for name, _ in tf.train.list_variables(path)}
    step = tf.compat.v1.train.get_global_step(sess.graph)
    with sess.graph.as_default():
        kept = [v for v in tf.compat.v1.global_variables()
                if v is not step or v.op.name in saved]
    checkpoints.restore(checkpoints.saver(kept), sess, path)


def _epoch(path):
    return int(path.rsplit('-', 1)[1])


def refuse_missing_state(model_dir):
    """A UserError naming what is missing where part of the training state
    was removed: a file of the last-N checkpoint that checkpoint_last names,
    or last-N.json beside a last-N.index, or all of it after a run that
    finished (its result in hparams.json), which always saves one."""
    named = checkpoints.named_checkpoint(model_dir, modeldir.LAST_PREFIX, modeldir.LAST_STATE)
    stems = {n.split('.')[0] for n in os.listdir(model_dir)
             if n.startswith(modeldir.LAST_PREFIX + '-') and n.endswith('.index')}
    # Unnamed, a state may be one whose save was cut short (its .json is written first).
    for stem in [named] if named else sorted(stems):
        path = os.path.join(model_dir, stem)
        have = [n[len(stem):] for n in os.listdir(model_dir) if n.startswith(stem + '.')]
        missing = [part for part, there in (
            ('.index', '.index' in have), ('.data-*', any(h.startswith('.data-') for h in have)),
            ('.json', '.json' in have)) if not there and (named or part == '.json')]
        if missing:
            raise UserError('--resume: the training state {} lacks {}; copy {} back, or start '
                            'a new run.'.format(path, ' and '.join(stem + m for m in missing),
                                                'it' if len(missing) == 1 else 'them'))
    if not named and not stems and 'best' in jsonfiles.read_hparams(model_dir):
        raise UserError('--resume: {} holds no training state (last-N.index, .data, .json), '
                        'which a run that finished saves; copy it back, or start a new '
                        'run.'.format(model_dir))


def epoch_order(seed, epoch, n):
    """The order of n training rows in an epoch, a function of (seed, epoch),
    so that a resumed run sees the order an uninterrupted one would."""
    return np.random.default_rng([seed, epoch]).permutation(n)
