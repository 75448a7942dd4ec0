"""Validation RMSE against training minutes, from model folders' history.json.

    python bench/time_to_accuracy.py RUN [RUN ...] [--minutes 10 20 30 40 50 60]
    python bench/time_to_accuracy.py RUN RUN --epoch-seconds 20.4 24.3

For each model folder: the best validation RMSE reached by each number of
minutes of training (the epochs' own seconds, added up; the time spent
reading the data and building the graph is not in them), and the epoch it
came from. Runs trained side by side share the machine, so compare runs of
one sitting, or give --epoch-seconds: each run's seconds an epoch, measured
alone in one sitting, instead of the seconds its history recorded.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from facial_keypoints.runs.jsonfiles import read_history  # noqa: E402


def best_by(history, minutes):
    """[(best validation RMSE (px) reached by then, its epoch) or None] for each of minutes."""
    elapsed = np.cumsum([e['seconds'] for e in history]) / 60
    out = []
    for m in minutes:
        done = [e for e, t in zip(history, elapsed) if t <= m]
        best = min(done, key=lambda e: e['validation_rmse_px']) if done else None
        out.append(best and (best['validation_rmse_px'], best['epoch']))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('runs', nargs='+', help='model folders')
    ap.add_argument('--minutes', type=float, nargs='+', default=[10, 20, 30, 40, 50, 60, 90])
    ap.add_argument('--epoch-seconds', type=float, nargs='+', metavar='S',
                    help='seconds an epoch, one for each run, instead of those recorded')
    args = ap.parse_args()
    if args.epoch_seconds and len(args.epoch_seconds) != len(args.runs):
        ap.error('give one --epoch-seconds for each run')
    minutes = ' | '.join('{:g} min'.format(m) for m in args.minutes)
    print('| run | ' + minutes + ' | epochs, minutes |')
    print('| --- ' * (len(args.minutes) + 2) + '|')
    for k, run in enumerate(args.runs):
        history = read_history(run)
        if args.epoch_seconds:
            history = [dict(e, seconds=args.epoch_seconds[k]) for e in history]
        cells = ['{:.4f} px (epoch {})'.format(*b) if b else '' for b in
                 best_by(history, args.minutes)]
        total = sum(e['seconds'] for e in history) / 60
        print('| {} | {} | {}, {:.0f} |'.format(os.path.basename(os.path.normpath(run)),
                                               ' | '.join(cells), len(history), total))


if __name__ == '__main__':
    main()
