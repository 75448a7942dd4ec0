"""python tests/small_post_run.py SCRIPT [ARGS ...] runs SCRIPT (run_train.py,
...) in this fresh process as python SCRIPT ARGS would, but with the post's
network narrowed to conftest.small_post_model: for tests of what a process
does around the network (its signals, its standard streams), not of the
network. The models it trains can be read only so (conftest.small_post_network)."""

import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from facial_keypoints.runs.cli import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()     # as the script would, before conftest imports TensorFlow

import pytest  # noqa: E402

from conftest import ROOT, use_small_post_model  # noqa: E402

use_small_post_model(pytest.MonkeyPatch())
script = os.path.join(ROOT, sys.argv[1])
sys.argv = [script] + sys.argv[2:]
runpy.run_path(script, run_name='__main__')
