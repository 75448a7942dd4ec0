"""The package installs, and the README's Python lines work from outside the
repository, on the installed copy."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, copy_run, float32_close, made_once
from facial_keypoints import data


def readme_python_snippet():
    """The code block under the README's "From Python" heading."""
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    section = text.split('## From Python', 1)[1]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


@pytest.fixture(scope='session')
def installed(tmp_path_factory):
    """The folder the package was installed into (install()), once for the tests."""
    pytest.importorskip('setuptools', minversion='64')
    root, _ = made_once(tmp_path_factory, 'installed', lambda root: install(
        str(root / 'site'), str(root)))
    return str(root / 'site')


def install(target, work):
    """pip install . of a copy of the sources (so the checkout gets no build
    folders) into target, without dependencies (they are installed here)."""
    src = os.path.join(work, 'src')
    shutil.copytree(os.path.join(ROOT, 'facial_keypoints'), os.path.join(src, 'facial_keypoints'),
                    ignore=shutil.ignore_patterns('__pycache__'))
    for name in ('pyproject.toml', 'README.md', 'requirements.txt', 'requirements-extra.txt'):
        shutil.copy(os.path.join(ROOT, name), src)
    p = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                        '--no-build-isolation', '--target', target, src],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr


@pytest.mark.slow
def test_the_readmes_python_lines_run_on_the_installed_package(trained, installed, tmp_path):
    data_dir, model_dir, _ = trained
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    copy_run(model_dir, outside / 'model')
    X, _ = data.input_data(data_dir=data_dir, dropna=False)
    np.save(outside / 'faces.npy', X[:5])
    script = readme_python_snippet() + (
        "import facial_keypoints\n"
        "print(facial_keypoints.__file__)\n"
        "np.save('keypoints.npy', keypoints)\n")
    env = dict(os.environ, PYTHONPATH=installed)
    p = subprocess.run([sys.executable, '-c', script], cwd=str(outside), env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1].startswith(installed)   # the installed copy
    keypoints = np.load(outside / 'keypoints.npy')
    from facial_keypoints import Predictor
    with Predictor(model_dir) as predictor:
        expected = predictor.predict(X[:5])
    assert keypoints.shape == (5, 30) and keypoints.dtype == np.float32
    assert float32_close(keypoints, expected)
    assert 20 < keypoints.mean() < 76                     # pixels, not [0, 1]


def test_the_package_lists_the_requirements_files_dependencies(installed):
    [meta] = [os.path.join(installed, d, 'METADATA') for d in os.listdir(installed)
              if d.endswith('.dist-info')]
    with open(meta, encoding='utf-8') as f:
        requires = [line.split(':', 1)[1].strip() for line in f if line.startswith('Requires-Dist')]
    core = [r for r in requires if 'extra ==' not in r]
    extra = [r.split(';')[0].strip() for r in requires if 'extra ==' in r]

    def listed(name):
        with open(os.path.join(ROOT, name), encoding='utf-8') as f:
            return [line.strip() for line in f if line.strip() and not line.startswith('#')]
    assert sorted(core) == sorted(listed('requirements.txt'))
    assert {r.split('>')[0].split('<')[0] for r in extra} == \
        {r.split('>')[0].split('<')[0] for r in listed('requirements-extra.txt')}
