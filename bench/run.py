"""Benchmarks for issue #5: every figure is a ratio measured in this one run.

    python bench/run.py            # full (about 10 minutes on 2 CPU cores)
    python bench/run.py --quick    # under 5 minutes

Data: ../shared/data/faces15 when present, else a demo set it makes. Each
training-speed variant runs in a fresh process (Keras 3 needs eager mode,
the project runs graph mode), on the same rows, with the same batch size.
Not a test: nothing here asserts a time.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SHARED = os.path.join(ROOT, '..', 'shared', 'data')
POST_MFLOP_PER_SAMPLE = 261          # forward ~87 MFLOP (conv 71.5 + dense 15.7), x3 to train


# ---- workers: each prints one JSON line -------------------------------------

def worker_parse(data_dir, repeats):
    import numpy as np
    import pandas as pd
    from facial_keypoints import data
    path = data.find_data_file(data_dir, 'training.csv')

    def post_input_data(dropna):
        # The post's input_data(), literally (np.fromstring is deprecated but still works).
        df = pd.read_csv(path)
        cols = df.columns[:-1]
        if dropna:
            df = df.dropna()
        df['Image'] = df['Image'].apply(lambda img: np.fromstring(img, sep=' ') / 255.0)
        X = np.vstack(df['Image']).reshape((-1, 96, 96, 1))
        return X, df[cols].values / 96.0

    def best_of(fn):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return min(times), out

    # Reading (and for .gz/.zip inflating) the bytes: a floor no parser goes under.
    result = {'file': path, 'read_bytes_s': best_of(lambda: data._read_bytes(path))[0]}
    for dropna in (True, False):
        tag = 'complete_rows' if dropna else 'all_rows'
        t_post, (Xp, _) = best_of(lambda: post_input_data(dropna))
        t_ours, (X, _) = best_of(lambda: data.input_data(data_dir=data_dir, dropna=dropna,
                                                          cache=False))
        # A first run with the cache on also hashes the file and writes the
        # cache: timed with an empty cache folder each time.
        t_fill, _ = best_of(lambda: _with_empty_cache(
            lambda: data.input_data(data_dir=data_dir, dropna=dropna)))
        data.input_data(data_dir=data_dir, dropna=dropna)          # fill the cache
        t_hit, (Xc, _) = best_of(lambda: data.input_data(data_dir=data_dir, dropna=dropna))
        result[tag] = {'rows': len(X), 'post_s': t_post, 'ours_s': t_ours,
                       'cache_fill_s': t_fill, 'cache_hit_s': t_hit,
                       'identical': bool(np.array_equal(Xp.astype(np.float32), X)
                                         and np.array_equal(X, Xc))}
    print(json.dumps(result))


def _with_empty_cache(fn):
    import shutil
    from facial_keypoints import cache
    folder = tempfile.mkdtemp(prefix='fkp-cache-')
    real = cache._folders
    cache._folders = lambda path: [folder]
    try:
        return fn()
    finally:
        cache._folders = real
        shutil.rmtree(folder)


def _training_rows(data_dir):
    from facial_keypoints import data
    X, y = data.input_data(data_dir=data_dir, cache=False)
    return X[100:], y[100:]            # the post's training rows (first 100 validate)


def worker_train(variant, data_dir, epochs):
    """Samples per second of the blog graph, as variant trains it."""
    import numpy as np
    X, y = _training_rows(data_dir)
    if variant == 'keras':
        return _keras(X, y, epochs)
    import tensorflow as tf
    from facial_keypoints import model
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    config = tf1.ConfigProto()
    if variant == 'project_xla':
        config.graph_options.optimizer_options.global_jit_level = tf1.OptimizerOptions.ON_1
    if variant == 'project_threads_2x1':
        config.intra_op_parallelism_threads, config.inter_op_parallelism_threads = 2, 1
    with tf.Graph().as_default():
        tf1.set_random_seed(0)
        x, y_, keep_prob = model.placeholders()
        if variant == 'kernels_only':
            # One batch held in the graph: no feed, no copy, no Python per
            # sample. No input path can make a step cheaper than this.
            x = tf.Variable(X[:64], trainable=False, name='x_batch')
            y_ = tf.Variable(y[:64], trainable=False, name='y_batch')
        y_conv, rmse = model.model(x, y_, keep_prob)
        train_step = tf1.train.AdamOptimizer(1e-3).minimize(rmse)
        with tf1.Session(config=config) as sess:
            sess.run(tf1.global_variables_initializer())
            if variant == 'kernels_only':
                def epoch():
                    for _ in range(0, len(X), 64):
                        sess.run(train_step, {keep_prob: 0.5})
            elif variant == 'post_literal':
                # The post's loop: float64 arrays (np.fromstring / 255.0), the whole
                # training set re-indexed every epoch, float64 slices fed.
                X_train, y_train = X.astype(np.float64), y.astype(np.float64)
                train_index = list(range(len(X)))

                def epoch():
                    nonlocal X_train, y_train
                    np.random.shuffle(train_index)
                    X_train, y_train = X_train[train_index], y_train[train_index]
                    for j in range(0, len(X_train), 64):
                        train_step.run(feed_dict={x: X_train[j:j + 64], y_: y_train[j:j + 64],
                                                  keep_prob: 0.5})
            else:
                # The project's loop (train.py): float32, one batch gathered per step.
                rng = np.random.default_rng(0)

                def epoch():
                    perm = rng.permutation(len(X))
                    for j in range(0, len(X), 64):
                        idx = perm[j:j + 64]
                        sess.run(train_step, {x: X[idx], y_: y[idx], keep_prob: 0.5})
            times = []
            for _ in range(epochs + 1):
                t = time.perf_counter()
                epoch()
                times.append(time.perf_counter() - t)
    _report_epochs(len(X), times[1:])      # the first epoch warms up


def _keras(X, y, epochs):
    import keras
    from keras import layers, ops
    net = keras.Sequential([
        keras.Input((96, 96, 1)),
        layers.Conv2D(32, 3, activation='relu'), layers.MaxPooling2D(2, padding='same'),
        layers.Conv2D(64, 2, activation='relu'), layers.MaxPooling2D(2, padding='same'),
        layers.Conv2D(128, 2, activation='relu'), layers.MaxPooling2D(2, padding='same'),
        layers.Flatten(), layers.Dense(500, activation='relu'),
        layers.Dense(500, activation='relu'), layers.Dropout(0.5), layers.Dense(30)])
    assert net.count_params() == 8051502
    net.compile(optimizer=keras.optimizers.Adam(1e-3),
                loss=lambda t, p: ops.sqrt(ops.mean(ops.square(t - p))))

    class Timer(keras.callbacks.Callback):
        times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.t)
    net.fit(X, y, batch_size=64, epochs=epochs + 1, shuffle=True, verbose=0,
            callbacks=[Timer()])
    _report_epochs(len(X), Timer.times[1:])


def _report_epochs(n, times):
    # The fastest epoch: other work on a shared machine only ever slows one down.
    fastest = min(times)
    print(json.dumps({'samples_per_s': n / fastest, 'epoch_s': fastest, 'epochs': len(times)}))


def worker_matmul():
    """Attainable float32 FLOP/s of this CPU through TensorFlow (a big matmul)."""
    import tensorflow as tf
    a = tf.random.normal([2048, 2048])
    b = tf.random.normal([2048, 2048])
    tf.matmul(a, b).numpy()
    t = time.perf_counter()
    for _ in range(10):
        c = tf.matmul(a, b)
    c.numpy()
    dt = (time.perf_counter() - t) / 10
    print(json.dumps({'gflops': 2 * 2048 ** 3 / dt / 1e9}))


def worker_predict(data_dir, model_dir, photos):
    from facial_keypoints import data, photo
    from facial_keypoints.predict import Predictor
    pixels, _ = data.load_test(data_dir)
    X = data.scale_images(pixels)
    out = {}
    with Predictor(model_dir) as p:
        p.predict(X[:64])
        t = time.perf_counter()
        p.predict(X)
        out['test_ms_per_image'] = 1000 * (time.perf_counter() - t) / len(X)
        out['test_images'] = len(X)
        faces, t = 0, time.perf_counter()
        for path in photos:
            boxes, _ = photo.predict_photo(photo.read_photo(path), p)
            faces += len(boxes)
        if faces:
            out['photo_ms_per_face'] = 1000 * (time.perf_counter() - t) / faces
            out['photo_faces'] = faces
    print(json.dumps(out))


# ---- the driver ----------------------------------------------------------------

def run_worker(*args, timeout=900, env=None):
    """Run a worker in a fresh process; returns the JSON it prints last."""
    p = subprocess.run([sys.executable, os.path.abspath(__file__), '--worker'] + list(args),
                       capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', **(env or {})))
    if p.returncode != 0:
        raise RuntimeError('worker {} failed:\n{}'.format(args, p.stderr[-3000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def peak_rss_mb(cmd, timeout=3600):
    """Peak resident memory (MB) of a command, from /usr/bin/time-like wait4 data."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise RuntimeError('{} failed'.format(cmd))
    return usage.ru_maxrss / 1024


