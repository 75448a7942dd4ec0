"""The improved recipe's training (--recipe improved). Not in the post.

The same Session + feed_dict loop as the post's (train.py), with what the
recipe changes; its numbers are in improved/settings.py:
- every labelled value is used: no dropna(), a masked RMSE (improved/model.py);
- validation on whole groups of near-identical frames, a proxy for unseen
  people, scored on their complete rows as run_predict.py predicts them
  (each face averaged with its mirror image) (improved/splits.py);
- each batch is flipped, shifted and relit at random (improved/augment.py), with the
  learned label offset correcting mirrored rows (improved_model.loss);
- the network (improved/model.py) is deeper, reads keypoints from heat
  maps, has no dropout, and is an ensemble: two networks train side by
  side, each on its own augmented copy of the batch, and predict together;
- Adam with a cosine learning-rate decay and weight decay, and more
  patience.
"""

import collections

import numpy as np
import tensorflow as tf

from ..constants import IMAGE_SIZE, KEYPOINT_COLUMNS, NUM_OUTPUTS, TRAIN_FILE
from ..data import find_data_file, input_data, reading
from ..runs.bf16 import session_config
from ..runs.checkpoints import restore_best, save_model, saver
from ..runs.config import TrainConfig
from ..runs.errors import UserError
from ..runs.history import History
from ..runs.interrupt import CtrlC
from ..runs.lock import held_for_training, refuse_for_training
from ..runs.loop import epoch_log, keypoints_in_batches, mean_face_rmse, require_rows, rmse_of
from ..runs.plots import FACES
from ..runs.progress import batches
from ..runs.result import pictures, result
from ..runs.state import TrainingState, epoch_order
from ..units import unscale_keypoints
from . import model as improved_model
from .augment import augment_batch
from .settings import (FINAL_RATE_FRACTION, MAP_PRIOR_WEIGHT, VALIDATION_FRACTION, VALIDATION_SEED,
                       WEIGHT_AVERAGE_DECAY)
from .splits import group_split

tf1 = tf.compat.v1

# What the training loop runs and feeds (training_graph()); average and swap
# are None without weight averaging.
TrainingGraph = collections.namedtuple('TrainingGraph', (
    'x', 'y_', 'flipped', 'keep_prob', 'rate', 'rmse', 'y_conv', 'train_step', 'average', 'swap',
    'saver', 'offset_px'))


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


def refuse_unlabelled(y_train, path):
    """A keypoint no training row labels would be NaN in the mean face the
    network starts from, and so in every prediction: a UserError, since no
    fill could be told apart from a prediction in submit.csv."""
    unlabelled = np.isnan(y_train).all(axis=0)
    if unlabelled.any():
        raise UserError('{} labels {} in none of the {} rows the improved recipe trains on; '
                        'it cannot learn a keypoint it never sees.'.format(
                            path, KEYPOINT_COLUMNS[int(np.flatnonzero(unlabelled)[0])],
                            len(y_train)))


def split_rows(X, y, rows, all_rows):
    """(X_train, y_train, X_valid, y_valid) of rows, (train_rows, valid_rows).

    all_rows: a final model, once the recipe is chosen: a quarter more faces
    to learn from. The held-out groups then train too, so their score is no
    validation and chooses nothing: each epoch's model is kept, the last
    predicts (the cosine schedule ends where the best epochs are).
    """
    train_rows, valid_rows = rows
    if all_rows:
        train_rows = np.arange(len(X))
    return X[train_rows], y[train_rows], X[valid_rows], y[valid_rows]


def members_training(x, y_, flipped, keep_prob, options, loss):
    """The training side of the graph: (rmse, objective). The ensemble's
    members train side by side, each on its own slice of the batch fed (its
    own augmented copy, members_batch()); rmse is their mean masked RMSE, and
    the sum of their losses, the objective, gives each member the gradient of
    its own (they share no weights). Mirrored rows' targets are corrected by
    the learned label offset where options.label_offset. With
    options.map_prior the objective adds each member's heat maps' divergence
    from the targets' Gaussians (improved_model.map_divergence)."""
    if options.map_prior and options.fc_units:
        raise ValueError('the heat maps\' prior needs heat maps (fc_units 0)')
    K = options.members
    to_correct = flipped if options.label_offset else tf.zeros_like(flipped)
    fits, priors = [], []
    for k, (xk, yk, fk) in enumerate(zip(tf.split(x, K), tf.split(y_, K), tf.split(to_correct, K))):
        y_conv, logits = improved_model.network(xk, keep_prob, True, options.channels,
                                                options.fc_units, member=k, heat_maps=True,
                                                map_size=options.heat_map_size,
                                                separable=options.separable)
        fits.append((y_conv, yk, fk))
        if options.map_prior:
            target = tf.stop_gradient(improved_model.corrected(yk, fk))
            priors.append(MAP_PRIOR_WEIGHT * improved_model.map_divergence(logits, target))
    rmse = tf.add_n([improved_model.loss(*fit) for fit in fits]) / K
    return rmse, tf.add_n([loss(*fit) for fit in fits] + priors)


