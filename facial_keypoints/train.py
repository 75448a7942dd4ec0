"""The post's training (its __main__), as one function to read beside it.

    python run_train.py        # is train(TrainConfig())

train() follows the post in its order, except that it reads the data before
it builds the graph (a bad file is refused before anything is built or
written): input_data(), the first VALIDATION_SIZE rows validate, model(),
AdamOptimizer(1e-3).minimize(rmse), a Saver, then EPOCHS epochs of shuffled
BATCH_SIZE batches fed with keep_prob 0.5, validation with keep_prob 1.0,
save_model() whenever validation improves, and early stopping after
EARLY_STOP_PATIENCE epochs without improvement. What the project adds is one
call each on `run` (runs.py): the model folder and its lock, --resume, the
progress bar and Ctrl-C, history.json and TensorBoard, the training state,
the pictures.
"""

import tensorflow as tf

from .config import TrainConfig
from .constants import TRAIN_FILE
from .data import find_data_file, input_data
from .model import model, placeholders
from .runs import Run, batch_sizes, evaluate, mean_face_rmse, predict, require_rows

tf1 = tf.compat.v1


def train(cfg=None, log=print):
    """Train the post's network as cfg says (default: the post's settings).

    Keeps the best validation model in cfg.model_dir. Returns a dict: best
    validation RMSE in pixels and its epoch, epochs run, seconds, history.
    """
    cfg = cfg or TrainConfig()
    run = Run(cfg, log)                     # checks --model-dir; writes nothing yet
    log = run.log

    X, y = input_data(data_dir=cfg.data_dir)
    X_valid, y_valid = X[:cfg.validation_size], y[:cfg.validation_size]
    X_train, y_train = X[cfg.validation_size:], y[cfg.validation_size:]
    require_rows(len(X_train), len(X_valid), find_data_file(cfg.data_dir, TRAIN_FILE),
                 'rows with all 30 keypoints (the post keeps only those)',
                 '--validation-size {}'.format(cfg.validation_size))

    with run, tf.Graph().as_default():
        tf1.set_random_seed(run.seed)
        x, y_, keep_prob = placeholders()
        y_conv, rmse = model(x, y_, keep_prob)
        train_step = tf1.train.AdamOptimizer(cfg.learning_rate).minimize(rmse)
        # The best model: the network's weights, what prediction needs (the
        # post's Saver() also saved Adam's slots, which the training state keeps).
        saver = tf1.train.Saver(tf1.trainable_variables(), max_to_keep=None,
                                save_relative_paths=True)

        with tf1.Session(config=run.session_config()) as sess:
            sess.run(tf1.global_variables_initializer())
            TRAIN_SIZE = X_train.shape[0]
            best_validation_loss, current_epoch, first_epoch = run.resume(
                sess, batch_sizes(TRAIN_SIZE, cfg.batch_size)
                + batch_sizes(len(X_valid), cfg.batch_size))
            log('begin training..., train dataset size:{0} (of {1} rows with all 30 keypoints; '
                'the first {2} validate, and the mean face scores {3:.2f} px on them)'.format(
                    TRAIN_SIZE, len(X), len(X_valid), mean_face_rmse(y_train, y_valid) * 96))
            i = first_epoch - 1
            for i in range(first_epoch, cfg.epochs):
                train_index = run.shuffle(i, TRAIN_SIZE)     # 每个epoch都shuffle一下效果更好
                train_losses = []
                for j in run.batches(TRAIN_SIZE, cfg.batch_size, 'epoch {}'.format(i)):
                    idx = train_index[j:j + cfg.batch_size]
                    _, loss = sess.run([train_step, rmse], feed_dict={
                        x: X_train[idx], y_: y_train[idx], keep_prob: cfg.keep_prob})
                    train_losses.append(loss)
                validation_loss = evaluate(sess, rmse, {x: X_valid, y_: y_valid}, cfg.batch_size)
                run.record(i, train_losses, validation_loss)
                if validation_loss < best_validation_loss:
                    best_validation_loss = validation_loss
                    current_epoch = i
                    run.save_model(saver, sess, i)       # 即时保存最好的结果
                elif (i - current_epoch) >= cfg.patience:
                    log('early stopping')
                    break
                run.save_state(sess, i, best_validation_loss, current_epoch)

            return run.finish(sess, saver, lambda X: predict(sess, y_conv, x, X, cfg.batch_size),
                              X_valid, y_valid, i, best_validation_loss, current_epoch)
