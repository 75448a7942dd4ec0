"""bfloat16 arithmetic on CPUs that have it (--bf16).

TensorFlow's graph optimizer (Grappler) can rewrite a graph to run in
bfloat16 through oneDNN: the convolutions, matrix products, batch norm,
pooling, ReLUs, the loss and their gradients. The variables and the
optimizer's updates stay float32; inputs are fed and outputs fetched as
float32, with bfloat16's precision (predicted keypoints move by about 0.1 px).
A loss fetched from such a graph is itself rounded to bfloat16 (about 0.01 px
on an RMSE of 1.6 px), unlike one computed from the fetched predictions.
The graph code does not change; only the Session's ConfigProto does.

Support: the CPU must do bfloat16 arithmetic itself (the AVX512_BF16 or
AMX_BF16 instruction sets); elsewhere oneDNN would emulate it, slower than
float32. It is read from /proc/cpuinfo (Linux); where that cannot tell, or
ONEDNN_MAX_CPU_ISA keeps oneDNN below those sets, --bf16 falls back to
float32 with a warning.
"""

import os

import tensorflow as tf

BF16_FLAGS = ('avx512_bf16', 'amx_bf16')
# ONEDNN_MAX_CPU_ISA's values (DNNL_MAX_CPU_ISA, its older name) that leave out
# AVX512_BF16 and AMX: oneDNN then emulates bfloat16, slower than float32, or
# (below AVX512_CORE) has no bfloat16 convolution, and a rewritten graph fails.
ISAS_WITHOUT_BF16 = ('SSE41', 'AVX', 'AVX2', 'AVX2_VNNI', 'AVX2_VNNI_2', 'AVX512_CORE',
                     'AVX512_CORE_VNNI')


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo, or None where it cannot tell."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return None


def cpu_has_bf16():
    flags = cpu_flags()
    limit = (os.environ.get('ONEDNN_MAX_CPU_ISA') or os.environ.get('DNNL_MAX_CPU_ISA')
             or '').strip().upper()
    return bool(flags and flags.intersection(BF16_FLAGS)) and limit not in ISAS_WITHOUT_BF16


def session_config(enabled, log=print):
    """A ConfigProto for tf.compat.v1.Session: float32 as written, or with
    enabled, Grappler's oneDNN bfloat16 rewrite where the CPU supports it."""
    config = tf.compat.v1.ConfigProto()
    if enabled:
        if cpu_has_bf16():
            rewrites = config.graph_options.rewrite_options
            rewrites.auto_mixed_precision_onednn_bfloat16 = type(rewrites).ON
        else:
            log('warning: --bf16 needs a CPU with AVX512_BF16 or AMX (none found in '
                '/proc/cpuinfo, or ONEDNN_MAX_CPU_ISA leaves them out); running in float32.')
    return config
