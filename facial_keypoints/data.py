"""Kaggle's CSV files in, numpy arrays out. No TensorFlow here.

Units: images leave this module as float32 in [0, 1] (pixels / 255) shaped
[N, 96, 96, 1]; keypoints as float32 in [0, 1] (pixel index / 96) shaped
[N, 30], NaN where a row lacks a value. The scaling and its inverse are
defined once, side by side, below.
"""

import gzip
import io
import mmap
import os
import re
import zipfile
import zlib

import numpy as np
import pandas as pd

from .constants import (IMAGE_SIZE, KEYPOINT_COLUMNS, LOOKUP_FILE, PIXEL_MAX,
                        TEST_FILE, TRAIN_FILE, keypoint_index)
from .cache import cached_arrays
from .errors import UserError, first_line

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
            path, first_line(e)))
    except UnicodeDecodeError:
        raise UserError('{} is not a text CSV file (it is not UTF-8).'.format(path))
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, ValueError) as e:
        raise UserError('cannot read {}: {} (is it truncated or damaged?).'.format(
            path, first_line(e)))
    _check_duplicate_columns(df, path)
    return df


def _compression(path):
    if path.endswith('.zip'):
        try:
            with zipfile.ZipFile(path) as z:
                csvs = [n for n in z.namelist() if n.endswith('.csv')]
        except (zipfile.BadZipFile, OSError) as e:
            raise UserError('cannot read {}: {}.'.format(path, first_line(e)))
        if len(csvs) != 1:
            raise UserError('{} should hold exactly one .csv file, it holds {}.'.format(
                path, len(csvs)))
        return 'zip'
    return 'infer'


def _check_duplicate_columns(df, path):
    # pandas renames a repeated header name "a" to "a.1"; undo that to report it.
    names = list(df.columns)
    for name in names:
        m = re.match(r'^(.*)\.(\d+)$', str(name))
        if m and m.group(1) in names:
            raise UserError('{} has the column {} more than once.'.format(
                path, m.group(1)))


def _read_bytes(path, mapped=False):
    """The file's bytes, decompressed (.gz, or the one .csv in Kaggle's .zip).

    mapped: give an uncompressed, non-empty file as a read-only mmap (it
    supports find, rfind, slicing and indexing like bytes), so the text is
    never copied whole; only the parts read are.
    """
    try:
        if mapped and not path.endswith(('.gz', '.zip')) and os.path.getsize(path) > 0:
            with open(path, 'rb') as f:
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if path.endswith('.gz'):
            with open(path, 'rb') as f:         # in one call: faster than gzip.open's reads
                return gzip.decompress(f.read())
        if path.endswith('.zip'):
            _compression(path)          # checks it holds exactly one .csv
            with zipfile.ZipFile(path) as z:
                name = [n for n in z.namelist() if n.endswith('.csv')][0]
                return z.read(name)
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        raise UserError('{} does not exist.'.format(path))
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise UserError('cannot read {}: {} (is it truncated or damaged?).'.format(
            path, first_line(e)))


class Table:
    """A Kaggle CSV: its small columns as a DataFrame (`head`, every column but
    Image), the file line of each data row (`lines`), and its Image fields,
    parsed on demand by pixels(rows) -> uint8 [len(rows), 9216]."""

    def __init__(self, path, head, lines, pixels):
        self.path, self.head, self.lines, self._pixels = path, head, lines, pixels

    def pixels(self, rows):
        return self._pixels(np.asarray(rows, np.int64))


