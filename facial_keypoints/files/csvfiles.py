"""Reading Kaggle's CSV files quickly and checking every value: what
data.input_data() calls instead of the post's pd.read_csv and
np.fromstring. A reader of the post may skip this module.

read_csv() gives a DataFrame as pd.read_csv would, with each Image already
parsed into 9,216 uint8 pixels, and caches the parsed arrays (files/cache.py).
Anything wrong in a file is a UserError naming the file and the line.
Also: .csv.gz and Kaggle's .zip, any line endings, a byte-order mark.
"""

import concurrent.futures
import gzip
import io
import os
import re
import zipfile
import zlib

import numpy as np
import pandas as pd

from ..constants import IMAGE_SIZE, KEYPOINT_COLUMNS, PIXEL_MAX
from ..runs.errors import UserError, reason
from .cache import cached_arrays

PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE   # 9,216 values in each Image field


def stack_images(images):
    """The post's np.vstack(df['Image']), which also takes no rows: uint8 [N, 9216]."""
    return np.vstack(images) if len(images) else np.zeros((0, PIXELS_PER_IMAGE), np.uint8)


# The columns each file must have; Image is read into pixel rows.
TRAIN_COLUMNS = KEYPOINT_COLUMNS + ['Image']
TEST_COLUMNS = ['ImageId', 'Image']
TEXT_COLUMNS = ('Image', 'ImageId', 'RowId')     # read as text, not as numbers


def read_csv(path, test=False):
    """A training.csv (or with test, a test.csv) as a DataFrame with the Image
    column turned into uint8 pixel rows (9,216 each), every value checked.

    Kaggle's column order whatever the file's; the index is each row's line in
    the file, minus 2. Parsed once: later calls read the cache (files/cache.py).
    """
    columns = TEST_COLUMNS if test else TRAIN_COLUMNS
    arrays = cached_arrays(path, lambda: _parse(path, columns))
    df = pd.DataFrame({c: arrays[c] for c in columns[:-1]}, index=arrays['index'])
    df['Image'] = list(arrays['pixels'])
    return df


def _parse(path, columns):
    df = read_table(path, columns[:-1] + ['Image'])
    lines = df.index.to_numpy() + 2
    out = {'index': df.index.to_numpy(np.int64)}
    if columns == TEST_COLUMNS:
        out['ImageId'] = whole_numbers(df, 'ImageId', path, lines)
        no_duplicates(out['ImageId'], 'ImageId', path, lines)
    else:
        for c in columns[:-1]:
            out[c] = _keypoint_column(df, c, path, lines)
    out['pixels'] = parse_images(df['Image'].to_numpy(), path, lines)
    return out


