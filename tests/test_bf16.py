"""--bf16: bfloat16 arithmetic where the CPU has it, float32 variables, and a
warned fallback to float32 where it does not."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import SMALL_IMPROVED, fit, tiny_config, use_small_post_model
from facial_keypoints.runs import bf16
from facial_keypoints import data
from facial_keypoints.improved.settings import Options
from facial_keypoints.serving.predictor import Predictor

HAS_BF16 = bf16.cpu_has_bf16()


def rewrite_on(config):
    options = config.graph_options.rewrite_options
    return options.auto_mixed_precision_onednn_bfloat16 == type(options).ON


def test_support_is_read_from_the_cpu_flags(monkeypatch):
    monkeypatch.delenv('ONEDNN_MAX_CPU_ISA', raising=False)
    for flags, expected in (({'avx2', 'avx512_bf16'}, True), ({'amx_bf16'}, True),
                            ({'avx2', 'avx512f'}, False), (None, False)):
        monkeypatch.setattr(bf16, 'cpu_flags', lambda flags=flags: flags)
        said = []
        config = bf16.session_config(True, said.append)
        assert rewrite_on(config) is expected
        assert (len(said) == 1 and 'float32' in said[0]) is not expected
        assert not rewrite_on(bf16.session_config(False, said.append))


@pytest.mark.parametrize('limit, expected', [('AVX2', False), ('avx512_core', False),
                                             ('AVX512_CORE_BF16', True), ('AVX512_CORE_AMX', True),
                                             ('', True)])
def test_onednn_limited_below_bf16_falls_back_to_float32(monkeypatch, limit, expected):
    """ONEDNN_MAX_CPU_ISA below AVX512_CORE_BF16 leaves oneDNN without the CPU's
    bfloat16 arithmetic even where it has it: float32, with the warning."""
    monkeypatch.setattr(bf16, 'cpu_flags', lambda: {'avx512_bf16', 'amx_bf16'})
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', limit)
    said = []
    assert rewrite_on(bf16.session_config(True, said.append)) is expected
    assert (len(said) == 1 and 'ONEDNN_MAX_CPU_ISA' in said[0]) is not expected


@pytest.mark.parametrize('recipe', ['blog', 'improved'])
def test_a_bf16_run_trains_saves_restores_and_predicts(tmp_path, tiny_data, recipe, monkeypatch):
    small = Options(**SMALL_IMPROVED) if recipe == 'improved' else None
    if recipe == 'blog':
        use_small_post_model(monkeypatch)
    r = fit(tiny_config(tiny_data, tmp_path / 'm', recipe=recipe, bf16=True, options=small))
    assert all(np.isfinite(h['validation_rmse_px']) for h in r['history'])
    stored = tf.train.load_checkpoint(r['best_checkpoint']).get_variable_to_dtype_map()
    assert stored and set(stored.values()) == {tf.float32}          # variables stay float32
    X, _ = data.test_data(tiny_data)
    with Predictor(str(tmp_path / 'm')) as p:
        plain = p.predict(X)
    with Predictor(str(tmp_path / 'm'), use_bf16=True) as p:
        fast = p.predict(X)
    assert plain.shape == fast.shape == (len(X), 30)
    # bfloat16 keeps 8 significant bits: on these barely trained small networks
    # the keypoints move by 0.026 px (the post's shape) and 0.006 px (the
    # improved one's) on average.
    assert np.abs(fast - plain).mean() < 0.1 and np.abs(fast - plain).max() < 1.0
    if HAS_BF16:
        assert np.abs(fast - plain).max() > 0       # the arithmetic did change


@pytest.mark.usefixtures('small_post_network')
def test_a_cpu_without_bf16_trains_in_float32_and_says_so(tmp_path, tiny_data, monkeypatch):
    monkeypatch.setattr(bf16, 'cpu_flags', lambda: {'avx2'})
    said = []
    asked = fit(tiny_config(tiny_data, tmp_path / 'a', bf16=True, quiet=True), log=said.append)
    plain = fit(tiny_config(tiny_data, tmp_path / 'b'))
    assert any('--bf16' in s and 'float32' in s for s in said)      # even with --quiet
    assert [h['validation_rmse_px'] for h in asked['history']] == \
        [h['validation_rmse_px'] for h in plain['history']]
