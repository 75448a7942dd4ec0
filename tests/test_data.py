"""input_data: scaling, the dropna rule, file forms, and the keypoint names."""

import gzip
import os
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import image_field, shared_path, write_csv
from facial_keypoints import constants, data, submission, units
from facial_keypoints.files import cache, csvfiles
from facial_keypoints.runs.errors import UserError

COLS = constants.KEYPOINT_COLUMNS


def small_training(tmp_path, name='training.csv'):
    rng = np.random.default_rng(0)
    points = rng.uniform(10, 86, (4, 30)).round(3)
    points[1, 5] = np.nan          # row 1 lacks one value
    rows = []
    for i, p in enumerate(points):
        vals = ['' if np.isnan(v) else v for v in p]
        rows.append(vals + [image_field((np.arange(9216) + i) % 256)])
    write_csv(tmp_path / name, COLS + ['Image'], rows)
    return points


def test_keypoint_index_matches_kaggle_header():
    assert len(constants.keypoint_index) == 30
    assert sorted(constants.keypoint_index.values()) == list(range(30))
    header = pd.read_csv(shared_path('faces15', 'training.csv.gz'), nrows=0).columns
    assert list(header[:-1]) == COLS and header[-1] == 'Image'


def test_input_data_scales_and_drops_incomplete_rows(tmp_path):
    points = small_training(tmp_path)
    X, y = data.input_data(data_dir=str(tmp_path))
    assert X.shape == (3, 96, 96, 1) and X.dtype == np.float32
    assert y.shape == (3, 30) and y.dtype == np.float32
    # rows 0, 2, 3 survive dropna; pixels / 255 and keypoints / 96, the post's values
    assert np.array_equal(y, (points[[0, 2, 3]] / 96.0).astype(np.float32))
    assert X[1, 0, 0, 0] == np.float32(2 / 255.0)
    assert X[0, 0, 5, 0] == np.float32(5 / 255.0)   # row-major: column 5 of row 0
    assert X[0, 1, 0, 0] == np.float32(96 % 256 / 255.0)


def test_input_data_can_keep_incomplete_rows_with_nan(tmp_path):
    small_training(tmp_path)
    X, y = data.input_data(data_dir=str(tmp_path), dropna=False)
    assert X.shape[0] == 4 and np.isnan(y[1, 5]) and np.isnan(y).sum() == 1


def test_test_set_has_no_targets(tmp_path):
    write_csv(tmp_path / 'test.csv', ['ImageId', 'Image'],
              [[1, image_field()], [2, image_field()]])
    X, y = data.input_data(test=True, data_dir=str(tmp_path))
    assert X.shape == (2, 96, 96, 1) and y is None


def test_scaling_and_its_inverse_round_trip():
    pts = np.array([[0.0, 48.0, 95.5]])
    assert np.allclose(units.unscale_keypoints(units.scale_keypoints(pts)), pts)


def test_reads_gz_zip_crlf_and_bom(tmp_path):
    points = small_training(tmp_path)
    text = open(tmp_path / 'training.csv').read()
    expect = points[[0, 2, 3]] / 96.0
    os.remove(tmp_path / 'training.csv')
    variants = {
        'gz': lambda d: gzip.open(d / 'training.csv.gz', 'wt').write(text),
        'zip': lambda d: zipfile.ZipFile(d / 'training.zip', 'w').writestr('training.csv', text),
        'crlf+bom': lambda d: open(d / 'training.csv', 'w', newline='').write(
            '\ufeff' + text.replace('\n', '\r\n')),
    }
    for name, write in variants.items():
        d = tmp_path / name
        d.mkdir()
        write(d)
        X, y = data.input_data(data_dir=str(d))
        assert np.allclose(y, expect), name
        assert X[1, 0, 0, 0] == np.float32(2 / 255.0), name


def test_fast_parser_equals_the_posts_fromstring():
    rng = np.random.default_rng(5)
    images = [' '.join(map(str, rng.integers(0, 256, 9216))) for _ in range(5)]
    images[1] = images[1].replace(' 7 ', ' 007 ').replace(' 12 ', '  0012\t')
    ours = units.scale_images(csvfiles.parse_images(images, 'x.csv', np.arange(5) + 2))
    posts = np.vstack([np.array(s.split(), float) / 255.0 for s in images])
    assert np.array_equal(ours.reshape(5, -1), posts.astype(np.float32))


