"""A run's history: each epoch's line, history.json and TensorBoard's events."""

import os
import time

import numpy as np
import tensorflow as tf

from ..units import unscale_keypoints
from . import checkpoints, jsonfiles, record
from .errors import UserError

tf1 = tf.compat.v1


class History:
    """The epochs of the run in cfg.model_dir (a resumed run's earlier ones
    too), kept in history.json and shown in TensorBoard. Use it in a with
    block, which closes TensorBoard's writer."""

    def __init__(self, cfg, log=print):
        self.model_dir, self.log = cfg.model_dir, log
        self.scored = 'held-out (trained on)' if cfg.all_rows else 'validation'
        self.entries, self.writer, self.epoch_start = [], None, time.time()
        self.events_before = set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.writer is not None:
            self.writer.close()

    def start(self, first_epoch):
        """Training starts (or resumes) at first_epoch: the epochs before it are
        kept, and the clock of the first epoch starts."""
        self.events_before = set(os.listdir(self.model_dir))
        self.entries = [h for h in jsonfiles.read_history(self.model_dir)
                        if h['epoch'] < first_epoch]
        jsonfiles.write_history(self.model_dir, self.entries)
        self.epoch_start = time.time()

    def record(self, epoch, train_losses, validation_loss, **learned):
        """The epoch's line, history.json and TensorBoard. Losses in [0, 1]
        units; the training RMSE is the root mean square of the epoch's batch
        RMSEs, as trained (dropout on, weights changing); learned: other
        values to keep (pixels). A NaN or infinite validation stops the run."""
        if not np.isfinite(validation_loss):
            raise UserError('training diverged in epoch {}: the validation RMSE is {} (try a '
                            'smaller --learning-rate); the best model so far is {}.'.format(
                                epoch, validation_loss,
                                checkpoints.best_checkpoint(self.model_dir) or 'not saved'))
        train_loss = float(np.sqrt(np.mean(np.square(train_losses)))) if train_losses else 0.0
        seconds = time.time() - self.epoch_start
        entry = dict({'epoch': epoch, 'train_rmse_px': unscale_keypoints(train_loss),
                      'validation_rmse_px': unscale_keypoints(validation_loss),
                      'seconds': seconds}, **learned)
        self.entries.append(entry)
        jsonfiles.write_history(self.model_dir, self.entries)
        self._tensorboard(epoch, entry, learned)
        self.log('epoch {} done! {} loss:{:.4f} px (train {:.4f} px{}; {:.1f} s)'.format(
            epoch, self.scored, entry['validation_rmse_px'], entry['train_rmse_px'],
            ''.join(', {} {:.3g}'.format(k, v) for k, v in learned.items()), seconds))
        self.epoch_start = time.time()

    def _tensorboard(self, epoch, entry, learned):
        if self.writer is None:
            self.writer = tf1.summary.FileWriter(self.model_dir, tf1.get_default_graph())
        self.writer.add_summary(tf1.Summary(value=[
            tf1.Summary.Value(tag='rmse_px/' + k.split('_')[0], simple_value=entry[k])
            for k in ('train_rmse_px', 'validation_rmse_px')] + [
            tf1.Summary.Value(tag=k, simple_value=v) for k, v in learned.items()]), epoch)
        self.writer.flush()
        # TensorFlow names its file as it creates it: recorded once it is there.
        record.record_written(self.model_dir, *(
            n for n in os.listdir(self.model_dir) if n.startswith('events.out.tfevents.')
            and n not in self.events_before))
