"""The improved recipe's training (--recipe improved). Not in the post.

The same Session + feed_dict loop as the post's (train.py), with what the
recipe changes:
- every labelled value is used: no dropna(), a masked RMSE (improved_model.py);
- validation on whole groups of near-identical frames, a proxy for unseen
  people, scored on their complete rows as run_predict.py predicts them
  (each face averaged with its mirror image) (splits.py);
- each batch is flipped, shifted and relit at random (augment.py), with the
  learned label offset correcting mirrored rows (improved_model.loss);
- the network (improved_model.py) starts at the training set's mean face,
  has no dropout, and is an ensemble: two networks train side by side,
  each on its own augmented copy of the batch, and predict together;
- Adam with a cosine learning-rate decay, and more patience.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from . import augment, improved_model, modeldir
from .config import TrainConfig
from .constants import IMAGE_SIZE, NUM_OUTPUTS, TRAIN_FILE
from .data import find_data_file, input_data
from .errors import UserError
from .runs import Run, mean_face_rmse, predict, require_rows, rmse_of
from .splits import group_split

tf1 = tf.compat.v1

VALIDATION_FRACTION = 0.2
VALIDATION_SEED = 1             # the same held-out groups for every run on the same data
FINAL_RATE_FRACTION = 0.01      # the cosine decay ends at 1% of the starting rate


@dataclasses.dataclass(frozen=True)
class Options:
    """The parts of the recipe, each of which can be changed on its own
    (bench/ablations.py measures what each buys). Saved in hparams.json."""
    flips: bool = True              # mirror half of each batch (augment.py)
    shifts: bool = True             # move faces by up to augment.MAX_SHIFT pixels
    lighting: bool = True           # vary contrast and brightness
    rotation: float = 0.0           # turn faces by up to this many degrees
    zoom: float = 0.0               # scale faces by up to this fraction
    label_offset: bool = True       # learn the labels' x offset (improved_model.loss)
    centring: bool = True           # start from the training set's mean face
    cosine: bool = True             # cosine learning-rate decay (else constant)
    wing: bool = False              # minimise the wing loss instead of the RMSE
    channels: tuple = improved_model.CHANNELS
    fc_units: int = improved_model.FC_UNITS
    members: int = 2                # networks trained side by side, their answers averaged


def learning_rate(base_rate, epoch, epochs, cosine=True):
    """Cosine decay from base_rate at epoch 0 to FINAL_RATE_FRACTION of it at the last."""
    if not cosine:
        return base_rate
    t = epoch / max(epochs - 1, 1)
    low = base_rate * FINAL_RATE_FRACTION
    return low + 0.5 * (base_rate - low) * (1 + np.cos(np.pi * t))


def epoch_batches(order, batch_size):
    """The epoch's rows (order) in ceil(n / batch_size) batches of nearly equal
    size (batch_size or a few fewer): a tiny last batch would weigh as much as
    a full one in batch norm's moving averages, which validate and predict."""
    return np.array_split(order, -(-len(order) // batch_size))


def held_out_groups(X):
    """(train_rows, held_out_rows): whole near-duplicate groups are held out,
    the same for every run on the same images."""
    return group_split(X, VALIDATION_FRACTION, VALIDATION_SEED)


def validation_split(X, y, path):
    """(train_rows, valid_rows): the held-out groups validate; of them, only
    complete rows are scored, and their incomplete rows are used nowhere, so
    no frame of a validation group is trained on."""
    train_rows, valid_rows = held_out_groups(X)
    valid_rows = valid_rows[~np.isnan(y[valid_rows]).any(axis=1)]
    if len(valid_rows) == 0:
        raise UserError('{} has no row with all 30 keypoints among its validation groups, '
                        'so the improved recipe has nothing to score on.'.format(path))
    require_rows(len(train_rows), len(valid_rows), path, 'rows',
                 'the improved recipe\'s validation groups')
    return train_rows, valid_rows


def saved_options(model_dir):
    """The Options a run saved in model_dir's hparams.json (Options() if none).
    Each value must have its default's type (a whole number will do for a
    fraction); channels, members and fc_units must be positive."""
    saved = modeldir.read_hparams(model_dir).get('improved')
    if saved is None:
        return Options()
    path = os.path.join(model_dir, modeldir.HPARAMS_FILE)
    if not isinstance(saved, dict):
        raise UserError('{} has no valid "improved" settings; it was edited or '
                        'damaged.'.format(path))
    saved = dict({'members': 1}, **saved)   # runs saved before there were two networks had one
    defaults = dataclasses.asdict(Options())
    options = {}
    for k, v in saved.items():
        v = tuple(v) if isinstance(v, list) else v
        like = defaults.get(k)
        ok = type(v) is type(like) or type(like) is float and type(v) is int
        if k in ('channels', 'members', 'fc_units'):
            ok = ok and all(type(c) is int and c > 0 for c in (v if k == 'channels' else [v])) \
                and v != ()
        if not ok:
            raise UserError('{} has no valid "improved" setting {!r}; it was edited or '
                            'damaged.'.format(path, k))
        options[k] = v
    return Options(**options)


def train_improved(cfg=None, log=print, options=None):
    """Train the improved recipe as cfg says; returns what train.train() does.
    options: the recipe's parts (default: the recipe, or with cfg.resume the
    parts the resumed run was trained with)."""
    cfg = cfg or TrainConfig(recipe='improved')
    if options is None:
        options = saved_options(cfg.model_dir) if cfg.resume else Options()
    run = Run(cfg, log)
    run.hparams['improved'] = dataclasses.asdict(options)
    log = run.log
    path = find_data_file(cfg.data_dir, TRAIN_FILE)

    X, y = input_data(data_dir=cfg.data_dir, dropna=False)
    train_rows, valid_rows = validation_split(X, y, path)
    if cfg.all_rows:
        # A final model, once the recipe is chosen: a quarter more faces to learn
        # from. The held-out groups then train too, so their score below is no
        # validation and chooses nothing: each epoch's model is kept, the last
        # predicts (the cosine schedule ends where the best epochs are).
        train_rows = np.arange(len(X))
    X_train, y_train, X_valid, y_valid = X[train_rows], y[train_rows], X[valid_rows], y[valid_rows]
    del X, y

    with run, tf.Graph().as_default():
        tf1.set_random_seed(run.seed)
        x = tf1.placeholder(tf.float32, [None, IMAGE_SIZE, IMAGE_SIZE, 1], name='x')
        y_ = tf1.placeholder(tf.float32, [None, NUM_OUTPUTS], name='y_')
        keep_prob = tf1.placeholder_with_default(1.0, [], name='keep_prob')
        flipped = tf1.placeholder_with_default(tf.zeros_like(y_[:, 0], tf.bool), [None])
        rate = tf1.placeholder(tf.float32, [], name='learning_rate')
        # Two copies of the networks with the same variables: one trains (batch
        # statistics, dropout if asked for); one predicts as run_predict.py
        # does (moving averages, each face averaged with its mirror image and
        # over the members), so the model kept is the one that predicts best,
        # and validation is what it scores.
        arch = options.channels, options.fc_units, options.members
        corrected = flipped if options.label_offset else tf.zeros_like(flipped)
        # An ensemble's members train side by side, each on its own augmented
        # copy of the batch (fed one after another); the sum of their losses
        # gives each member the gradient of its own (they share no weights).
        K = options.members
        fits = [(improved_model.network(xk, keep_prob, True, *arch[:2], member=k), yk, fk)
                for k, (xk, yk, fk) in enumerate(zip(tf.split(x, K), tf.split(y_, K),
                                                     tf.split(corrected, K)))]
        rmses = [improved_model.loss(*fit) for fit in fits]
        rmse = tf.add_n(rmses) / K
        objective = tf.add_n([improved_model.loss(*fit, wing_loss=True) for fit in fits]) \
            if options.wing else tf.add_n(rmses)
        y_conv = improved_model.keypoints(x, arch) / IMAGE_SIZE
        net_variables = tf1.global_variables()
        with tf.control_dependencies(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)):
            train_step = tf1.train.AdamOptimizer(rate).minimize(objective)
        saver = modeldir.saver(net_variables)
        offset_px = improved_model.label_x_offset() * IMAGE_SIZE
        set_mean_face = tf1.assign(improved_model.mean_face(), np.nanmean(y_train, axis=0))

        with tf1.Session(config=run.session_config()) as sess:
            sess.run(tf1.global_variables_initializer())
            if options.centring:
                sess.run(set_mean_face)
            TRAIN_SIZE = len(X_train)
            best_validation_loss, current_epoch, first_epoch = run.resume(
                sess, [len(b) for b in epoch_batches(np.arange(TRAIN_SIZE), cfg.batch_size)])
            log('begin training..., train dataset size:{0} ({1}: {2} complete rows of '
                'held-out groups, on which the mean face scores {3:.2f} px)'.format(
                    TRAIN_SIZE, 'all rows; scored, trained on' if cfg.all_rows else 'validation',
                    len(X_valid), mean_face_rmse(y_train, y_valid) * 96))
            i = first_epoch - 1
            for i in range(first_epoch, cfg.epochs):
                batches = epoch_batches(run.shuffle(i, TRAIN_SIZE), cfg.batch_size)
                lr = learning_rate(cfg.learning_rate, i, cfg.epochs, options.cosine)
                train_losses = []
                for j, idx in zip(run.batches(TRAIN_SIZE, cfg.batch_size, 'epoch {}'.format(i)),
                                  batches):
                    # Random draws are a function of (seed, epoch, batch), for --resume.
                    rng = np.random.default_rng([run.seed, i, j])
                    xb, yb, fb = (np.concatenate(part) for part in zip(*(
                        augment.augment_batch(X_train[idx], y_train[idx], rng, options.flips,
                                              options.shifts, options.lighting,
                                              options.rotation, options.zoom)
                        for _ in range(K))))
                    _, loss = sess.run([train_step, rmse], feed_dict={
                        x: xb, y_: yb, flipped: fb, keep_prob: cfg.keep_prob, rate: lr})
                    train_losses.append(loss)
                # From the predictions, in float64: under --bf16 an RMSE computed
                # in the graph would be rounded to bfloat16 (about 0.01 px here).
                validation_loss = rmse_of(
                    predict(sess, y_conv, x, X_valid, cfg.batch_size), y_valid)
                run.record(i, train_losses, validation_loss, learning_rate=lr,
                           label_x_offset_px=float(sess.run(offset_px)))
                if validation_loss < best_validation_loss or cfg.all_rows:
                    best_validation_loss = validation_loss
                    current_epoch = i
                    run.save_model(saver, sess, i)
                elif (i - current_epoch) >= cfg.patience:
                    log('early stopping')
                    break
                run.save_state(sess, i, best_validation_loss, current_epoch)

            return run.finish(sess, saver, lambda X: predict(sess, y_conv, x, X, cfg.batch_size),
                              X_valid, y_valid, i, best_validation_loss, current_epoch)
