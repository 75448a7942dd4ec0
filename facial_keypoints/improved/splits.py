"""Validation splits that keep near-identical frames together. numpy only.

faces15 (and Kaggle's set) hold several frames of each person, and a
validation frame whose near-twin is in the training set reads optimistic.
Without a person column, frames are linked when their normalised 24x24
thumbnails are closer than LINK_DISTANCE (RMS, in standard deviations), and
whole linked groups go to one side.
"""

import numpy as np

from .settings import LINK_DISTANCE, THUMBNAIL_SIZE


def thumbnails(X):
    """X [N, 96, 96, 1] -> [N, 576]: 24x24 means (THUMBNAIL_SIZE), each row
    normalised to mean 0, std 1."""
    n, cell = THUMBNAIL_SIZE, X.shape[1] // THUMBNAIL_SIZE
    t = X.reshape(len(X), n, cell, n, cell).mean(axis=(2, 4)).reshape(len(X), -1)
    t = t - t.mean(axis=1, keepdims=True)
    return (t / (t.std(axis=1, keepdims=True) + 1e-6)).astype(np.float32)


def near_duplicate_groups(X, link_distance=LINK_DISTANCE, chunk=1024):
    """Group id [N] per row: connected components of the 'closer than
    link_distance' graph. Memory stays at chunk x N distances."""
    t = thumbnails(X)
    n, dim = t.shape
    sq = (t ** 2).sum(axis=1)
    parent = np.arange(n)

    def root(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    limit = link_distance ** 2 * dim
    for lo in range(0, n, chunk):
        d2 = sq[lo:lo + chunk, None] + sq[None, :] - 2 * t[lo:lo + chunk] @ t.T
        ii, jj = np.nonzero(d2 < limit)
        for a, b in zip(ii + lo, jj):
            if a < b:
                ra, rb = root(a), root(b)
                if ra != rb:
                    parent[ra] = rb
    return np.array([root(a) for a in range(n)])


def group_split(X, fraction, seed):
    """(train_rows, valid_rows): whole groups, in random order, go to
    validation until it holds at least `fraction` of the rows."""
    groups = near_duplicate_groups(X)
    ids = np.unique(groups)
    np.random.default_rng([seed, 12345]).shuffle(ids)   # 12345: apart from the run's stream
    sizes = np.bincount(np.searchsorted(np.unique(groups), groups))
    order_sizes = sizes[np.searchsorted(np.unique(groups), ids)]
    take = ids[:np.searchsorted(np.cumsum(order_sizes), fraction * len(X)) + 1]
    valid = np.isin(groups, take)
    return np.flatnonzero(~valid), np.flatnonzero(valid)