def weight_average(variables, decay):
    """(update, swap) ops for an exponential moving average of variables
    (Polyak averaging): run update after each training step (a run of its
    own: variables made under a control dependency would initialise only by
    training); swap exchanges each variable's value with its average, so
    validation, the model kept and everything restored from it use the
    average, and a second swap gives the training weights back. The
    averages' early steps are debiased through TensorFlow's num_updates."""
    step = tf1.Variable(0, trainable=False, name='weight_average_step')
    ema = tf1.train.ExponentialMovingAverage(decay, num_updates=step)
    with tf.control_dependencies([ema.apply(variables)]):
        update = tf1.assign_add(step, 1)
    pairs = [(v, ema.average(v)) for v in variables]
    values = [(tf.identity(v), tf.identity(a)) for v, a in pairs]
    with tf.control_dependencies([t for pair in values for t in pair]):
        swap = tf.group(*[op for (v, a), (vv, av) in zip(pairs, values)
                          for op in (tf1.assign(v, av), tf1.assign(a, vv))])
    return update, swap


def decayed(train_step, fraction):
    """train_step, then every weight matrix (the 2-D and 4-D variables: not
    batch norm's, biases or the label offset) shrunk by that fraction: weight
    decay as AdamW applies it, apart from Adam's scaling."""
    with tf.control_dependencies([train_step]):
        return tf.group(*[tf1.assign_sub(v, fraction * v) for v in tf1.trainable_variables()
                          if v.shape.rank >= 2])


def members_batch(X, y, rng, options, augment):
    """What one training step feeds: an augmented copy of the batch (X, y)
    for each member, one after another: (X, y, flipped)."""
    return (np.concatenate(part) for part in zip(*(
        augment(X, y, rng, options) for _ in range(options.members))))


def training_graph(options, loss):
    """The recipe's training graph in the default graph, as a TrainingGraph.

    Two copies of the networks with the same variables: one trains (batch
    statistics, dropout if asked for); y_conv predicts as run_predict.py
    does (moving averages, each face averaged with its mirror image and
    over the members; keypoints in [0, 1]), so the model kept is the one that
    predicts best, and validation is what it scores."""
    x = tf1.placeholder(tf.float32, [None, IMAGE_SIZE, IMAGE_SIZE, 1], name='x')
    y_ = tf1.placeholder(tf.float32, [None, NUM_OUTPUTS], name='y_')
    keep_prob = tf1.placeholder_with_default(1.0, [], name='keep_prob')
    flipped = tf1.placeholder_with_default(tf.zeros_like(y_[:, 0], tf.bool), [None])
    rate = tf1.placeholder(tf.float32, [], name='learning_rate')
    if options.fc_units:        # the dense layer's dropout masks follow the training step
        tf1.train.get_or_create_global_step()
    rmse, objective = members_training(x, y_, flipped, keep_prob, options, loss)
    y_conv = improved_model.keypoints(x, (options.channels, options.fc_units, options.members,
                                          options.heat_map_size, options.separable)) / IMAGE_SIZE
    step = tf1.train.get_global_step()
    net_variables = [v for v in tf1.global_variables() if v is not step]
    with tf.control_dependencies(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)):
        train_step = tf1.train.AdamOptimizer(rate).minimize(objective, global_step=step)
    if options.weight_decay:
        train_step = decayed(train_step, rate * options.weight_decay)
    average = swap = None
    if options.weight_average:
        average, swap = weight_average(tf1.trainable_variables(), WEIGHT_AVERAGE_DECAY)
    return TrainingGraph(x, y_, flipped, keep_prob, rate, rmse, y_conv, train_step,
                         average, swap, saver(net_variables),
                         unscale_keypoints(improved_model.label_x_offset()))


def train_epoch(sess, g, X_train, y_train, cfg, epoch, rate, check, augment):
    """One epoch of training steps at that learning rate; returns each
    batch's RMSE ([0, 1] units). check() is called between batches (Ctrl-C)."""
    n = len(X_train)
    train_losses = []
    for j, idx in zip(batches(n, cfg.batch_size, 'epoch {}'.format(epoch), not cfg.quiet,
                              check), epoch_batches(epoch_order(cfg.seed, epoch, n),
                                                    cfg.batch_size)):
        # Random draws are a function of (seed, epoch, batch), for --resume.
        rng = np.random.default_rng([cfg.seed, epoch, j])
        xb, yb, fb = members_batch(X_train[idx], y_train[idx], rng, cfg.options, augment)
        _, loss_value = sess.run([g.train_step, g.rmse], feed_dict={
            g.x: xb, g.y_: yb, g.flipped: fb, g.keep_prob: cfg.keep_prob, g.rate: rate})
        train_losses.append(loss_value)
        if g.average is not None:
            sess.run(g.average)
    return train_losses


