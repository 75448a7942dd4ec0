"""Kaggle's submission: IdLookupTable.csv in, submit.csv out.

The post's last lines, as what both ways of predicting test.csv share
(predict.py with the post's network, serving/predictor.py with any other model):
the checks made before anything is predicted, the lookup table, and
submit.csv written so that an interrupted run never leaves a broken one.
"""

import io
import os

import numpy as np
import pandas as pd

from .constants import KEYPOINT_COLUMNS, LOOKUP_FILE, TEST_FILE, keypoint_index
from .data import find_data_file
from .files.csvfiles import no_duplicates, read_table, whole_numbers
from .files.fileio import (atomic_write_text, not_a_file, refuse_overwriting_inputs,
                           refuse_replacing_another_table)
from .runs import record
from .runs.errors import UserError

LOOKUP_COLUMNS = ['RowId', 'ImageId', 'FeatureName']
HEADER = 'RowId,Location'


def lookup_path(data_dir):
    return os.path.join(data_dir, LOOKUP_FILE)


def input_files(data_dir, lookup_file, output, model_dir):
    """(test.csv's path, the lookup table's path), once output is known to be
    writable without harm: not an input, not a file of the model, in a folder
    that exists, not a file of the user's that shares its name. Every refusal is
    a UserError."""
    lookup_file = lookup_file or lookup_path(data_dir)
    test_file = find_data_file(data_dir, TEST_FILE)
    refuse_overwriting_inputs(output, [test_file, lookup_file])
    record.refuse_run_file(output, model_dir)
    out_dir = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(out_dir):
        raise UserError('cannot write {}: folder {} does not exist.'.format(output, out_dir))
    if os.path.isdir(output):
        raise UserError('--output {} is a folder; give a file name such as submit.csv.'.format(
            output))
    refuse_replacing_another_table(output, HEADER, what='a submission')
    return test_file, lookup_file


def read_lookup_table(path, image_ids):
    """Read IdLookupTable.csv (Kaggle's: a 4-name header over 3-field rows).

    image_ids: the ImageId of each test image, in test.csv order.
    Returns (row_ids int64 [M], image_rows int64 [M] indexing the test images,
    feature_indices int64 [M] indexing the 30 outputs), in the file's order.
    """
    if not_a_file(path):
        raise UserError('lookup table {} {}.'.format(path, not_a_file(path)))
    df = read_table(path, LOOKUP_COLUMNS)
    lines = df.index.to_numpy() + 2
    row_ids = whole_numbers(df, 'RowId', path, lines)
    no_duplicates(row_ids, 'RowId', path, lines)
    lookup_images = whole_numbers(df, 'ImageId', path, lines)
    features = df['FeatureName'].fillna('').str.strip()
    known = features.isin(keypoint_index).to_numpy()
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise UserError('{} line {}: unknown FeatureName {!r}.'.format(
            path, lines[i], features.iloc[i]))
    position = pd.Series(np.arange(len(image_ids)), index=image_ids)
    image_rows = position.reindex(lookup_images).to_numpy()
    missing = np.isnan(image_rows.astype(float))
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise UserError('{} line {}: ImageId {} is not in the test set.'.format(
            path, lines[i], lookup_images[i]))
    return (row_ids, image_rows.astype(np.int64),
            features.map(keypoint_index).to_numpy().astype(np.int64))


def submission_text(y_pred, image_ids, lookup_file):
    """The submit.csv text: header RowId,Location, one row per lookup row.

    y_pred: keypoints in pixels [N, 30] for the test images whose ImageIds
    are image_ids, in that order.
    """
    row_ids, image_rows, features = read_lookup_table(lookup_file, image_ids)
    locations = y_pred[image_rows, features]
    if not np.isfinite(locations).all():    # Kaggle scores no NaN; a submission never holds one
        i = int(np.flatnonzero(~np.isfinite(locations))[0])
        raise UserError('the model predicts {} for {} of ImageId {}; nothing was written (train '
                        'it again).'.format(locations[i], KEYPOINT_COLUMNS[features[i]],
                                            image_ids[image_rows[i]]))
    out = io.StringIO()
    out.write(HEADER + '\n')
    for row_id, loc in zip(row_ids, locations):
        out.write('{},{}\n'.format(row_id, repr(float(loc))))
    return out.getvalue()


def save_submission(output, y_pred, image_ids, lookup_file, log=print):
    """Write submission_text() to output, under a temporary name first."""
    text = submission_text(y_pred, image_ids, lookup_file)
    atomic_write_text(output, text)
    log('wrote {} ({} rows)'.format(output, text.count('\n') - 1))
