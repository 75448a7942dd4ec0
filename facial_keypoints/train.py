"""The post's training (its __main__), as one function to read beside it.

    python run_train.py        # is train(TrainConfig(), handle_ctrl_c=True)

train() follows the post in its order, but for two swaps: it reads the data
before it builds the graph (a bad file is refused before anything is built
or written), and builds the Saver before the Session. input_data(), the
first VALIDATION_SIZE rows validate, model(),
AdamOptimizer(1e-3).minimize(rmse) (counting the training step, which
dropout's masks follow), a Saver, then EPOCHS epochs of shuffled
BATCH_SIZE batches fed with keep_prob 0.5, validation with keep_prob 1.0,
save_model() whenever validation improves, and early stopping after
EARLY_STOP_PATIENCE epochs without improvement. What the project adds is a
call each, to one module each: the model folder and its lock (runs/lock.py),
--resume and the training state (runs/state.py), the progress bar and Ctrl-C
(runs/progress.py, runs/interrupt.py), history.json and TensorBoard (runs/history.py), the
result and pictures (runs/result.py).
"""

import tensorflow as tf

from .constants import TRAIN_FILE
from .data import find_data_file, input_data, reading
from .model import model, placeholders
from .runs import checkpoints
from .runs.bf16 import session_config
from .runs.checkpoints import restore_best, save_model
from .runs.config import TrainConfig
from .runs.history import History
from .runs.interrupt import CtrlC
from .runs.lock import held_for_training, refuse_for_training
from .runs.loop import epoch_log, evaluate, keypoints_in_batches, mean_face_rmse, require_rows
from .runs.plots import FACES
from .runs.progress import batches
from .runs.result import pictures, result
from .runs.state import TrainingState, epoch_order
from .units import unscale_keypoints

tf1 = tf.compat.v1


def train(cfg=None, log=print, handle_ctrl_c=False, validation_rmse=evaluate):
    """Train the post's network as cfg says (default: the post's settings).

    Keeps the best validation model in cfg.model_dir. Returns a dict: best
    validation RMSE in pixels and its epoch, epochs run, seconds, history.
    handle_ctrl_c: Ctrl-C stops the run between two batches, raising
    errors.Interrupted (run_train.py asks for it); else Ctrl-C is the
    caller's. validation_rmse: how the validation RMSE is computed
    (runs.evaluate's arguments and units).
    """
    cfg = cfg or TrainConfig()
    say = epoch_log(log, cfg.quiet)         # log, or nothing with --quiet
    refuse_for_training(cfg)                # checks --model-dir; writes nothing yet
    state = TrainingState(cfg, say)         # with --resume, checks what it continues
    path = find_data_file(cfg.data_dir, TRAIN_FILE)
    say(reading(path))

    X, y = input_data(path=path)
    state.check_data(path, X, y)            # with --resume, the same data as before
    X_valid, y_valid = X[:cfg.validation_size], y[:cfg.validation_size]
    X_train, y_train = X[cfg.validation_size:], y[cfg.validation_size:]
    require_rows(len(X_train), len(X_valid), path,
                 'rows with all 30 keypoints (the post keeps only those)',
                 '--validation-size {}'.format(cfg.validation_size))

    with held_for_training(cfg), CtrlC(cfg, handle_ctrl_c) as ctrl_c, \
            History(cfg, say) as history, tf.Graph().as_default():
        tf1.set_random_seed(cfg.seed)
        x, y_, keep_prob = placeholders()
        step = tf1.train.get_or_create_global_step()    # dropout's masks follow it
        y_conv, rmse = model(x, y_, keep_prob)
        train_step = tf1.train.AdamOptimizer(cfg.learning_rate).minimize(rmse, global_step=step)
        # The best model: the network's weights, what prediction needs (the
        # post's Saver() also saved Adam's slots, which the training state keeps).
        saver = checkpoints.saver(tf1.trainable_variables())

        with tf1.Session(config=session_config(cfg.bf16, log)) as sess:
            sess.run(tf1.global_variables_initializer())
            TRAIN_SIZE = X_train.shape[0]
            best_validation_loss, current_epoch, first_epoch = state.resume(sess)
            history.start(first_epoch)
            say('begin training..., train dataset size:{0} (of {1} rows with all 30 keypoints; '
                'the first {2} validate, and the mean face scores {3:.2f} px on them)'.format(
                    TRAIN_SIZE, len(X), len(X_valid),
                    unscale_keypoints(mean_face_rmse(y_train, y_valid))))
            i = first_epoch - 1
            for i in range(first_epoch, cfg.epochs):
                train_index = epoch_order(cfg.seed, i, TRAIN_SIZE)  # 每个epoch都shuffle一下效果更好
                train_losses = []
                for j in batches(TRAIN_SIZE, cfg.batch_size, 'epoch {}'.format(i),
                                 not cfg.quiet, ctrl_c.check):
                    idx = train_index[j:j + cfg.batch_size]
                    _, loss = sess.run([train_step, rmse], feed_dict={
                        x: X_train[idx], y_: y_train[idx], keep_prob: cfg.keep_prob})
                    train_losses.append(loss)
                validation_loss = validation_rmse(sess, rmse, {x: X_valid, y_: y_valid},
                                                  cfg.batch_size)
                history.record(i, train_losses, validation_loss)
                if validation_loss < best_validation_loss:
                    best_validation_loss = validation_loss
                    current_epoch = i                   # the post's name for the best epoch
                    save_model(saver, sess, cfg.model_dir, i, say)     # 即时保存最好的结果
                elif (i - current_epoch) >= cfg.patience:
                    say('early stopping')
                    break
                state.save(sess, i, best_validation_loss, best_epoch=current_epoch)

            state.save(sess, i, best_validation_loss, best_epoch=current_epoch, final=True)
            restore_best(saver, sess, cfg.model_dir)     # the best model draws the faces
            pictures(cfg, history.entries, current_epoch, X_valid[:FACES], y_valid[:FACES],
                     keypoints_in_batches(sess, y_conv, x, X_valid[:FACES], cfg.batch_size), say)
            return result(cfg, history.entries, best_validation_loss, best_epoch=current_epoch,
                          epochs_run=i + 1, first_epoch=first_epoch)