def read_table(path):
    """Read a Kaggle CSV whose last column is Image.

    The fast path splits each line at its last comma: pandas parses only the
    short part before it, and the Image text goes straight from the file's
    bytes to numpy (no Python string per image). Files it cannot split that
    way (quoted fields, Image not last) go through pandas whole.
    """
    raw = _read_bytes(path, mapped=True)
    begin = 3 if raw[:3] == b'\xef\xbb\xbf' else 0           # a UTF-8 BOM
    header_end = raw.find(b'\n', begin)
    first = raw[begin:len(raw) if header_end < 0 else header_end].rstrip(b'\r')
    if raw.find(b'"', begin) >= 0 or not first.endswith(b',Image'):
        return _pandas_table(path)      # (which also reports empty files)
    try:
        names = first.decode('utf-8').split(',')
    except UnicodeDecodeError:
        raise UserError('{} is not a text CSV file (it is not UTF-8).'.format(path))
    _check_names(names, path)
    # Each line's end and last comma, found with bytes.find/rfind (memchr):
    # several times faster than numpy passes over the whole file.
    find, rfind = raw.find, raw.rfind
    starts, image_starts, ends, file_lines = [], [], [], []
    n, pos, line = len(raw), header_end + 1, 1
    while 0 < pos < n:
        line += 1
        end = find(b'\n', pos)
        end = n if end < 0 else end
        content_end = end - 1 if end > pos and raw[end - 1] == 13 else end   # 13: CR
        if content_end > pos:                    # (blank lines are skipped)
            last = rfind(b',', pos, content_end)
            fields = 1 if last < 0 else raw[pos:last].count(b',') + 2
            if fields != len(names):
                raise UserError('{} line {} has {} fields, expected {}{}.'.format(
                    path, line, fields, len(names),
                    ' (is the row cut short?)' if fields < len(names) else ''))
            starts.append(pos)
            image_starts.append(last + 1)
            ends.append(end)
            file_lines.append(line)
        pos = end + 1
    file_lines = np.array(file_lines, np.int64)
    small = b'\n'.join([first[:first.rindex(b',')]] +
                        [raw[a:b - 1] for a, b in zip(starts, image_starts)])
    try:
        head = pd.read_csv(io.BytesIO(small), encoding='utf-8', dtype=str)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as e:
        raise UserError('{} is not a well-formed CSV file: {}.'.format(path, first_line(e)))

    def pixels(rows):
        out = np.empty((len(rows), PIXELS_PER_IMAGE), np.uint8)
        for lo in range(0, len(rows), CHUNK_ROWS):
            chunk = rows[lo:lo + CHUNK_ROWS]
            blob = b'\n'.join([raw[image_starts[r]:ends[r]] for r in chunk]) + b'\n'
            out[lo:lo + len(chunk)] = _parse_blob(blob, path, file_lines[chunk])
        return out
    return Table(path, head, file_lines, pixels)


def _pandas_table(path):
    df = read_csv(path)
    lines = np.arange(len(df)) + 2
    images = df.pop('Image').to_numpy() if 'Image' in df.columns else None

    def pixels(rows):
        return parse_images(images[rows], path, lines[rows])
    return Table(path, df, lines, pixels)


def _check_names(names, path):
    seen = set()
    for name in names:
        if name in seen:
            raise UserError('{} has the column {} more than once.'.format(path, name))
        seen.add(name)


# ---- images ----------------------------------------------------------------

def parse_images(images, path, lines=None):
    """Image strings -> uint8 pixels [N, 9216], checking each one.

    images: sequence of str, each 9,216 space-separated integers 0..255.
    lines: the file line of each string (for messages; default 2, 3, ...).
    """
    images = list(images)
    lines = np.arange(len(images)) + 2 if lines is None else np.asarray(lines)
    for i, s in enumerate(images):
        if not isinstance(s, str):
            raise UserError('{} line {}: the Image field is empty.'.format(path, lines[i]))
    out = np.empty((len(images), PIXELS_PER_IMAGE), np.uint8)
    for lo in range(0, len(images), CHUNK_ROWS):
        hi = min(lo + CHUNK_ROWS, len(images))
        blob = ('\n'.join(images[lo:hi]) + '\n').encode('ascii', errors='replace')
        out[lo:hi] = _parse_blob(blob, path, lines[lo:hi])
    return out


