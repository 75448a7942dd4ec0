"""Training recipes: what differs between the post's run and the improved one.

A recipe says which rows to use, how to split off validation, which graph to
build, how to augment a batch and which learning rate each epoch gets. The
training loop (train.py) and prediction (predict.py) only talk to this.
"""

import numpy as np

from . import constants


class BlogRecipe:
    """The post, unchanged: complete rows only, the first VALIDATION_SIZE rows
    validate, Adam at a fixed learning rate, no augmentation."""

    name = 'blog'
    dropna = True
    epochs = constants.EPOCHS
    patience = constants.EARLY_STOP_PATIENCE

    def split(self, X, y, validation_size, seed):
        """Indices (train, valid) into the loaded rows, or None if too few rows.
        The post: the first VALIDATION_SIZE rows validate."""
        if validation_size >= len(X):
            return None
        rows = np.arange(len(X))
        return rows[validation_size:], rows[:validation_size]

    # model.py (TensorFlow) is imported where a graph is built, so that
    # `run_train.py --help` and early errors start without TensorFlow.
    def inference(self, x, keep_prob, training, dropout_seed=None):
        from . import model
        return model.inference(x, keep_prob, dropout_seed)

    def loss(self, y_conv, y_):
        from . import model
        return model.loss(y_conv, y_)

    def learning_rate(self, base_rate, epoch, epochs):
        return base_rate

    def augment(self, X, y, rng):
        """A training batch as fed: (X, y, extra feed_dict entries)."""
        return X, y, {}

    def predict(self, net, X, best):
        """Keypoints /96 [N, 30] for images X; net(X) runs the restored graph.
        best: the best checkpoint's entry in hparams.json (with report()'s
        values as they were when it was saved)."""
        return net(X)

    def report(self, sess):
        """Learned scalars by name: recorded in history.json each epoch and,
        with the best checkpoint, in hparams.json (where predict() finds them)."""
        return {}

    def initialize(self, sess, X_train, y_train):
        """Set any data-derived constants of the graph before training."""


RECIPE_NAMES = ('blog', 'improved')


def get_recipe(name):
    """The recipe called name ('blog' or 'improved')."""
    if name == 'blog':
        return BlogRecipe()
    if name == 'improved':
        from .improved import ImprovedRecipe
        return ImprovedRecipe()
    raise ValueError('unknown recipe {!r}; choose from {}'.format(name, RECIPE_NAMES))