def training_rows(cfg, state, log, data, split):
    """(X_train, y_train, X_valid, y_valid) from cfg.data_dir's training file
    (or data), split as train_improved's split says; refuses data a resumed
    run did not train on, and training rows with no labels at all."""
    path = find_data_file(cfg.data_dir, TRAIN_FILE)
    log(reading(path))
    X, y = data or input_data(dropna=False, path=path)
    state.check_data(path, X, y)            # with --resume, the same data as before
    X_train, y_train, X_valid, y_valid = split_rows(X, y, split(X, y, path), cfg.all_rows)
    refuse_unlabelled(y_train, path)
    return X_train, y_train, X_valid, y_valid


def train_improved(cfg=None, log=print, handle_ctrl_c=False, data=None,
                   split=validation_split, augment=augment_batch, loss=improved_model.loss,
                   score=rmse_of):
    """Train the improved recipe as cfg says; returns what train.train() does,
    and handle_ctrl_c is train()'s. The rest vary the recipe (bench/ablations.py):
    data: (X, y) to train on instead of cfg.data_dir's (y in [0, 1], NaN where
    missing); split(X, y, path) -> (train_rows, valid_rows); augment(X, y,
    rng, options) -> (X, y, flipped), see augment.augment_batch; loss(y_conv,
    y_, flipped): what each member minimises, see improved_model.loss;
    score(predicted, y): the validation RMSE, see runs.rmse_of.
    """
    cfg = cfg or TrainConfig(recipe='improved')
    options = cfg.options
    say = epoch_log(log, cfg.quiet)         # log, or nothing with --quiet
    refuse_for_training(cfg)                # checks --model-dir; writes nothing yet
    state = TrainingState(cfg, say)         # with --resume, checks what it continues
    X_train, y_train, X_valid, y_valid = training_rows(cfg, state, say, data, split)

    with held_for_training(cfg), CtrlC(cfg, handle_ctrl_c) as ctrl_c, \
            History(cfg, say) as history, tf.Graph().as_default():
        tf1.set_random_seed(cfg.seed)
        g = training_graph(options, loss)
        set_mean_face = tf1.assign(improved_model.mean_face(), np.nanmean(y_train, axis=0))

        with tf1.Session(config=session_config(cfg.bf16, log)) as sess:
            sess.run(tf1.global_variables_initializer())
            if options.centring:
                sess.run(set_mean_face)
            TRAIN_SIZE = len(X_train)
            best_validation_loss, current_epoch, first_epoch = state.resume(sess)
            history.start(first_epoch)
            say('begin training..., train dataset size:{0} ({1}: {2} complete rows of '
                'held-out groups, on which the mean face scores {3:.2f} px)'.format(
                    TRAIN_SIZE, 'all rows; scored, trained on' if cfg.all_rows else 'validation',
                    len(X_valid), unscale_keypoints(mean_face_rmse(y_train, y_valid))))

            def validate():
                # From the predictions, in float64: under --bf16 an RMSE computed
                # in the graph would be rounded to bfloat16 (about 0.01 px here).
                return score(keypoints_in_batches(sess, g.y_conv, g.x, X_valid, cfg.batch_size),
                             y_valid)

            i = first_epoch - 1
            for i in range(first_epoch, cfg.epochs):
                lr = learning_rate(cfg.learning_rate, i, cfg.epochs, options.cosine)
                train_losses = train_epoch(sess, g, X_train, y_train, cfg, i, lr,
                                           ctrl_c.check, augment)
                learned = dict(learning_rate=lr, label_x_offset_px=float(sess.run(g.offset_px)))
                if options.weight_average:      # the training weights' score, for comparison
                    learned['training_weights_validation_rmse_px'] = unscale_keypoints(
                        validate())
                    sess.run(g.swap)
                validation_loss = validate()
                history.record(i, train_losses, validation_loss, **learned)
                improved = validation_loss < best_validation_loss or cfg.all_rows
                if improved:
                    best_validation_loss = validation_loss
                    current_epoch = i
                    save_model(g.saver, sess, cfg.model_dir, i, say)
                if options.weight_average:
                    sess.run(g.swap)            # training goes on from its own weights
                if not improved and (i - current_epoch) >= cfg.patience:
                    say('early stopping')
                    break
                state.save(sess, i, best_validation_loss, best_epoch=current_epoch)

            state.save(sess, i, best_validation_loss, best_epoch=current_epoch, final=True)
            restore_best(g.saver, sess, cfg.model_dir)      # the kept model draws the faces
            pictures(cfg, history.entries, current_epoch, X_valid[:FACES], y_valid[:FACES],
                     keypoints_in_batches(sess, g.y_conv, g.x, X_valid[:FACES],
                                          cfg.batch_size), say)
            return result(cfg, history.entries, best_validation_loss, best_epoch=current_epoch,
                          epochs_run=i + 1, first_epoch=first_epoch)
