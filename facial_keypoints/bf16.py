"""bfloat16 arithmetic on CPUs that have it (--bf16).

TensorFlow's graph optimizer (Grappler) can rewrite a graph's convolutions,
matrix products and their gradients to run in bfloat16 through oneDNN, with
the variables, the loss and the optimizer kept in float32. The graph code
does not change; only the Session's ConfigProto does.

Support: the CPU must do bfloat16 arithmetic itself (the AVX512_BF16 or
AMX_BF16 instruction sets); elsewhere oneDNN would emulate it, slower than
float32. It is read from /proc/cpuinfo (Linux); where that cannot tell,
--bf16 falls back to float32 with a warning.
"""

import tensorflow as tf

BF16_FLAGS = ('avx512_bf16', 'amx_bf16')


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
    return bool(flags and flags.intersection(BF16_FLAGS))


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
                '/proc/cpuinfo); running in float32.')
    return config