# Rows parsed at once: 64 images (about 2 MB of text) keep every temporary
# array in the CPU's cache, which makes the passes below several times faster
# than over whole files.
CHUNK_ROWS = 64
_DIGITS_AND_SEPARATORS = b'0123456789 \t\r\n'


def _parse_blob(blob, path, lines):
    """Pixels of len(lines) images held in blob, one per '\n'-ended line
    (lines: their file lines, for messages) -> uint8 [len(lines), 9216].

    Reads digits with numpy instead of float-parsing each string (the post's
    np.fromstring): the values are small integers, so this is exact and many
    times faster. Each number ends where a digit is followed by a separator;
    its value is read from the (at most three) bytes before that end. Every
    malformed value is reported with its file line.
    """
    pad = 3         # separators in front, so the three bytes before any end exist
    buf = np.frombuffer(b' ' * pad + blob, np.uint8)
    newlines = np.flatnonzero(buf == ord('\n')) - pad
    junk = blob.translate(None, _DIGITS_AND_SEPARATORS)
    if junk:
        pos = blob.index(junk[:1])
        i = int(np.searchsorted(newlines, pos))
        raise UserError('{} line {}: the Image holds {!r}, not a whole number '
                        '0..255.'.format(path, lines[i], _token_at(blob, pos)))
    d = buf - np.uint8(ord('0'))             # digit values; separators wrap to >= 10
    digit = d < 10
    # e: where each number's last digit is, minus pad (so d[pad:][e] is that digit)
    e = np.flatnonzero(np.greater(digit[pad:-1], digit[pad + 1:]))
    counts = np.diff(np.searchsorted(e, newlines), prepend=0)
    wrong = np.flatnonzero(counts != PIXELS_PER_IMAGE)
    if wrong.size:
        i = int(wrong[0])
        raise UserError('{} line {}: the Image has {} values, expected {} '
                        '(96x96).'.format(path, lines[i], counts[i], PIXELS_PER_IMAGE))
    tens = d[pad - 1:].take(e)
    has_tens = tens < 10
    hundreds = d[pad - 2:].take(e)
    has_hundreds = has_tens & (hundreds < 10)
    values = d[pad:].take(e).astype(np.int16)
    values += np.where(has_tens, tens, 0).astype(np.int16) * np.int16(10)
    values += np.where(has_hundreds, hundreds, 0).astype(np.int16) * np.int16(100)
    too_long = has_hundreds & (d.take(e) < 10)
    bad = np.flatnonzero(too_long | (values > PIXEL_MAX))
    if bad.size:
        j = int(bad[0])
        raise UserError('{} line {}: the Image holds {}, outside 0..255.'.format(
            path, lines[j // PIXELS_PER_IMAGE], _token_at(blob, int(e[j]))))
    return values.astype(np.uint8).reshape(len(lines), PIXELS_PER_IMAGE)


def _token_at(blob, pos):
    lo = pos
    while lo > 0 and blob[lo - 1:lo] not in (b' ', b'\n'):
        lo -= 1
    hi = pos
    while hi < len(blob) and blob[hi:hi + 1] not in (b' ', b'\n') and hi - lo < 20:
        hi += 1
    return blob[lo:hi].decode('ascii', errors='replace')


# ---- the data sets -----------------------------------------------------------

def load_training(data_dir='.', dropna=True, cache=True):
    """Read training.csv from data_dir.

    Returns (pixels uint8 [N, 9216], keypoints float32 in pixels [N, 30] with
    NaN where missing). dropna=True keeps only complete rows, as the post does.
    cache: reuse the arrays parsed from this very file before (cache.py).
    """
    path = find_data_file(data_dir, TRAIN_FILE)
    if cache:
        a = cached_arrays(path, 'train-dropna' if dropna else 'train-all',
                          lambda: dict(zip(('pixels', 'points'),
                                           load_training(data_dir, dropna, cache=False))))
        return a['pixels'], a['points']
    table = read_table(path)
    _check_columns(table.head, path, KEYPOINT_COLUMNS, 'Image')
    if table.head.empty:
        raise UserError('{} has a header but no data rows.'.format(path))
    points = _numeric_columns(table, KEYPOINT_COLUMNS)
    keep = np.ones(len(points), bool)
    if dropna:
        # dropna(): 丢弃有缺失数据的样本 -- only rows with all 30 values.
        keep = ~np.isnan(points).any(axis=1)
        if not keep.any():
            raise UserError('{} has no complete rows (every row lacks some of the '
                            '30 keypoints).'.format(path))
    rows = np.flatnonzero(keep)
    return table.pixels(rows), points[rows]


def load_test(data_dir='.', cache=True):
    """Read test.csv: returns (pixels uint8 [N, 9216], ImageId int64 [N])."""
    path = find_data_file(data_dir, TEST_FILE)
    if cache:
        a = cached_arrays(path, 'test', lambda: dict(zip(('pixels', 'ids'),
                                                         load_test(data_dir, cache=False))))
        return a['pixels'], a['ids']
    table = read_table(path)
    _check_columns(table.head, path, ['ImageId'], 'Image')
    if table.head.empty:
        raise UserError('{} has a header but no data rows.'.format(path))
    ids = _integer_column(table.head, path, 'ImageId', table.lines)
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise UserError('{} line {}: ImageId {} appears more than once.'.format(
            path, table.lines[i], ids[i]))
    return table.pixels(np.arange(len(ids))), ids


def input_data(test=False, data_dir='.', dropna=True, cache=True):
    """The post's input_data(): returns (X, y).

    X: float32 [N, 96, 96, 1], pixels / 255.
    y: float32 [N, 30], keypoints / 96 (NaN where missing, only when
       dropna=False); None when test=True.
    """
    if test:
        pixels, _ = load_test(data_dir, cache)
        return scale_images(pixels), None
    pixels, points = load_training(data_dir, dropna=dropna, cache=cache)
    return scale_images(pixels), scale_keypoints(points)


def _check_columns(df, path, expected, image=None):
    """df must hold exactly the expected columns (plus Image, read apart)."""
    names = list(df.columns) + ([image] if image and image not in df.columns else [])
    expected = expected + ([image] if image else [])
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    if missing:
        raise UserError('{} lacks the column{} {}.'.format(
            path, 's' if len(missing) > 1 else '', ', '.join(missing)))
    if extra:
        raise UserError('{} has unexpected column{} {}.'.format(
            path, 's' if len(extra) > 1 else '', ', '.join(map(str, extra))))


def _numeric_columns(table, columns):
    df, path = table.head, table.path
    out = np.empty((len(df), len(columns)), np.float32)
    for j, c in enumerate(columns):
        values = pd.to_numeric(df[c], errors='coerce')
        bad = values.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError('{} line {}: {} is {!r}, not a number.'.format(
                path, table.lines[i], c, df[c].iloc[i]))
        out[:, j] = values.to_numpy(np.float32)
    inf = ~np.isfinite(out) & ~np.isnan(out)
    if inf.any():
        i, j = np.argwhere(inf)[0]
        raise UserError('{} line {}: {} is not finite.'.format(
            path, table.lines[i], columns[j]))
    return out


def _integer_column(df, path, column, lines):
    values = pd.to_numeric(df[column], errors='coerce')
    bad = values.isna() | (values != np.floor(values))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError('{} line {}: {} is {!r}, not a whole number.'.format(
            path, lines[i], column, df[column].iloc[i]))
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
    lines = np.arange(len(df)) + 2
    row_ids = _integer_column(df, path, 'RowId', lines)
    lookup_images = _integer_column(df, path, 'ImageId', lines)
    features = df['FeatureName'].astype(str).str.strip()
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


def lookup_path(data_dir):
    return os.path.join(data_dir, LOOKUP_FILE)