@pytest.mark.parametrize('token, expect', [
    ('256', r'line 3: the Image holds 256, outside 0..255'),
    ('0300', r'line 3: the Image holds 0300, outside 0..255'),
    ('1000', r'line 3: the Image holds 1000, outside 0..255'),
    ('12.5', r"line 3: the Image holds '12.5', not a whole number 0..255"),
    ('-4', r"line 3: the Image holds '-4', not a whole number 0..255"),
])
def test_parser_names_the_line_and_the_value(token, expect):
    images = [' '.join(['1'] * 9216), ' '.join(['1'] * 9000 + [token] + ['1'] * 215)]
    with pytest.raises(UserError, match=expect):
        csvfiles.parse_images(images, 'x.csv', np.array([2, 3]))


def test_lookup_table_follows_kaggle_header_with_four_names(tmp_path):
    p = tmp_path / 'IdLookupTable.csv'
    p.write_text('RowId,ImageId,FeatureName,Location\n1,7,nose_tip_x\n2,3,left_eye_center_y\n')
    rows, images, feats = submission.read_lookup_table(str(p), np.array([3, 7]))
    assert list(rows) == [1, 2] and list(images) == [1, 0] and list(feats) == [20, 1]


def test_unknown_feature_in_lookup_is_refused(tmp_path):
    p = tmp_path / 'IdLookupTable.csv'
    p.write_text('RowId,ImageId,FeatureName,Location\n1,1,nose_x\n')
    with pytest.raises(UserError, match=r'line 2: unknown FeatureName .nose_x'):
        submission.read_lookup_table(str(p), np.array([1]))


def test_cache_serves_identical_arrays_and_never_stale_ones(tmp_path):
    small_training(tmp_path)
    first = data.input_data(data_dir=str(tmp_path), dropna=False)
    cache_dir = tmp_path / '.facial_keypoints_cache'
    assert len(list(cache_dir.iterdir())) == 1
    again = data.input_data(data_dir=str(tmp_path), dropna=False)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first, again))
    # Same size, same time stamp, one digit changed: must be parsed again.
    path = tmp_path / 'training.csv'
    st = os.stat(path)
    text = path.read_text()
    last = text[-2]                    # the last digit of the last pixel
    path.write_text(text[:-2] + ('0' if last != '0' else '1') + '\n')
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.path.getsize(path) == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    changed = data.input_data(data_dir=str(tmp_path), dropna=False)
    assert not np.array_equal(changed[0], first[0])
    assert len(list(cache_dir.iterdir())) == 1          # the stale entry was replaced
    shutil.rmtree(cache_dir)
    assert np.array_equal(changed[0], data.input_data(data_dir=str(tmp_path), dropna=False)[0])


def test_a_data_folder_marked_read_only_gets_no_cache_even_from_root(tmp_path, monkeypatch):
    home = tmp_path / 'home_cache'
    monkeypatch.setattr(cache, 'HOME_FOLDER', str(home))
    data_dir = tmp_path / 'data'
    data_dir.mkdir()
    small_training(data_dir)
    data_dir.chmod(0o555)
    try:
        first = data.input_data(data_dir=str(data_dir), dropna=False)
        again = data.input_data(data_dir=str(data_dir), dropna=False)
    finally:
        data_dir.chmod(0o755)
    assert sorted(os.listdir(data_dir)) == ['training.csv']
    assert len(list(home.iterdir())) == 1
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first, again))


def test_a_damaged_cache_is_rebuilt(tmp_path):
    small_training(tmp_path)
    first = data.input_data(data_dir=str(tmp_path))
    (entry,) = (tmp_path / '.facial_keypoints_cache').iterdir()
    entry.write_bytes(entry.read_bytes()[:1000])            # truncated
    again = data.input_data(data_dir=str(tmp_path))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert entry.stat().st_size > 1000                        # written whole again
