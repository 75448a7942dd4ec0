"""The end of a training run: its result (returned, and kept in hparams.json)
and, with matplotlib, its pictures."""

import os

from ..units import unscale_keypoints
from . import checkpoints, jsonfiles, modeldir, plots, record


def result(cfg, history, best_validation_loss, best_epoch, epochs_run, first_epoch):
    """The run's result, also saved in hparams.json as "best". history: every
    epoch's entry (history.History.entries); epochs_run: epochs trained in
    all, those from first_epoch on by this call; best_validation_loss in
    [0, 1] units, of the model kept at best_epoch (with --all-rows, the last)."""
    best_checkpoint = checkpoints.best_checkpoint(cfg.model_dir)
    best_px = unscale_keypoints(best_validation_loss)
    hparams = jsonfiles.read_hparams(cfg.model_dir)
    hparams['best'] = {'epoch': best_epoch, 'epochs_run': epochs_run,
                       'validation_rmse_px': best_px,
                       'checkpoint': os.path.basename(best_checkpoint or '')}
    jsonfiles.write_hparams(cfg.model_dir, hparams)
    return {'best_validation_rmse_px': best_px, 'best_epoch': best_epoch,
            'epochs_run': epochs_run, 'epochs_now': epochs_run - first_epoch,
            'best_checkpoint': best_checkpoint, 'history': history,
            'seconds': sum(h['seconds'] for h in history if h['epoch'] >= first_epoch)}


def pictures(cfg, history, best_epoch, X, y, predicted, log=print):
    """learning_curve.png and validation_faces.png in cfg.model_dir, with
    matplotlib. X [N, 96, 96, 1] in [0, 1]: validation faces (the first
    plots.FACES are drawn); y, predicted: their keypoints [N, 30] in [0, 1]."""
    if not plots.have_matplotlib():
        log('for {} and {}: pip install matplotlib'.format(*modeldir.PICTURES))
        return
    scored = 'held-out (trained on)' if cfg.all_rows else 'validation'
    record.record_written(cfg.model_dir, *modeldir.PICTURES)
    plots.learning_curve(history, os.path.join(cfg.model_dir, modeldir.PICTURES[0]), best_epoch,
                         scored, 'latest' if cfg.all_rows else 'best')
    plots.validation_faces(X, unscale_keypoints(y), unscale_keypoints(predicted),
                           os.path.join(cfg.model_dir, modeldir.PICTURES[1]), scored)
