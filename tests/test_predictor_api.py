"""Predictor misuse from Python, one call a row: each is refused in one
sentence (a UserError), the same through a model folder and through its
export; and what it takes, it answers right, with the same numbers both ways."""

import re

import numpy as np
import pytest

from conftest import float32_close
from facial_keypoints import data
from facial_keypoints.runs.errors import UserError
from facial_keypoints.serving.export import export
from facial_keypoints.serving.predictor import Predictor

RANGE = r'^X holds values from {} to {}; floats must be pixels / 255 in \[0, 1\] \(or give uint8 ' \
        r'pixels 0\.\.255\)\.$'
DTYPE = r'^X is {}; predict\(\) takes uint8 pixels 0\.\.255 or floats in \[0, 1\] \(pixels / ' \
        r'255\)\.$'
SHAPE = r'^X has shape {}; predict\(\) takes N faces shaped \[N, 96, 96, 1\] or \[N, 96, 96\]\.$'
NAN = r'^X holds NaN or infinite values; predict\(\) takes pixels / 255 in \[0, 1\]\.$'
BATCH = r'^batch_size is {}; it must be a whole number of at least 1\.$'


def with_value(X, value):
    X = X.copy()
    X[0, 10, 20, 0] = value
    return X


# (id, X from the test images X in [0, 1], batch_size, the message)
CASES = [
    ('pixels as float32 0..255', lambda X: X * 255, 64, RANGE.format(0, 255)),
    ('pixels as float64 0..255', lambda X: X.astype(np.float64) * 255, 64, RANGE.format(0, 255)),
    ('pixels as a list', lambda X: (X * 255).tolist(), 64, RANGE.format(0, 255)),
    ('one value above 1', lambda X: with_value(X, 1.5), 64, RANGE.format(0, 1.5)),
    ('negative values', lambda X: X - 0.25, 64, RANGE.format(-0.25, 0.75)),
    ('int64 pixels', lambda X: np.round(X * 255).astype(np.int64), 64, DTYPE.format('int64')),
    ('int8 pixels', lambda X: np.zeros(X.shape, np.int8), 64, DTYPE.format('int8')),
    ('booleans', lambda X: X > 0.5, 64, DTYPE.format('bool')),
    ('strings', lambda X: np.full(X.shape, 'a'), 64, DTYPE.format('<U1')),
    ('one NaN', lambda X: with_value(X, np.nan), 64, NAN),
    ('all NaN', lambda X: np.full(X.shape, np.nan, np.float32), 64, NAN),
    ('infinity', lambda X: with_value(X, np.inf), 64, NAN),
    ('flat rows of 9216', lambda X: X.reshape(len(X), -1), 64, SHAPE.format(r'\(6, 9216\)')),
    ('three channels', lambda X: np.repeat(X, 3, axis=3), 64, SHAPE.format(r'\(6, 96, 96, 3\)')),
    ('one face without N', lambda X: X[0], 64, SHAPE.format(r'\(96, 96, 1\)')),
    ('48x48 faces', lambda X: X[:, :48, :48], 64, SHAPE.format(r'\(6, 48, 48, 1\)')),
    ('channels first', lambda X: X.transpose(0, 3, 1, 2), 64, SHAPE.format(r'\(6, 1, 96, 96\)')),
    ('a scalar', lambda X: 0.5, 64, SHAPE.format(r'\(\)')),
    ('batch_size -5', lambda X: X, -5, BATCH.format(-5)),
    ('batch_size 0', lambda X: X, 0, BATCH.format(0)),
    ('batch_size 2.5', lambda X: X, 2.5, BATCH.format(2.5)),
    ('batch_size True', lambda X: X, True, BATCH.format(True)),
    ('batch_size "64"', lambda X: X, '64', BATCH.format("'64'")),
    ('batch_size None', lambda X: X, None, BATCH.format(None)),
]


@pytest.fixture(scope='module')
def models(trained, blog_export, improved_model, tmp_path_factory):
    """{(recipe, 'folder' or 'export'): a Predictor}, and the test images."""
    improved_export = str(tmp_path_factory.mktemp('exports') / 'improved')
    export(improved_model[1], improved_export, log=lambda *a: None)
    loaded = {}
    for recipe, model_dir, out in (('blog', trained[1], blog_export),
                                   ('improved', improved_model[1], improved_export)):
        loaded[recipe, 'folder'], loaded[recipe, 'export'] = Predictor(model_dir), Predictor(out)
    X, _ = data.test_data(trained[0])
    yield loaded, X
    for p in loaded.values():
        p.close()


@pytest.mark.parametrize('kind', ['folder', 'export'])
@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_misuse_is_one_sentence(case, kind, models):
    name, make, batch_size, message = case
    loaded, X = models
    with pytest.raises(UserError) as e:
        loaded['blog', kind].predict(make(X), batch_size)
    text = str(e.value)
    assert re.search(message, text), text
    assert '\n' not in text and text.endswith('.')


def test_there_are_at_least_20_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize('recipe', ['blog', 'improved'])
def test_pixels_and_floats_give_the_same_numbers_through_a_folder_and_its_export(recipe,
                                                                                  models):
    loaded, X = models
    pixels = np.round(X * 255).astype(np.uint8)
    expected = loaded[recipe, 'folder'].predict(X)
    assert expected.shape == (len(X), 30) and expected.dtype == np.float32
    assert np.isfinite(expected).all() and 0 <= expected.min() and expected.max() <= 96
    assert np.array_equal(loaded[recipe, 'folder'].predict(pixels), expected)
    assert np.array_equal(loaded[recipe, 'folder'].predict(X.astype(np.float64)), expected)
    assert np.array_equal(loaded[recipe, 'folder'].predict(X[..., 0]), expected)
    # one face at a time: TensorFlow's kernels sum in another order
    assert float32_close(loaded[recipe, 'folder'].predict(X, batch_size=1), expected)
    for given in (X, pixels):
        assert float32_close(loaded[recipe, 'export'].predict(given), expected)


def test_floats_between_pixel_levels_are_taken_at_the_nearest_level(models):
    loaded, X = models
    nudged = np.clip(X + 0.4 / 255, 0, 1)             # under half a level above each pixel
    for kind in ('folder', 'export'):
        p = loaded['blog', kind]
        assert np.array_equal(p.predict(nudged), p.predict(X))


def test_no_faces_give_no_rows(models):
    loaded, X = models
    for p in loaded.values():
        assert p.predict(X[:0]).shape == (0, 30)
        assert p.predict(np.zeros((0, 96, 96), np.uint8)).shape == (0, 30)