def read_table(path, required):
    """Read a Kaggle CSV with pandas, whatever its line endings, BOM or
    compression. Blank lines are dropped; the index stays the file line
    minus 2. Every failure is a UserError naming the file."""
    # pandas reads a plain file itself; archives are inflated here first.
    source = path if not path.endswith(('.gz', '.zip')) else io.BytesIO(_read_bytes(path))
    try:
        # Ids as text: read as numbers, pandas would take a long one through float64.
        df = pd.read_csv(source, encoding='utf-8-sig', dtype=dict.fromkeys(TEXT_COLUMNS, str),
                         skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise UserError('{} is empty.'.format(path))
    except UnicodeDecodeError:
        raw = _read_bytes(path)
        try:
            raw.decode('utf-8')
            raise UserError('{} is not a UTF-8 text file.'.format(path))
        except UnicodeDecodeError as e:
            raise UserError('{} line {} is not UTF-8 text (byte 0x{:02x}); save the file '
                            'as UTF-8.'.format(path, raw.count(b'\n', 0, e.start) + 1,
                                               raw[e.start]))
    except OSError as e:
        raise UserError('cannot read {}: {}.'.format(path, reason(e)))
    except pd.errors.ParserError as e:
        m = re.search(r'Expected (\d+) fields in line (\d+), saw (\d+)', str(e))
        if m:
            header = _read_bytes(path).split(b'\n', 1)[0].decode('utf-8', 'replace')
            raise UserError('{} line {} has {} fields, expected {}{}.'.format(
                path, m.group(2), m.group(3), m.group(1), _separator_hint(header)))
        raise UserError('{} is not a well-formed CSV file: {}.'.format(path, reason(e)))
    df.columns = [str(c).strip() for c in df.columns]
    _check_columns(df, path, required)
    df = df[required].dropna(how='all')
    if df.empty:
        raise UserError('{} has a header but no data rows.'.format(path))
    return df


def _read_bytes(path):
    """The file's bytes, decompressed (.gz, or the one .csv in Kaggle's .zip)."""
    try:
        if path.endswith('.gz'):
            with open(path, 'rb') as f:         # in one call: faster than gzip.open's reads
                return gzip.decompress(f.read())
        if path.endswith('.zip'):
            with zipfile.ZipFile(path) as z:
                return z.read(_zip_member(z, path))
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        raise UserError('{} does not exist.'.format(path))
    except IsADirectoryError:
        raise UserError('{} is a folder, not a file.'.format(path))
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise UserError('cannot read {}: {} (is it truncated or damaged?).'.format(
            path, reason(e)))


def _zip_member(z, path):
    """The one .csv in a zip, ignoring folders and macOS's __MACOSX/._ extras."""
    csvs = [n for n in z.namelist() if n.lower().endswith('.csv') and not n.endswith('/')
            and not n.startswith('__MACOSX/') and not os.path.basename(n).startswith('._')]
    if len(csvs) != 1:
        raise UserError('{} should hold exactly one .csv file, it holds {}{}.'.format(
            path, len(csvs), ': ' + ', '.join(csvs) if csvs else ''))
    return csvs[0]


def _check_columns(df, path, required):
    names = list(df.columns)
    for name in names:
        # pandas renames a repeated header name "a" to "a.1"; undo that to report it.
        m = re.match(r'^(.*)\.(\d+)$', name)
        if m and m.group(1) in names and m.group(1) in required:
            raise UserError('{} has the column {} more than once.'.format(path, m.group(1)))
    missing = [c for c in required if c not in names]
    if len(missing) == len(required):
        # A number where a name should be: the header line is missing; only names: another file.
        numeric = any(re.fullmatch(r'\s*[-+]?\d[\d.]*\s*', str(n)) for n in names)
        if _separator_hint(','.join(names)):
            raise UserError('{} names none of the expected columns{}.'.format(
                path, _separator_hint(','.join(names))))
        raise UserError('{} {}: its first line should name the columns ({}).'.format(
            path, 'has no header line' if numeric else 'names none of the expected columns',
            ','.join(required[:3] + ['...'] * (len(required) > 3))))
    if missing:
        raise UserError('{} lacks the column{} {}.'.format(
            path, 's' if len(missing) > 1 else '', ', '.join(missing)))
    extra = [c for c in names if c not in required and c != 'Location']
    if extra:
        raise UserError('{} has unexpected column{} {}.'.format(
            path, 's' if len(extra) > 1 else '', ', '.join(extra)))


def _separator_hint(header):
    """For a header line whose columns another separator divides (Excel's
    CSV in many locales uses semicolons), a hint to end a message; else ''."""
    for sep, name in ((';', 'semicolons'), ('\t', 'tabs')):
        if sep in header and ',' not in header:
            return '; its columns are separated by {}: save it with commas'.format(name)
    return ''


def _first_bad(mask, df, column, path, lines, problem, quoted=True):
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        value = df[column].iloc[i]
        blank = pd.isna(value) or (isinstance(value, str) and not value.strip())
        shown = 'empty' if blank else repr(value) if isinstance(value, str) and quoted \
            else str(value).strip()
        raise UserError('{} line {}: {} is {}, {}.'.format(path, lines[i], column, shown, problem))


def _keypoint_column(df, column, path, lines):
    """Keypoint values in pixels, float64 as read; NaN where empty. Each must be a
    number inside the 96x96 image."""
    values = pd.to_numeric(df[column], errors='coerce').to_numpy(np.float64)
    _first_bad(np.isnan(values) & df[column].notna().to_numpy(), df, column, path, lines,
               'not a number')
    _first_bad(~(np.isnan(values) | ((values >= 0) & (values <= IMAGE_SIZE))), df, column,
               path, lines, 'outside the 96x96 image (0 to 96 pixels)')
    return values


INT64_MAX = np.iinfo(np.int64).max


def whole_numbers(df, column, path, lines):
    """A column of ids, read exactly as int64: digits (1, 0042, 7.0), or a
    float's notation where it is exact (1e3); empty, other values and ids
    too large for int64 are refused."""
    values = [_whole_number(v) for v in df[column].tolist()]
    _first_bad(np.array([v is None or v < 1 for v in values]), df, column, path, lines,
               'not a whole number of at least 1', quoted=False)
    _first_bad(np.array([v > INT64_MAX for v in values]), df, column, path, lines,
               'too large for an id (at most {})'.format(INT64_MAX), quoted=False)
    return np.array(values, np.int64)


def _whole_number(text):
    """The whole number a CSV field holds, as a Python int, or None."""
    if not isinstance(text, str):
        return None
    m = re.fullmatch(r'\s*\+?(\d+)(?:\.0*)?\s*', text)
    if m:
        return int(m.group(1))
    try:
        value = float(text)
    except ValueError:
        return None
    # Beyond 2**53 a float no longer holds every whole number: the id is not known.
    return int(value) if value.is_integer() and abs(value) <= 2 ** 53 else None


def no_duplicates(values, column, path, lines):
    dup = pd.Series(values).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise UserError('{} line {}: {} {} appears more than once.'.format(
            path, lines[i], column, values[i]))


# ---- images ----------------------------------------------------------------

# Rows parsed at once: 64 images (about 2 MB of text) keep every temporary
# array in the CPU's cache, which makes the passes below several times faster
# than over whole files.
CHUNK_ROWS = 64
_SEPARATORS = b' \t\r\n'


def parse_images(images, path, lines):
    """Image strings -> uint8 pixels [N, 9216].

    images: sequence of str, each 9,216 whole numbers 0..255 separated by
    spaces (the post's np.fromstring(img, sep=' ')). lines: each string's
    file line, for messages. Anything else is a UserError naming the line.
    """
    starts = range(0, len(images), CHUNK_ROWS)
    # numpy lets go of the GIL inside each step, so chunks parse in parallel.
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        chunks = list(pool.map(lambda lo: _parse_chunk(
            images[lo:lo + CHUNK_ROWS], path, lines[lo:lo + CHUNK_ROWS]), starts))
    return stack_images(chunks)


def _parse_chunk(images, path, lines):
    """Reads digits with numpy instead of float-parsing each string: the values
    are small integers, so this is exact and many times faster. Each number
    ends where a digit meets a separator; its value is read from the last
    three digits, and any earlier digit must be a leading zero."""
    for s, line in zip(images, lines):
        if not isinstance(s, str) or not s.strip():
            raise UserError('{} line {}: the Image field is empty (is the row cut short?).'.format(
                path, line))
    blob = ('\n'.join(images) + '\n').encode('ascii', errors='backslashreplace')
    junk = blob.translate(None, b'0123456789' + _SEPARATORS)
    newlines = np.flatnonzero(np.frombuffer(blob, np.uint8) == ord('\n'))
    if junk:
        pos = blob.index(junk[:1])
        raise UserError('{} line {}: the Image holds {!r}, not a whole number 0..255.'.format(
            path, lines[np.searchsorted(newlines, pos)], _token_at(blob, pos)))
    pad = 4         # separators in front, so the four bytes before any digit exist
    d = np.frombuffer(b' ' * pad + blob, np.uint8) - np.uint8(ord('0'))   # separators >= 10
    digit = d < 10
    ends = np.flatnonzero(digit[pad:-1] & ~digit[pad + 1:])    # last digit of each number
    counts = np.diff(np.searchsorted(ends, newlines), prepend=0)
    wrong = np.flatnonzero(counts != PIXELS_PER_IMAGE)
    if wrong.size:
        i = int(wrong[0])
        raise UserError('{} line {}: the Image has {} values, expected {} (96x96).'.format(
            path, lines[i], counts[i], PIXELS_PER_IMAGE))
    values = np.zeros(len(ends), np.int32)
    contiguous = np.ones(len(ends), bool)
    for k in range(4):                # ones, tens, hundreds; then: is there a fourth digit?
        place = d[pad - k:len(d) - k].take(ends)
        contiguous &= place < 10
        if k < 3:
            values += np.where(contiguous, place, 0).astype(np.int32) * 10 ** k
    # Numbers of four or more digits are rare: only leading zeros ("0012") pass.
    for j in np.flatnonzero(contiguous):
        values[j] = min(int(_token_at(blob, int(ends[j]))), 256)
    bad = np.flatnonzero(values > PIXEL_MAX)
    if bad.size:
        j = int(bad[0])
        raise UserError('{} line {}: the Image holds {}, outside 0..255.'.format(
            path, lines[j // PIXELS_PER_IMAGE], _token_at(blob, int(ends[j]))))
    return values.astype(np.uint8).reshape(len(lines), PIXELS_PER_IMAGE)


def _token_at(blob, pos):
    lo = pos
    while lo > 0 and blob[lo - 1:lo] not in (b' ', b'\n', b'\t'):
        lo -= 1
    hi = pos
    while hi < len(blob) and blob[hi:hi + 1] not in (b' ', b'\n', b'\t') and hi - lo < 20:
        hi += 1
    return blob[lo:hi].decode('ascii', errors='replace')
