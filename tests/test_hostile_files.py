"""Data files as users really have them, and malformed ones: a correct read
or one clean refusal naming the file, never a traceback."""

import gzip
import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import image_field
from facial_keypoints import constants, data
from facial_keypoints.runs.errors import UserError

COLS = constants.KEYPOINT_COLUMNS
HEADER = ','.join(COLS + ['Image'])


def valid_text(n_rows=3, eol='\n'):
    rows = [','.join(['{:.2f}'.format(30 + i + j / 10) for j in range(30)] +
                     [image_field((np.arange(9216) * (i + 1)) % 256)]) for i in range(n_rows)]
    return eol.join([HEADER] + rows) + eol


def load(tmp_path, content, name='training.csv'):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode('utf-8'))
    return data.input_data(data_dir=str(tmp_path))


@pytest.mark.parametrize('content, expect', [
    (HEADER + '\n1,2\n', r'training.csv line 2: the Image field is empty \(is the row cut short'),
    (HEADER.replace('nose_tip_x', 'left_eye_center_x') + '\n',
     r'training.csv has the column left_eye_center_x more than once'),
    (valid_text().replace('\n', '\n7,', 2).replace('\n7,', '\n', 1),
     r'training.csv line 3 has 32 fields, expected 31'),
    (b'\xff\xfe\x00\x01garbage', r'training.csv line 1 is not UTF-8 text \(byte 0xff\)'),
], ids=['short row', 'duplicated column', 'long row', 'binary'])
def test_named_refusals(tmp_path, content, expect):
    with pytest.raises(UserError, match=expect):
        load(tmp_path, content)


def test_crlf_bom_and_compression_read_the_same(tmp_path):
    X, y = load(tmp_path / '', valid_text())
    for name, content in (
            ('crlf', ('\ufeff' + valid_text(eol='\r\n')).encode('utf-8')),
            ('gz', gzip.compress(valid_text().encode())),
            ('no final newline', valid_text().rstrip('\n').encode()),
            ('blank lines', valid_text().replace('\n', '\n\n\r\n').encode()),
    ):
        d = tmp_path / name
        d.mkdir()
        X2, y2 = load(d, content, 'training.csv.gz' if name == 'gz' else 'training.csv')
        assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_truncated_gzip_and_zip_are_refused(tmp_path):
    whole = gzip.compress(valid_text(20).encode())
    with pytest.raises(UserError, match=r'cannot read .*training.csv.gz.*truncated'):
        load(tmp_path, whole[:len(whole) // 2], 'training.csv.gz')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('training.csv', valid_text(20))
    d = tmp_path / 'z'
    d.mkdir()
    with pytest.raises(UserError, match=r'training.zip'):
        load(d, buf.getvalue()[:len(buf.getvalue()) // 2], 'training.zip')


def test_zips_as_finders_and_archivers_make_them_read_the_same(tmp_path):
    X, y = load(tmp_path, valid_text())
    quoted = valid_text().replace(',', '","').replace('\n', '"\n"')[:-1]
    for name, members in (
            ('macos', [('training/', ''), ('training/training.csv', valid_text()),
                       ('__MACOSX/training/._training.csv', 'resource fork')]),
            ('quoted, with a folder entry', [('data/', ''), ('data/training.csv', '"' + quoted)])):
        d = tmp_path / name
        d.mkdir()
        with zipfile.ZipFile(d / 'training.zip', 'w', zipfile.ZIP_DEFLATED) as z:
            for member, text in members:
                z.writestr(member, text)
        X2, y2 = data.input_data(data_dir=str(d))
        assert np.array_equal(X, X2) and np.array_equal(y, y2), name
    d = tmp_path / 'two'
    d.mkdir()
    with zipfile.ZipFile(d / 'training.zip', 'w') as z:
        z.writestr('a.csv', valid_text())
        z.writestr('b.csv', valid_text())
    with pytest.raises(UserError, match=r'training.zip should hold exactly one .csv file, it '
                                        r'holds 2: a.csv, b.csv'):
        data.input_data(data_dir=str(d))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 40000), junk=st.text(max_size=4), where=st.integers(0, 40000),
       drop=st.integers(0, 10000), mode=st.sampled_from(['cut', 'insert', 'delete', 'replace']))
def test_mangled_csv_reads_correctly_or_is_refused_cleanly(tmp_path, cut, junk, where, drop, mode):
    text = valid_text(3)
    where %= len(text)
    if mode == 'cut':
        text = text[:cut % len(text)]
    elif mode == 'insert':
        text = text[:where] + junk + text[where:]
    elif mode == 'delete':
        text = text[:where] + text[where + drop % 50:]
    else:
        text = text[:where] + junk + text[where + len(junk):]
    try:
        X, y = load(tmp_path, text)
    except UserError as e:
        msg = str(e)
        assert 'training.csv' in msg and '\n' not in msg
        return
    # A read that succeeds is a correct read: shapes, units and ranges hold.
    assert X.shape[1:] == (96, 96, 1) and X.dtype == np.float32
    assert 0 <= X.min() and X.max() <= 1
    assert y.shape == (len(X), 30) and np.isfinite(y).all()
