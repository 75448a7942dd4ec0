"""Kaggle's CSV files in, numpy arrays out. No TensorFlow here.

Units: images leave this module as float32 in [0, 1] (pixels / 255) shaped
[N, 96, 96, 1]; keypoints as float32 in [0, 1] (pixel index / 96) shaped
[N, 30], NaN where a row lacks a value. The scaling and its inverse are
defined once, side by side, below.
"""

import os
import re
import zipfile
import zlib

import numpy as np
import pandas as pd

from .constants import (IMAGE_SIZE, KEYPOINT_COLUMNS, LOOKUP_FILE, PIXEL_MAX,
                        TEST_FILE, TRAIN_FILE, keypoint_index)
from .errors import UserError

PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE   # 9,216 values in each Image field


# ---- scaling, and its inverse -------------------------------------------

def scale_images(pixels):
    """uint8/float pixels 0..255, [N, 9216] -> float32 [N, 96, 96, 1] in [0, 1]."""
    return (np.asarray(pixels, np.float32) / np.float32(PIXEL_MAX)).reshape(
        -1, IMAGE_SIZE, IMAGE_SIZE, 1)


def scale_keypoints(points):
    """Keypoints in pixels [N, 30] -> float32 in [0, 1] (the post's y / 96)."""
    return np.asarray(points, np.float32) / np.float32(IMAGE_SIZE)


def unscale_keypoints(y):
    """Model outputs in [0, 1] [N, 30] -> pixels (the post's y_pred * 96)."""
    return np.asarray(y, np.float32) * np.float32(IMAGE_SIZE)


# ---- finding and reading files -------------------------------------------

def find_data_file(data_dir, file_name):
    """Path of file_name in data_dir, also accepting .csv.gz and Kaggle's .zip.

    Raises UserError naming every place it looked.
    """
    stem = file_name[:-len('.csv')] if file_name.endswith('.csv') else file_name
    candidates = [file_name, file_name + '.gz', stem + '.zip']
    for name in candidates:
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    if not os.path.isdir(data_dir):
        raise UserError('data folder {} does not exist.'.format(data_dir))
    raise UserError('no {} in {} (also looked for {}).'.format(
        file_name, data_dir, ' and '.join(candidates[1:])))


def read_csv(path):
    """Read a Kaggle CSV with pandas, whatever its line endings, BOM or
    compression; every failure becomes a UserError naming the file."""
    try:
        df = pd.read_csv(path, encoding='utf-8-sig', dtype={'Image': str},
                         compression=_compression(path))
    except pd.errors.EmptyDataError:
        raise UserError('{} is empty.'.format(path))
    except FileNotFoundError:
        raise UserError('{} does not exist.'.format(path))
    except pd.errors.ParserError as e:
        raise UserError('{} is not a well-formed CSV file: {}.'.format(
            path, _first_line(e)))
    except UnicodeDecodeError:
        raise UserError('{} is not a text CSV file (it is not UTF-8).'.format(path))
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, ValueError) as e:
        raise UserError('cannot read {}: {} (is it truncated or damaged?).'.format(
            path, _first_line(e)))
    _check_duplicate_columns(df, path)
    return df


def _compression(path):
    if path.endswith('.zip'):
        try:
            with zipfile.ZipFile(path) as z:
                csvs = [n for n in z.namelist() if n.endswith('.csv')]
        except (zipfile.BadZipFile, OSError) as e:
            raise UserError('cannot read {}: {}.'.format(path, _first_line(e)))
        if len(csvs) != 1:
            raise UserError('{} should hold exactly one .csv file, it holds {}.'.format(
                path, len(csvs)))
        return 'zip'
    return 'infer'


def _first_line(e):
    text = str(e).strip().splitlines()
    return text[0].rstrip('.') if text else type(e).__name__


def _check_duplicate_columns(df, path):
    # pandas renames a repeated header name "a" to "a.1"; undo that to report it.
    names = list(df.columns)
    for name in names:
        m = re.match(r'^(.*)\.(\d+)$', str(name))
        if m and m.group(1) in names:
            raise UserError('{} has the column {} more than once.'.format(
                path, m.group(1)))


def _line(row):
    """File line of 0-based data row `row` (line 1 is the header)."""
    return row + 2


# ---- images ----------------------------------------------------------------

