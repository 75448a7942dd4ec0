"""Benchmarks: every figure is a ratio measured in this one run, on this machine.

    python bench/run.py --data-dir DIR             # about 11 minutes on 2 CPU cores
    python bench/run.py --data-dir DIR --quick     # about 6 minutes
    python bench/run.py --data-dir DIR --photos PHOTOS   # times photos too
    python bench/run.py --predict MODEL_DIR [--photos PHOTOS]   # prediction only
    python bench/run.py --recipes --data-dir DIR [--bf16]       # improved against compact
    ONEDNN_MAX_CPU_ISA=AVX2 python bench/run.py --recipes --data-dir DIR   # as on an AVX2 CPU

DIR holds Kaggle-format data (training.csv[.gz], test.csv[.gz]). Each
training figure comes from a fresh process; the variants of one comparison
take turns (round-robin), and each keeps its fastest epoch, because other
work on a shared machine only ever slows one down. Not a test: nothing here
asserts a time. docs/performance.md shows one run's output.
"""

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


# ---- workers: each prints one JSON line --------------------------------------------

def post_input_data(path, test=False):
    """The post's input_data(), literally (np.fromstring is deprecated but works)."""
    import numpy as np
    import pandas as pd
    df = pd.read_csv(path)
    cols = df.columns[:-1]
    df = df.dropna()
    df['Image'] = df['Image'].apply(lambda img: np.fromstring(img, sep=' ') / 255.0)
    X = np.vstack(df['Image']).reshape((-1, 96, 96, 1))
    y = None if test else df[cols].values / 96.0
    return X, y


def worker_parse(data_dir, repeats):
    import numpy as np
    from facial_keypoints.files import cache
    from facial_keypoints import data
    path = data.find_data_file(data_dir, 'training.csv')

    def best(fn):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return min(times), out

    def fresh(dropna):
        shutil.rmtree(os.path.join(data_dir, cache.FOLDER_NAME), ignore_errors=True)
        return data.input_data(data_dir=data_dir, dropna=dropna)
    out = {'rows_all': None}
    t_post, (Xp, yp) = best(lambda: post_input_data(path))
    t_first, (X, y) = best(lambda: fresh(True))
    t_hit, (Xc, yc) = best(lambda: data.input_data(data_dir=data_dir))
    t_all, (Xa, _) = best(lambda: data.input_data(data_dir=data_dir, dropna=False))
    out.update(post_s=t_post, first_s=t_first, hit_s=t_hit, all_rows_hit_s=t_all,
               rows=len(X), rows_all=len(Xa),
               identical=bool(np.array_equal(Xp.astype(np.float32), X)
                              and np.array_equal(X, Xc)
                              and np.array_equal(yp.astype(np.float32), y)))
    print(json.dumps(out))


def _training_rows(data_dir, recipe):
    from facial_keypoints import data
    X, y = data.input_data(data_dir=data_dir, dropna=recipe == 'blog')
    return X[100:], y[100:]


