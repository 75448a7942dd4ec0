"""Pictures of a training run: learning curves and validation faces.

Each is drawn on its own matplotlib Figure with an Agg canvas, so the
caller's matplotlib (its backend, pyplot's figures) is left alone.
matplotlib is an optional extra (requirements-extra.txt): training works
without it and says how to get the pictures.
"""

import io

import numpy as np

from ..constants import IMAGE_SIZE
from ..files.fileio import atomic_write_bytes

FACES = 16          # validation faces drawn


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(**kw):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(**kw)
    FigureCanvasAgg(fig)
    return fig


def learning_curve(history, path, kept_epoch, scored='validation', kept='best'):
    """Training and validation RMSE (pixels) per epoch, the kept epoch marked.
    scored, kept: what the validation line and the mark are called."""
    from matplotlib import ticker
    epochs = [h['epoch'] for h in history]
    fig = _figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(epochs, [h['train_rmse_px'] for h in history],
            label='training (its batches, dropout on)')
    ax.plot(epochs, [h['validation_rmse_px'] for h in history], label=scored)
    for h in history:
        if h['epoch'] == kept_epoch:
            ax.scatter([kept_epoch], [h['validation_rmse_px']], color='k', zorder=3,
                       label='{} {:.3f} px'.format(kept, h['validation_rmse_px']))
    ax.set_xlabel('epoch')
    ax.set_ylabel('RMSE (pixels)')
    ax.set_yscale('log')
    ax.yaxis.set_major_formatter(ticker.FormatStrFormatter('%g'))
    ax.yaxis.set_minor_formatter(ticker.FormatStrFormatter('%g'))
    ax.grid(True, which='both', alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)


def validation_faces(X, y_true, y_pred, path, scored='validation', n=FACES):
    """A grid of the first n validation faces (or what scored says they are):
    true keypoints green, predicted red.

    X: [N, 96, 96, 1] in [0, 1]; y_true, y_pred: pixels [N, 30] (NaN = unknown).
    """
    n = min(n, len(X))
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig = _figure(figsize=(2 * cols, 2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis('off')
        if k >= n:
            continue
        ax.imshow(X[k, :, :, 0], cmap='gray', vmin=0, vmax=1)
        ax.scatter(y_true[k, 0::2], y_true[k, 1::2], s=8, c='lime', marker='o')
        ax.scatter(y_pred[k, 0::2], y_pred[k, 1::2], s=8, c='red', marker='x')
        ax.set_xlim(-0.5, IMAGE_SIZE - 0.5)
        ax.set_ylim(IMAGE_SIZE - 0.5, -0.5)
    fig.suptitle('{} faces: true (green o), predicted (red x)'.format(scored))
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path):
    # Through a temporary name, like every other output.
    png = io.BytesIO()
    fig.savefig(png, format='png', dpi=100)
    atomic_write_bytes(path, png.getvalue())
