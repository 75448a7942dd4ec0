"""The post's input_data(): Kaggle's CSV files in, numpy arrays out. No TensorFlow here.

Units: images leave this module as float32 in [0, 1] (pixels / 255) shaped
[N, 96, 96, 1]; keypoints as float32 in [0, 1] (pixel index / 96) shaped
[N, 30], NaN where a row lacks a value (the scaling: units.py). Reading and
checking the files quickly is files/csvfiles.py's job.
"""

import os

import numpy as np

from .constants import DATA_DIR, TEST_FILE, TRAIN_FILE
from .files.csvfiles import read_csv, stack_images
from .files.fileio import data_forms, not_a_file
from .runs.errors import UserError
from .units import scale_images, scale_keypoints


def input_data(test=False, data_dir=DATA_DIR, dropna=True, path=None):
    """The post's input_data(): returns (X, y).

    X: float32 [N, 96, 96, 1], pixels / 255.
    y: float32 [N, 30], keypoints / 96 (NaN where missing, only when
       dropna=False); None when test=True.
    path: the file to read, when the caller has found it already
    (find_data_file); by default training.csv or test.csv in data_dir.
    """
    file_name = path or find_data_file(data_dir, TEST_FILE if test else TRAIN_FILE)
    df = read_csv(file_name, test)      # checked, each Image already 9,216 pixels (csvfiles)
    cols = df.columns[:-1]
    # dropna()是丢弃有缺失数据的样本,这样最后7000多个样本只剩2140个可用的。
    if dropna:
        df = df.dropna()
    X = scale_images(stack_images(df['Image']))     # / 255.0, reshaped to (-1, 96, 96, 1)
    if test:
        y = None
    else:
        y = scale_keypoints(df[cols].values)        # 将y值缩放到[0,1]区间
    return X, y


def test_data(data_dir=DATA_DIR, path=None):
    """test.csv as (X float32 [N, 96, 96, 1] in [0, 1], ImageId int64 [N]):
    input_data(test=True) with each image's ImageId, which the lookup table names."""
    df = read_csv(path or find_data_file(data_dir, TEST_FILE), test=True)
    return scale_images(stack_images(df['Image'])), df['ImageId'].to_numpy(np.int64)


def reading(path):
    """The line that names the data file read, and the other forms of it lying
    beside it, which are not read (data_forms' order decides)."""
    folder, name = os.path.split(path)
    base = name[:-len('.gz')] if name.endswith('.gz') else \
        name[:-len('.zip')] + '.csv' if name.endswith('.zip') else name
    others = [n for n in data_forms(base) if n != name and os.path.isfile(os.path.join(folder, n))]
    return 'reading {}{}'.format(path, ' (not {}: {} comes first)'.format(
        ' or '.join(others), name) if others else '')


def find_data_file(data_dir, file_name):
    """Path of file_name in data_dir, also accepting .csv.gz and Kaggle's .zip,
    the first of data_forms() there.

    Raises UserError naming every place it looked (its .missing is True),
    or naming what is there instead of a file.
    """
    if os.path.isfile(data_dir):
        raise UserError('{} is a file, not a folder: give the folder that holds {}.'.format(
            data_dir, file_name))
    candidates = data_forms(file_name)
    for name in candidates:
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    for name in candidates:
        path = os.path.join(data_dir, name)
        if os.path.lexists(path):
            raise UserError('{} {}.'.format(path, not_a_file(path)))
    error = UserError('data folder {} does not exist.'.format(data_dir)
                      if not os.path.isdir(data_dir) else 'no {} in {} (also looked for {}).'
                      .format(file_name, data_dir, ' and '.join(candidates[1:])))
    error.missing = True
    raise error
