"""notebooks/read_alongside_the_post.ipynb runs top to bottom in a fresh
kernel, shows what it says it shows, and writes only into its temporary
folder."""

import os
import re

import pytest

from conftest import ROOT

NOTEBOOK_DIR = os.path.join(ROOT, 'notebooks')
NOTEBOOK = os.path.join(NOTEBOOK_DIR, 'read_alongside_the_post.ipynb')
nbformat = pytest.importorskip('nbformat')


def test_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == 'code']
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


def text_of(cell):
    return ''.join(o.get('text', '') for o in cell.outputs if o.output_type == 'stream')


@pytest.mark.slow
def test_runs_top_to_bottom_and_shows_the_posts_steps():
    nbclient = pytest.importorskip('nbclient')
    pytest.importorskip('ipykernel')
    pytest.importorskip('matplotlib')
    nb = nbformat.read(NOTEBOOK, as_version=4)
    before = sorted(os.listdir(NOTEBOOK_DIR))
    # A cell that raises stops here with CellExecutionError, naming the cell.
    nbclient.NotebookClient(nb, timeout=900, kernel_name='python3',
                            resources={'metadata': {'path': NOTEBOOK_DIR}}).execute()
    out = '\n'.join(text_of(c) for c in nb.cells if c.cell_type == 'code')
    assert '8,051,502 parameters' in out            # the post's network, counted
    assert 'x          (None, 96, 96, 1)' in out and 'y_conv     (None, 30)' in out
    # the demo's 1,000 rows, of which those with all 30 keypoints (dropna)
    assert re.search(r'^X \(7\d\d, 96, 96, 1\) float32 from 0\.00 to 1\.00$', out, re.M)
    restored, reported = map(float, re.search(
        r'validation RMSE ([\d.]+) px \(training reported ([\d.]+) px\)', out).groups())
    assert restored == pytest.approx(reported, abs=1e-3) and restored < 5.48   # beats the mean face
    assert 'submit.csv: 2300 rows, one per row of IdLookupTable.csv (2300)' in out
    merged = nb.cells[[i for i, c in enumerate(nb.cells) if 'merge(' in c.source][0]]
    shown = ''.join(o['data']['text/plain'] for o in merged.outputs if 'data' in o)
    assert shown.split('\n')[0].split() == ['RowId', 'ImageId', 'FeatureName', 'Location']
    pictures = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs
                if 'image/png' in o.get('data', {})]
    assert len(pictures) == 2                       # the learning curve and the faces
    work = re.search(r'demo data set .* to (\S+)/data$', out, re.M).group(1)
    assert not os.path.exists(work)                 # removed at the end
    assert sorted(os.listdir(NOTEBOOK_DIR)) == before


@pytest.mark.parametrize('where', ['named by Jupyter', 'nowhere'])
def test_its_first_cell_finds_the_repository_from_another_folder(tmp_path, monkeypatch, where):
    """Started in a folder outside the repository (papermill's default is the
    current folder): the repository is found from the notebook's path where
    Jupyter names it (JPY_SESSION_NAME), else the cell says how to start it."""
    nbclient = pytest.importorskip('nbclient')
    pytest.importorskip('ipykernel')
    pytest.importorskip('matplotlib')
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells = [next(c for c in nb.cells if c.cell_type == 'code')]
    nb.cells[0].source += ('\nimport facial_keypoints\n'
                           'print(os.path.dirname(os.path.dirname(facial_keypoints.__file__)))')
    if where == 'named by Jupyter':
        monkeypatch.setenv('JPY_SESSION_NAME', NOTEBOOK)
    else:
        monkeypatch.delenv('JPY_SESSION_NAME', raising=False)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',
                                     resources={'metadata': {'path': str(tmp_path)}})
    if where == 'nowhere':
        with pytest.raises(nbclient.exceptions.CellExecutionError,
                           match=r'no facial_keypoints/ in {} or above: start this notebook '
                                 r'from the repository'.format(re.escape(str(tmp_path)))):
            client.execute()
        return
    client.execute()
    assert text_of(nb.cells[0]).strip().splitlines()[-1] == ROOT
    assert os.listdir(tmp_path) == []