def parse_images(images, path, rows=None):
    """Image strings -> uint8 pixels [N, 9216], checking each one.

    images: sequence of str, each 9,216 space-separated integers 0..255.
    rows: the 0-based data row of each string (for messages).

    Parses bytes with numpy in chunks rather than float-parsing each string
    (the post's np.fromstring): the values are small integers, so reading
    digits is exact and many times faster, and memory stays bounded.
    """
    images = list(images)
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    out = np.empty((len(images), PIXELS_PER_IMAGE), np.uint8)
    chunk = 256
    for lo in range(0, len(images), chunk):
        hi = min(lo + chunk, len(images))
        out[lo:hi] = _parse_chunk(images[lo:hi], path, rows[lo:hi])
    return out


def _parse_chunk(images, path, rows):
    for i, s in enumerate(images):
        if not isinstance(s, str):
            raise UserError('{} line {}: the Image field is empty.'.format(
                path, _line(rows[i])))
    text = '\n'.join(images) + '\n'
    buf = np.frombuffer(text.encode('ascii', errors='replace'), np.uint8)
    is_digit = (buf >= ord('0')) & (buf <= ord('9'))
    is_space = (buf == ord(' ')) | (buf == ord('\n')) | (buf == ord('\t')) | (buf == ord('\r'))
    newlines = np.flatnonzero(buf == ord('\n'))
    bad = np.flatnonzero(~(is_digit | is_space))
    if bad.size:
        i = int(np.searchsorted(newlines, bad[0]))
        token = _token_at(text, int(bad[0]))
        raise UserError('{} line {}: the Image holds {!r}, not a whole number '
                        '0..255.'.format(path, _line(rows[i]), token))
    # A token starts at a digit whose left neighbour is not a digit.
    prev = np.concatenate(([False], is_digit[:-1]))
    nxt = np.concatenate((is_digit[1:], [False]))
    starts = np.flatnonzero(is_digit & ~prev)
    ends = np.flatnonzero(is_digit & ~nxt) + 1
    lengths = ends - starts
    counts = np.bincount(np.searchsorted(newlines, starts), minlength=len(images))
    wrong = np.flatnonzero(counts != PIXELS_PER_IMAGE)
    if wrong.size:
        i = int(wrong[0])
        raise UserError('{} line {}: the Image has {} values, expected {} '
                        '(96x96).'.format(path, _line(rows[i]), counts[i],
                                          PIXELS_PER_IMAGE))
    digits = buf.astype(np.int32) - ord('0')
    values = np.zeros(starts.size, np.int32)
    for k in range(int(lengths.max())):
        has = lengths > k
        values[has] = values[has] * 10 + digits[starts[has] + k]
    too_big = np.flatnonzero(values > PIXEL_MAX)
    if too_big.size:
        j = int(too_big[0])
        i = j // PIXELS_PER_IMAGE
        raise UserError('{} line {}: the Image holds {}, outside 0..255.'.format(
            path, _line(rows[i]), text[starts[j]:ends[j]]))
    return values.reshape(len(images), PIXELS_PER_IMAGE).astype(np.uint8)


def _token_at(text, pos):
    lo = max(text.rfind(' ', 0, pos), text.rfind('\n', 0, pos)) + 1
    hi = min([p for p in (text.find(' ', pos), text.find('\n', pos)) if p >= 0]
             or [len(text)])
    return text[lo:hi][:20]


# ---- the data sets -----------------------------------------------------------

def load_training(data_dir='.', dropna=True):
    """Read training.csv from data_dir.

    Returns (pixels uint8 [N, 9216], keypoints float32 in pixels [N, 30] with
    NaN where missing). dropna=True keeps only complete rows, as the post does.
    """
    path = find_data_file(data_dir, TRAIN_FILE)
    df = read_csv(path)
    _check_columns(df, path, KEYPOINT_COLUMNS + ['Image'])
    if df.empty:
        raise UserError('{} has a header but no data rows.'.format(path))
    points = _numeric_columns(df, path, KEYPOINT_COLUMNS)
    no_image = df['Image'].isna().to_numpy()
    if no_image.any():
        # A row without an Image is malformed (often cut short), whatever dropna says.
        raise UserError('{} line {}: the Image field is empty (is the row cut short?).'
                        .format(path, _line(int(np.flatnonzero(no_image)[0]))))
    keep = np.ones(len(df), bool)
    if dropna:
        # dropna(): 丢弃有缺失数据的样本 -- only rows with all 30 values.
        keep = ~np.isnan(points).any(axis=1)
        if not keep.any():
            raise UserError('{} has no complete rows (every row lacks some of the '
                            '30 keypoints).'.format(path))
    rows = np.flatnonzero(keep)
    pixels = parse_images(df['Image'].to_numpy()[rows], path, rows)
    return pixels, points[rows]