def machine():
    model = platform.processor()
    try:
        with open('/proc/cpuinfo') as f:
            model = next(l.split(':', 1)[1].strip() for l in f if l.startswith('model name'))
    except (OSError, StopIteration):
        pass
    import importlib.metadata as md
    return {'cpu': model, 'cores': os.cpu_count(), 'python': platform.python_version(),
            'tensorflow': md.version('tensorflow'), 'keras': md.version('keras')}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='fewer repeats (under 5 minutes)')
    ap.add_argument('--data-dir', default=None, help='Kaggle-format data (default: faces15 '
                    'if ../shared is here, else a demo set)')
    ap.add_argument('--worker', nargs='+', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        name, *rest = args.worker
        if name == 'parse':
            return worker_parse(rest[0], int(rest[1]))
        if name == 'train':
            return worker_train(rest[0], rest[1], int(rest[2]))
        if name == 'matmul':
            return worker_matmul()
        if name == 'predict':
            return worker_predict(rest[0], rest[1], rest[2:])
        raise SystemExit('unknown worker ' + name)

    start = time.time()
    tmp = tempfile.mkdtemp(prefix='fkp-bench-')
    data_dir = args.data_dir or (os.path.join(SHARED, 'faces15')
                                 if os.path.isdir(os.path.join(SHARED, 'faces15')) else None)
    if data_dir is None:
        from facial_keypoints import demo
        data_dir = demo.make_demo_data(os.path.join(tmp, 'demo'), n_train=1000, log=lambda *a: None)
    epochs = 2 if args.quick else 4
    info = machine()
    print('machine: {cpu}, {cores} cores, Python {python}, TensorFlow {tensorflow}, '
          'Keras {keras}'.format(**info))
    print('data: {}'.format(data_dir))

    # Kaggle ships training.csv as text (in a .zip): time that form first, then
    # the file as given when it is compressed (faces15's .gz).
    from facial_keypoints import data
    given = data.find_data_file(data_dir, 'training.csv')
    parse_dirs = [data_dir]
    if not given.endswith('.csv'):
        parse_dirs.insert(0, os.path.join(tmp, 'plain'))
        os.makedirs(parse_dirs[0])
        with open(os.path.join(parse_dirs[0], 'training.csv'), 'wb') as f:
            f.write(data._read_bytes(given))
    repeats = 1 if args.quick else 3
    print('\n1. input_data (best of {}):'.format(repeats))
    parses = []
    for d in parse_dirs:
        result = run_worker('parse', d, str(repeats))
        parses.append(result)
        print('   {} ({:.0f} MB; reading{} its bytes alone takes {:.2f} s):'.format(
            result['file'], os.path.getsize(result['file']) / 1e6,
            '' if result['file'].endswith('.csv') else ' and inflating', result['read_bytes_s']))
        for tag in ('complete_rows', 'all_rows'):
            r = result[tag]
            print('   {:14s} {:5d} rows: post {:6.2f} s | ours {:5.3f} s = {:5.1f}x | filling '
                  'the cache {:5.3f} s = {:5.1f}x | cache hit {:5.3f} s = {:6.1f}x | identical '
                  'float32 arrays: {}'.format(
                      tag.replace('_', ' '), r['rows'], r['post_s'], r['ours_s'],
                      r['post_s'] / r['ours_s'], r['cache_fill_s'],
                      r['post_s'] / r['cache_fill_s'], r['cache_hit_s'],
                      r['post_s'] / r['cache_hit_s'], r['identical']))
    parse = parses[0]

    rounds = 1 if args.quick else 2
    print('\n2. training throughput, blog graph, batch 64, Adam 1e-3 (fastest of {} epochs, '
          'in each of {} round(s) through the variants, best round):'.format(epochs, rounds))
    peak = run_worker('matmul')
    speeds = {}
    # TensorFlow's x86 build runs convolutions through oneDNN unless told not to.
    variants = [('post_literal', None), ('keras', None), ('project', None),
                ('project_threads_2x1', None), ('project_xla', None),
                ('project_onednn_off', {'TF_ENABLE_ONEDNN_OPTS': '0'}), ('kernels_only', None)]
    # Round-robin, so a spell of noise on the machine hits one round of a
    # variant rather than all of it.
    for _ in range(rounds):
        for variant, env in variants:
            r = run_worker('train', variant, data_dir, str(epochs), env=env)
            speeds[variant] = max(speeds.get(variant, 0.0), r['samples_per_s'])
    base = speeds['project']
    for variant, sps in speeds.items():
        gflops = sps * POST_MFLOP_PER_SAMPLE / 1000
        print('   {:20s} {:7.1f} samples/s  project/this = {:4.2f}  {:6.1f} GFLOP/s = {:3.0f}% '
              'of the measured matmul peak'.format(variant, sps, base / sps, gflops,
                                                  100 * gflops / peak['gflops']))
    print('   (matmul peak through TensorFlow: {:.0f} GFLOP/s)'.format(peak['gflops']))
    print('   vs the literal port: project {:.2f}x; with no input path at all (kernels_only) '
          '{:.2f}x, the most any loop around this graph can reach here'.format(
              base / speeds['post_literal'], speeds['kernels_only'] / speeds['post_literal']))

    print('\n3. peak memory (RSS) of training runs on {}:'.format(data_dir))
    model_dir = os.path.join(tmp, 'model')
    cmd = [sys.executable, os.path.join(ROOT, 'run_train.py'), '--data-dir', data_dir,
           '--model-dir', model_dir, '--seed', '1', '--quiet']
    if args.quick:
        cmd += ['--epochs', '2']
    rss_blog = peak_rss_mb(cmd)
    rows_blog = parse['complete_rows']['rows']
    # Memory per row loaded: the same recipe (improved, 1 epoch) on all rows and
    # on the first half of them.
    half_dir = os.path.join(tmp, 'half')
    os.makedirs(half_dir)
    with open(os.path.join(half_dir, 'training.csv'), 'wb') as f:
        lines = data._read_bytes(data.find_data_file(data_dir, 'training.csv')).split(b'\n')
        f.write(b'\n'.join(lines[:1 + (len(lines) - 1) // 2]) + b'\n')
    rss = {}
    for name, d in (('all', data_dir), ('half', half_dir)):
        rss[name] = peak_rss_mb([sys.executable, os.path.join(ROOT, 'run_train.py'),
                                 '--data-dir', d, '--model-dir', os.path.join(tmp, 'imp_' + name),
                                 '--recipe', 'improved', '--epochs', '1', '--seed', '1',
                                 '--quiet'])
    rows_all = parse['all_rows']['rows']
    rows_half = (len(lines) - 1) // 2
    per_row = (rss['all'] - rss['half']) / (rows_all - rows_half)
    print('   blog recipe, {} ({} complete rows): {:.0f} MB'.format(
        'full schedule' if not args.quick else '2 epochs', rows_blog, rss_blog))
    print('   improved recipe, 1 epoch: {:.0f} MB on {} rows, {:.0f} MB on {} rows: {:.2f} MB '
          'per row'.format(rss['all'], rows_all, rss['half'], rows_half, per_row))
    print("   estimate for Kaggle's 7,049 rows: ~{:.0f} MB (improved, every row); ~{:.0f} MB "
          "(blog, its 2,140 complete rows)".format(
              rss['all'] + per_row * (7049 - rows_all), rss_blog + per_row * (2140 - rows_blog)))

    print('\n4. prediction:')
    photos = []
    if os.path.isdir(os.path.join(SHARED, 'photos')):
        photos = sorted(os.path.join(SHARED, 'photos', n)
                        for n in os.listdir(os.path.join(SHARED, 'photos')))
    pred = run_worker('predict', data_dir, model_dir, *photos)
    print('   test set: {:.2f} ms per image ({} images, batches of 64)'.format(
        pred['test_ms_per_image'], pred['test_images']))
    if 'photo_ms_per_face' in pred:
        print('   photographs: {:.0f} ms per face ({} faces: read, detect, crop, predict)'.format(
            pred['photo_ms_per_face'], pred['photo_faces']))
    print('\nbenchmark took {:.0f} s'.format(time.time() - start))


if __name__ == '__main__':
    main()