def worker_step(recipe, data_dir, use_bf16, epochs):
    """Samples per second of the training step alone (fixed batches of 64,
    no augmentation): the graph's arithmetic, float32 or bfloat16."""
    import numpy as np
    import tensorflow as tf
    from facial_keypoints.runs import bf16
    from facial_keypoints.improved import model as improved_model
    from facial_keypoints import model
    tf1 = tf.compat.v1
    X, y = _training_rows(data_dir, recipe)
    y = np.nan_to_num(y, nan=0.5)
    with tf.Graph().as_default():
        tf1.set_random_seed(0)
        x, y_, keep_prob = model.placeholders()
        if recipe == 'blog':
            _, loss = model.model(x, y_, keep_prob)
        else:
            loss = improved_model.loss(improved_model.network(x, keep_prob, True), y_,
                                       tf.zeros_like(y_[:, 0], tf.bool))
        with tf.control_dependencies(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)):
            step = tf1.train.AdamOptimizer(1e-3).minimize(loss)
        with tf1.Session(config=bf16.session_config(use_bf16 == 'bf16')) as sess:
            sess.run(tf1.global_variables_initializer())
            times = []
            for _ in range(epochs + 1):
                t = time.perf_counter()
                for j in range(0, len(X) - 63, 64):
                    sess.run(step, {x: X[j:j + 64], y_: y[j:j + 64], keep_prob: 0.5})
                times.append(time.perf_counter() - t)
    n = (len(X) // 64) * 64
    print(json.dumps({'samples_per_s': n / min(times[1:])}))


def worker_epoch(recipe, data_dir, use_bf16, epochs, model_dir):
    """The project's whole epoch as train() runs it (input, augmentation,
    validation, history, TensorBoard, checkpoints): the fastest epoch's seconds."""
    from facial_keypoints.runs.config import TrainConfig
    from facial_keypoints.improved.train import train_improved
    from facial_keypoints.train import train
    cfg = TrainConfig(data_dir=data_dir, model_dir=model_dir, recipe=recipe, epochs=epochs,
                      patience=epochs, seed=1, bf16=use_bf16 == 'bf16' or None, quiet=True)
    r = (train if recipe == 'blog' else train_improved)(cfg, log=lambda *a: None)
    print(json.dumps({'epoch_s': min(h['seconds'] for h in r['history'][1:])}))


def worker_port(data_dir, epochs, save_path):
    """The post's __main__ literally ported to Python 3 (float64 arrays, whole
    arrays re-indexed each epoch, one-shot validation, Saver() of everything),
    as the post runs it; the driver times the whole process."""
    import tensorflow as tf
    from facial_keypoints import data, model
    tf1 = tf.compat.v1
    X, y = post_input_data(data.find_data_file(data_dir, 'training.csv'))
    with tf.Graph().as_default():
        x, y_, keep_prob = model.placeholders()
        y_conv, rmse = model.model(x, y_, keep_prob)
        train_step = tf1.train.AdamOptimizer(1e-3).minimize(rmse)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            X_valid, y_valid = X[:100], y[:100]
            X_train, y_train = X[100:], y[100:]
            best_validation_loss, current_epoch = 1000000.0, 0
            TRAIN_SIZE = X_train.shape[0]
            train_index = list(range(TRAIN_SIZE))
            saver = tf1.train.Saver()
            for i in range(epochs):
                random.shuffle(train_index)
                X_train, y_train = X_train[train_index], y_train[train_index]
                for j in range(0, TRAIN_SIZE, 64):
                    train_step.run(feed_dict={x: X_train[j:j + 64], y_: y_train[j:j + 64],
                                              keep_prob: 0.5})
                validation_loss = rmse.eval(feed_dict={x: X_valid, y_: y_valid,
                                                       keep_prob: 1.0})
                print('epoch {0} done! validation loss:{1}'.format(i, validation_loss * 96.0),
                      file=sys.stderr)
                if validation_loss < best_validation_loss:
                    best_validation_loss = validation_loss
                    current_epoch = i
                    saver.save(sess, save_path)
    print(json.dumps({'best_epoch': current_epoch, 'rmse_px': float(best_validation_loss) * 96}))


def worker_predict(model_dir, export_dir, use_bf16, photos):
    import numpy as np
    import tensorflow as tf
    from facial_keypoints.faces import photo
    from facial_keypoints import units
    from facial_keypoints.faces.detect import Detector
    from facial_keypoints.serving.predictor import Predictor
    rng = np.random.default_rng(0)
    X = units.scale_images(rng.integers(0, 256, (640, 9216)))
    out = {}
    with Predictor(model_dir, use_bf16 == 'bf16') as p:
        p.predict(X[:64])
        t = time.perf_counter()
        p.predict(X)
        out['batch_ms_per_face'] = 1000 * (time.perf_counter() - t) / len(X)
        t = time.perf_counter()
        for k in range(50):
            p.predict(X[k:k + 1])
        out['single_ms_per_face'] = 1000 * (time.perf_counter() - t) / 50
        if photos:
            detector, faces = Detector('auto'), 0
            t = time.perf_counter()
            for path in photos:
                faces += len(photo.find_keypoints(photo.read_photo(path), p, detector)[0])
            out['photo_ms_per_face'] = 1000 * (time.perf_counter() - t) / max(faces, 1)
    if export_dir:
        images = np.round(X * 255).astype(np.uint8)
        signature = tf.saved_model.load(export_dir).signatures['serving_default']
        signature(images=tf.constant(images[:64]))
        t = time.perf_counter()
        for j in range(0, len(images), 64):
            signature(images=tf.constant(images[j:j + 64]))
        out['saved_model_ms_per_face'] = 1000 * (time.perf_counter() - t) / len(images)
        # The interpreter's own default (one thread), then one thread per core.
        for key, threads in (('tflite_ms_per_face', None),
                             ('tflite_all_cores_ms_per_face', os.cpu_count())):
            lite = tf.lite.Interpreter(os.path.join(export_dir, 'keypoints.tflite'),
                                       num_threads=threads)
            run = lite.get_signature_runner('serving_default')
            run(images=images[:1])
            t = time.perf_counter()
            for k in range(50):
                run(images=images[k:k + 1])
            out[key] = 1000 * (time.perf_counter() - t) / 50
    print(json.dumps(out))


WORKERS = {'parse': worker_parse, 'step': worker_step, 'epoch': worker_epoch,
           'port': worker_port, 'predict': worker_predict}


# ---- the driver ------------------------------------------------------------------------

def run_worker(*args, timeout=3600):
    """Run a worker in a fresh process: (the JSON it printed last, wall seconds)."""
    start = time.time()
    p = subprocess.run([sys.executable, os.path.abspath(__file__), '--worker'] +
                       [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    if p.returncode != 0:
        raise RuntimeError('worker {} failed:\n{}'.format(args, p.stderr[-3000:]))
    return json.loads(p.stdout.strip().splitlines()[-1]), time.time() - start


def timed_command(cmd):
    """(wall seconds, peak RSS MB) of a command."""
    start = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise RuntimeError('{} failed'.format(' '.join(cmd)))
    return time.time() - start, usage.ru_maxrss / 1024


def machine():
    model = platform.processor()
    try:
        with open('/proc/cpuinfo') as f:
            model = next(line.split(':', 1)[1].strip() for line in f
                         if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    import importlib.metadata as md
    from facial_keypoints.runs.bf16 import cpu_has_bf16
    limit = os.environ.get('ONEDNN_MAX_CPU_ISA')
    return '{}, {} cores, bfloat16 {}, Python {}, TensorFlow {}{}'.format(
        model, os.cpu_count(), 'yes' if cpu_has_bf16() else 'no', platform.python_version(),
        md.version('tensorflow'), ', oneDNN limited to ' + limit if limit else '')


def plain_copy(data_dir, tmp):
    """A folder with training.csv and test.csv as text (as Kaggle's zips hold them)."""
    from facial_keypoints import data
    out = os.path.join(tmp, 'plain')
    os.makedirs(out)
    for name in ('training.csv', 'test.csv'):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data._read_bytes(data.find_data_file(data_dir, name)))
    return out


def time_recipes(data_dir, uses, rounds=2):
    """The seconds of an epoch of the improved and the compact recipe (all of
    faces15's training rows), each the fastest of its epochs after the first,
    over rounds taken in turns; and what 100 epochs take."""
    tmp = tempfile.mkdtemp(prefix='fkp-bench-')
    epoch_s = {}
    for _ in range(rounds):
        for recipe in ('improved', 'compact'):
            for use in uses:
                model_dir = os.path.join(tmp, '{}-{}'.format(recipe, use))
                e, _ = run_worker('epoch', recipe, data_dir, use, 2, model_dir)
                epoch_s[recipe, use] = min(epoch_s.get((recipe, use), 1e9), e['epoch_s'])
                shutil.rmtree(model_dir)
    shutil.rmtree(tmp)
    print('an epoch, seconds (best of {} rounds; 100 epochs in minutes):'.format(rounds))
    for use in uses:
        i, c = epoch_s['improved', use], epoch_s['compact', use]
        print('   {:8s} improved {:6.1f} s ({:4.0f} min) | compact {:6.1f} s ({:4.0f} min) = '
              '{:.1f}x'.format('float32' if use == 'f32' else 'bfloat16', i, i * 100 / 60,
                               c, c * 100 / 60, i / c))


PREDICTION_HEADING = ('prediction, ms per face (640 faces in batches of 64; one face at a time; '
                      'photos: read, detect, crop, predict):')


def time_prediction(label, model_dir, export_dir, photo_dir):
    """Print section 4's lines for one model folder, exported to export_dir."""
    photos = sorted(os.path.join(photo_dir, n) for n in os.listdir(photo_dir)) \
        if photo_dir else []
    subprocess.run([sys.executable, os.path.join(ROOT, 'run_export.py'), '--model-dir',
                    model_dir, '--output', export_dir], check=True, capture_output=True)
    from facial_keypoints.runs.bf16 import cpu_has_bf16
    for use in ('f32', 'bf16') if cpu_has_bf16() else ('f32',):
        p, _ = run_worker('predict', model_dir, export_dir if use == 'f32' else '', use, *photos)
        print('   {:9s} {:9s} batched {:5.2f} | one at a time {:5.2f}{}{}'.format(
            label, 'bfloat16' if use == 'bf16' else 'float32', p['batch_ms_per_face'],
            p['single_ms_per_face'],
            ' | photos {:.0f}'.format(p['photo_ms_per_face']) if 'photo_ms_per_face' in p
            else '',
            ' | SavedModel batched {:.2f} | TFLite one at a time {:.2f} ({:.2f} with {} '
            'threads)'.format(p['saved_model_ms_per_face'], p['tflite_ms_per_face'],
                              p['tflite_all_cores_ms_per_face'], os.cpu_count())
            if 'tflite_ms_per_face' in p else ''))
    print('   {} export: {:.1f} MB'.format(label, sum(
        os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(export_dir)
        for n in ns) / 1e6))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--data-dir', help='Kaggle-format data (training.csv, test.csv)')
    ap.add_argument('--quick', action='store_true', help='fewer epochs and rounds')
    ap.add_argument('--photos', help='a folder of photos to time prediction on (optional)')
    ap.add_argument('--recipes', action='store_true',
                    help='only time an epoch of the improved and the compact recipe')
    ap.add_argument('--bf16', action='store_true', help='--recipes: with --bf16 too')
    ap.add_argument('--predict', metavar='MODEL_DIR',
                    help='only time prediction (section 4) with this trained model folder')
    ap.add_argument('--worker', nargs='+', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not (args.data_dir or args.predict or args.worker):
        ap.error('--data-dir is required')
    return args


def worker(name, *rest):
    """Run one worker in this process, its arguments given as strings."""
    if name == 'predict':
        return worker_predict(rest[0], rest[1], rest[2], rest[3:])
    convert = {'parse': (str, int), 'step': (str, str, str, int),
               'epoch': (str, str, str, int, str), 'port': (str, int, str)}[name]
    return WORKERS[name](*[f(v) for f, v in zip(convert, rest)])


def time_parsing(plain, repeats):
    """Section 1: the post's input_data() against this project's, first read and cached."""
    r, _ = run_worker('parse', plain, repeats)
    print('\n1. input_data on training.csv as text, {} complete rows (best of {}):'.format(
        r['rows'], repeats))
    print('   the post {:.2f} s | first read {:.3f} s = {:.1f}x | repeated (cache) '
          '{:.3f} s = {:.1f}x | identical arrays: {}'.format(
              r['post_s'], r['first_s'], r['post_s'] / r['first_s'], r['hit_s'],
              r['post_s'] / r['hit_s'], r['identical']))
    print('   all {} rows, repeated: {:.3f} s'.format(r['rows_all'], r['all_rows_hit_s']))


def time_bf16(plain, tmp, epochs, rounds):
    """Section 2: a training step and an epoch of each recipe, float32 against bfloat16."""
    variants = [(recipe, use) for recipe in ('blog', 'improved') for use in ('f32', 'bf16')]
    steps, epoch_s = {}, {}
    for _ in range(rounds):
        for recipe, use in variants:
            s, _ = run_worker('step', recipe, plain, use, epochs)
            steps[recipe, use] = max(steps.get((recipe, use), 0), s['samples_per_s'])
            e, _ = run_worker('epoch', recipe, plain, use, epochs + 1,
                              os.path.join(tmp, 'epoch-{}-{}'.format(recipe, use)))
            epoch_s[recipe, use] = min(epoch_s.get((recipe, use), 1e9), e['epoch_s'])
            shutil.rmtree(os.path.join(tmp, 'epoch-{}-{}'.format(recipe, use)))
    print('\n2. bfloat16 (--bf16) against float32: the training step (samples/s, batch 64), '
          'and the whole epoch as train() runs it (seconds); best of {} rounds'.format(rounds))
    for recipe in ('blog', 'improved'):
        f, b = steps[recipe, 'f32'], steps[recipe, 'bf16']
        ef, eb = epoch_s[recipe, 'f32'], epoch_s[recipe, 'bf16']
        print('   {:9s} step: float32 {:6.1f}, bfloat16 {:6.1f} samples/s = {:.2f}x '
              '| epoch: {:5.1f} s, {:5.1f} s = {:.2f}x'.format(
                  recipe, f, b, b / f, ef, eb, ef / eb))


def time_schedule(plain, tmp, schedule):
    """Section 3: the post's whole schedule, ported literally against run_train.py,
    and the peak memory of a run of each recipe. Returns the improved run's folder."""
    print('\n3. the post\'s full schedule ({} epochs, no early stop), end to end from a fresh '
          'process and an empty cache:'.format(schedule))
    port, t_port = run_worker('port', plain, schedule, os.path.join(tmp, 'port', 'model'))
    times = {}
    for use in ('f32', 'bf16'):
        shutil.rmtree(os.path.join(plain, '.facial_keypoints_cache'), ignore_errors=True)
        model_dir = os.path.join(tmp, 'blog-' + use)
        cmd = [sys.executable, os.path.join(ROOT, 'run_train.py'), '--data-dir', plain,
               '--model-dir', model_dir, '--epochs', str(schedule), '--patience',
               str(schedule), '--seed', '1', '--quiet'] + (['--bf16'] if use == 'bf16' else [])
        times[use] = timed_command(cmd)
    (f32, _), (bf16, _) = times['f32'], times['bf16']
    print('   the post literally ported: {:.0f} s | this project: {:.0f} s = {:.2f}x | with '
          '--bf16: {:.0f} s = {:.2f}x'.format(t_port, f32, t_port / f32, bf16, t_port / bf16))
    print('   peak memory of the project\'s run: {:.0f} MB (float32), {:.0f} MB (bfloat16)'
          .format(times['f32'][1], times['bf16'][1]))
    improved_dir = os.path.join(tmp, 'improved')
    t, rss = timed_command([sys.executable, os.path.join(ROOT, 'run_train.py'), '--data-dir',
                            plain, '--model-dir', improved_dir, '--recipe', 'improved',
                            '--epochs', '1', '--seed', '1', '--quiet', '--bf16'])
    print('   the improved recipe, 1 epoch with --bf16, all rows: peak memory {:.0f} MB'
          .format(rss))
    return improved_dir


def main():
    args = parse_args()
    if args.worker:
        return worker(*args.worker)
    print('machine: ' + machine())
    if args.recipes:
        return time_recipes(args.data_dir, ('f32', 'bf16') if args.bf16 else ('f32',))
    tmp = tempfile.mkdtemp(prefix='fkp-bench-')
    if args.predict:
        print('\n4. ' + PREDICTION_HEADING)
        time_prediction(os.path.basename(os.path.normpath(args.predict)), args.predict,
                        os.path.join(tmp, 'export'), args.photos)
        return shutil.rmtree(tmp)
    start = time.time()
    plain = plain_copy(args.data_dir, tmp)
    epochs, rounds, schedule = (2, 1, 20) if args.quick else (3, 2, 100)
    print('data: {} (as text in {})'.format(args.data_dir, plain))
    time_parsing(plain, 1 if args.quick else 3)
    time_bf16(plain, tmp, epochs, rounds)
    improved_dir = time_schedule(plain, tmp, schedule)
    print('\n4. ' + PREDICTION_HEADING)
    for recipe, model_dir in (('blog', os.path.join(tmp, 'blog-f32')), ('improved', improved_dir)):
        time_prediction(recipe, model_dir, os.path.join(tmp, 'export-' + recipe), args.photos)
    shutil.rmtree(tmp)
    print('\nbenchmark took {:.0f} s'.format(time.time() - start))


if __name__ == '__main__':
    main()