def load_test(data_dir='.'):
    """Read test.csv: returns (pixels uint8 [N, 9216], ImageId int64 [N])."""
    path = find_data_file(data_dir, TEST_FILE)
    df = read_csv(path)
    _check_columns(df, path, ['ImageId', 'Image'])
    if df.empty:
        raise UserError('{} has a header but no data rows.'.format(path))
    ids = _integer_column(df, path, 'ImageId')
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise UserError('{} line {}: ImageId {} appears more than once.'.format(
            path, _line(i), ids[i]))
    return parse_images(df['Image'].to_numpy(), path), ids


def input_data(test=False, data_dir='.', dropna=True):
    """The post's input_data(): returns (X, y).

    X: float32 [N, 96, 96, 1], pixels / 255.
    y: float32 [N, 30], keypoints / 96 (NaN where missing, only when
       dropna=False); None when test=True.
    """
    if test:
        pixels, _ = load_test(data_dir)
        return scale_images(pixels), None
    pixels, points = load_training(data_dir, dropna=dropna)
    return scale_images(pixels), scale_keypoints(points)


def _check_columns(df, path, expected):
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected]
    if missing:
        raise UserError('{} lacks the column{} {}.'.format(
            path, 's' if len(missing) > 1 else '', ', '.join(missing)))
    if extra:
        raise UserError('{} has unexpected column{} {}.'.format(
            path, 's' if len(extra) > 1 else '', ', '.join(map(str, extra))))


def _numeric_columns(df, path, columns):
    out = np.empty((len(df), len(columns)), np.float32)
    for j, c in enumerate(columns):
        values = pd.to_numeric(df[c], errors='coerce')
        bad = values.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError('{} line {}: {} is {!r}, not a number.'.format(
                path, _line(i), c, df[c].iloc[i]))
        out[:, j] = values.to_numpy(np.float32)
    inf = ~np.isfinite(out) & ~np.isnan(out)
    if inf.any():
        i, j = np.argwhere(inf)[0]
        raise UserError('{} line {}: {} is not finite.'.format(path, _line(i), columns[j]))
    return out


def _integer_column(df, path, column):
    values = pd.to_numeric(df[column], errors='coerce')
    bad = values.isna() | (values != np.floor(values))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError('{} line {}: {} is {!r}, not a whole number.'.format(
            path, _line(i), column, df[column].iloc[i]))
    return values.to_numpy().astype(np.int64)


# ---- the lookup table ----------------------------------------------------------

def read_lookup_table(path, image_ids):
    """Read IdLookupTable.csv (Kaggle's: a 4-name header over 3-field rows).

    image_ids: the ImageId of each test image, in test.csv order.
    Returns (row_ids int64 [M], image_rows int64 [M] indexing the test images,
    feature_indices int64 [M] indexing the 30 outputs), in the file's order.
    """
    if not os.path.isfile(path):
        raise UserError('lookup table {} does not exist.'.format(path))
    df = read_csv(path)
    for c in ('RowId', 'ImageId', 'FeatureName'):
        if c not in df.columns:
            raise UserError('{} lacks the column {}.'.format(path, c))
    if df.empty:
        raise UserError('{} has a header but no data rows.'.format(path))
    row_ids = _integer_column(df, path, 'RowId')
    lookup_images = _integer_column(df, path, 'ImageId')
    features = df['FeatureName'].astype(str).str.strip()
    known = features.isin(keypoint_index).to_numpy()
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise UserError('{} line {}: unknown FeatureName {!r}.'.format(
            path, _line(i), features.iloc[i]))
    position = pd.Series(np.arange(len(image_ids)), index=image_ids)
    image_rows = position.reindex(lookup_images).to_numpy()
    missing = np.isnan(image_rows.astype(float))
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise UserError('{} line {}: ImageId {} is not in the test set.'.format(
            path, _line(i), lookup_images[i]))
    return (row_ids, image_rows.astype(np.int64),
            features.map(keypoint_index).to_numpy().astype(np.int64))


def lookup_path(data_dir):
    return os.path.join(data_dir, LOOKUP_FILE)
