"""What a careless user can do wrong, one case a row: training data, test data
and lookup tables, model folders, outputs, photos, video and flags.

For every case: the exit status, a single line "error: ..." naming the file
(or flag) and the problem, and no file that existed before has changed.
"""

import gzip
import io
import json
import os
import re
import struct
import zipfile
import zlib

import numpy as np
import pytest

from conftest import (EARLIER_SUBMISSION, case_folders, digest, image_field, main_status,
                      replace_bytes, run_script)
from facial_keypoints import constants
from facial_keypoints.runs import lock

COLS = constants.KEYPOINT_COLUMNS
HEADER = ','.join(COLS + ['Image'])
# The table's commands, as the scripts' names.
SCRIPTS = {'train': 'run_train.py', 'predict': 'run_predict.py', 'export': 'run_export.py'}


# ---- building the files of a case -------------------------------------------------

def row(points=None, image=None):
    points = ['{:.2f}'.format(30 + j / 3) for j in range(30)] if points is None else points
    return ','.join([str(p) for p in points] + [image_field() if image is None else image])


def training(d, *rows, header=HEADER, name='training.csv'):
    rows = rows or [row() for _ in range(3)]
    (d / name).write_text('\n'.join([header] + list(rows)) + '\n')


def with_value(column, value):
    points = ['{:.2f}'.format(30 + j / 3) for j in range(30)]
    points[COLS.index(column)] = value
    return row(points)


def pixels(values):
    return image_field(values)


def zipped(d, members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for name, text in members.items():
            z.writestr(name, text)
    (d / 'training.zip').write_bytes(buf.getvalue())


def huge_png(path, side=40000):
    """A PNG whose header says side x side pixels (the pixels themselves cut)."""
    def chunk(kind, body):
        return (struct.pack('>I', len(body)) + kind + body
                + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff))
    ihdr = struct.pack('>IIBBBBB', side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr)
                     + chunk(b'IDAT', zlib.compress(b'\0' * 1000)) + chunk(b'IEND', b''))


def edit_json(path, change):
    value = json.load(open(path))
    path.write_text(json.dumps(change(value)))


def hparams(m, **kw):
    edit_json(m / 'hparams.json', lambda h: dict(h, **kw))


def photo(path, size=(120, 160)):
    import cv2
    cv2.imwrite(str(path), np.full(size, 90, np.uint8))


def video_file(path, frames=3):
    import cv2
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10, (64, 48))
    for _ in range(frames):
        w.write(np.zeros((48, 64, 3), np.uint8))
    w.release()


def other_graph_checkpoint(m):
    import tensorflow as tf
    tf1 = tf.compat.v1
    for name in os.listdir(m):
        os.remove(m / name)
    with tf.Graph().as_default():
        tf.Variable(tf.zeros([5, 5, 1, 8]), name='Variable')
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(sess, str(m / 'model'), global_step=0)


def truncate(m, suffix, keep=100, prefix='model-'):
    (path,) = [m / n for n in os.listdir(m) if n.startswith(prefix) and n.endswith(suffix)]
    replace_bytes(path, path.read_bytes()[:keep])


# ---- the cases ------------------------------------------------------------------------
# (id, command, setup(d: data folder, m: model folder, t: case folder), argv, status,
#  the message). argv and message may name {d}, {m}, {t}; a message is a regex
#  matched against the one error line.

T, P, E = 'train', 'predict', 'export'
TRAIN = ['--data-dir', '{d}', '--model-dir', '{t}/new', '--epochs', '1', '--validation-size', '8']
PRED = ['--data-dir', '{d}', '--model-dir', '{m}', '--output', '{t}/submit.csv']
NO_SETUP = None

CASES = [
    # -- training data
    ('no training.csv', T, lambda d, m, t: os.remove(d / 'training.csv'), TRAIN, 2,
     r'found no training data: no training.csv in {d} .*kaggle competitions download'),
    ('data folder missing', T, NO_SETUP, ['--data-dir', '{t}/nope'], 2,
     r'data folder {t}/nope does not exist'),
    ('data dir is the CSV', T, NO_SETUP, ['--data-dir', '{d}/training.csv'], 2,
     r'{d}/training.csv is a file, not a folder: give the folder that holds training.csv'),
    ('empty file', T, lambda d, m, t: (d / 'training.csv').write_text(''), TRAIN, 2,
     r'{d}/training.csv is empty'),
    ('header only', T, lambda d, m, t: training(d, ''), TRAIN, 2,
     r'{d}/training.csv has a header but no data rows'),
    ('no Image column', T, lambda d, m, t: training(
        d, *[row()[:row().rindex(',')]] * 3, header=','.join(COLS)), TRAIN, 2,
     r'{d}/training.csv lacks the column Image'),
    ('missing keypoint column', T, lambda d, m, t: training(
        d, *[row()[row().index(',') + 1:]] * 3, header=HEADER[HEADER.index(',') + 1:]), TRAIN, 2,
     r'{d}/training.csv lacks the column left_eye_center_x'),
    ('extra column', T, lambda d, m, t: training(
        d, *['1,' + row()] * 3, header='Extra,' + HEADER), TRAIN, 2,
     r'{d}/training.csv has unexpected column Extra'),
    ('column twice', T, lambda d, m, t: training(
        d, *[row()] * 3, header=HEADER.replace('nose_tip_x', 'left_eye_center_x')), TRAIN, 2,
     r'{d}/training.csv has the column left_eye_center_x more than once'),
    ('no header line', T, lambda d, m, t: training(d, *[row()] * 3, header=row()), TRAIN, 2,
     r'{d}/training.csv has no header line'),
    ('another kind of CSV', T,
     lambda d, m, t: (d / 'training.csv').write_text('name,age\nbob,3\n'), TRAIN, 2,
     r'{d}/training.csv names none of the expected columns: its first line should'),
    ('9215 pixels', T, lambda d, m, t: training(d, row(), row(image=pixels(np.zeros(9215, int)))),
     TRAIN, 2, r'{d}/training.csv line 3: the Image has 9215 values, expected 9216'),
    ('9217 pixels', T, lambda d, m, t: training(d, row(image=pixels(np.zeros(9217, int)))),
     TRAIN, 2, r'{d}/training.csv line 2: the Image has 9217 values, expected 9216'),
    ('pixel x', T, lambda d, m, t: training(d, row(image=pixels(['7'] * 9000 + ['x'] * 216))),
     TRAIN, 2, r"{d}/training.csv line 2: the Image holds 'x', not a whole number 0..255"),
    ('pixel 300', T, lambda d, m, t: training(d, row(), row(), row(image=pixels(
        [300] + [0] * 9215))), TRAIN, 2, r'{d}/training.csv line 4: the Image holds 300, outside'),
    ('pixel 1000', T, lambda d, m, t: training(d, row(image=pixels([0] * 9000 + [1000] + [0] * 215))),
     TRAIN, 2, r'{d}/training.csv line 2: the Image holds 1000, outside 0..255'),
    ('pixel -4', T, lambda d, m, t: training(d, row(image=pixels([-4] + [0] * 9215))), TRAIN, 2,
     r"{d}/training.csv line 2: the Image holds '-4', not a whole number"),
    ('pixel 12.5', T, lambda d, m, t: training(d, row(image=pixels(['12.5'] + [0] * 9215))),
     TRAIN, 2, r"{d}/training.csv line 2: the Image holds '12.5', not a whole number"),
    ('empty Image', T, lambda d, m, t: training(d, row(), row(image='')), TRAIN, 2,
     r'{d}/training.csv line 3: the Image field is empty'),
    ('keypoint abc', T, lambda d, m, t: training(d, with_value('nose_tip_y', 'abc')), TRAIN, 2,
     r"{d}/training.csv line 2: nose_tip_y is 'abc', not a number"),
    ('keypoint x10', T, lambda d, m, t: training(d, row(), with_value('nose_tip_x', '480.5')),
     TRAIN, 2, r'{d}/training.csv line 3: nose_tip_x is 480.5, outside the 96x96 image'),
    ('keypoint negative', T, lambda d, m, t: training(d, with_value('left_eye_center_y', '-3')),
     TRAIN, 2, r'{d}/training.csv line 2: left_eye_center_y is -3(\.0)?, outside the 96x96 image'),
    ('no complete row', T, lambda d, m, t: training(d, *[with_value('nose_tip_x', '')] * 3),
     TRAIN, 2, r'{d}/training.csv has no rows with all 30 keypoints'),
    ('too few rows', T, NO_SETUP, TRAIN + ['--validation-size', '1000'], 2,
     r'{d}/training.csv has \d+ rows with all 30 keypoints .*, too few for '
     r'--validation-size 1000'),
    ('Latin-1 byte', T, lambda d, m, t: (d / 'training.csv').write_bytes(
        '\n'.join([HEADER, row(), row().replace('30.00', 'caf\xe9', 1)]).encode('latin-1')),
     TRAIN, 2, r'{d}/training.csv line 3 is not UTF-8 text \(byte 0xe9\)'),
    ('row too long', T, lambda d, m, t: training(d, row(), '7,' + row()), TRAIN, 2,
     r'{d}/training.csv line 3 has 32 fields, expected 31'),
    ('truncated gz', T, lambda d, m, t: (os.remove(d / 'training.csv'), (d / 'training.csv.gz')
     .write_bytes(gzip.compress(('\n'.join([HEADER] + [row()] * 20)).encode())[:5000])), TRAIN, 2,
     r'cannot read {d}/training.csv.gz: .* \(is it truncated or damaged\?\)'),
    ('truncated zip', T, lambda d, m, t: (os.remove(d / 'training.csv'), zipped(
        d, {'training.csv': HEADER}), (d / 'training.zip').write_bytes(
        (d / 'training.zip').read_bytes()[:60])), TRAIN, 2, r'cannot read {d}/training.zip: '),
    ('zip of two CSVs', T, lambda d, m, t: (os.remove(d / 'training.csv'), zipped(
        d, {'a.csv': HEADER, 'b.csv': HEADER})), TRAIN, 2,
     r'{d}/training.zip should hold exactly one .csv file, it holds 2: a.csv, b.csv'),
    ('zip of no CSV', T, lambda d, m, t: (os.remove(d / 'training.csv'), zipped(
        d, {'notes.txt': 'hi'})), TRAIN, 2,
     r'{d}/training.zip should hold exactly one .csv file, it holds 0'),
    ('binary file', T, lambda d, m, t: (d / 'training.csv').write_bytes(b'\xff\xfe\x00\x01' * 50),
     TRAIN, 2, r'{d}/training.csv line 1 is not UTF-8 text'),
    # -- flags
    ('seed -1', T, NO_SETUP, TRAIN + ['--seed', '-1'], 2,
     r'--seed is -1; it must be a whole number from 0 to 2147483647'),
    ('seed too big', T, NO_SETUP, TRAIN + ['--seed', '2147483648'], 2,
     r'--seed is 2147483648; it must be a whole number from 0 to 2147483647'),
    ('epochs 0', T, NO_SETUP, TRAIN + ['--epochs', '0'], 2,
     r'--epochs is 0; it must be a whole number of at least 1'),
    ('batch size 0', T, NO_SETUP, TRAIN + ['--batch-size', '0'], 2,
     r'--batch-size is 0; it must be a whole number of at least 1'),
    ('learning rate inf', T, NO_SETUP, TRAIN + ['--learning-rate', 'inf'], 2,
     r'--learning-rate is inf; it must be a positive number'),
    ('learning rate -1', T, NO_SETUP, TRAIN + ['--learning-rate', '-1'], 2,
     r'--learning-rate is -1.0; it must be a positive number'),
    ('keep prob 0', T, NO_SETUP, TRAIN + ['--keep-prob', '0'], 2,
     r'--keep-prob is 0.0; it must be more than 0 and at most 1'),
    ('keep prob 1.5', T, NO_SETUP, TRAIN + ['--keep-prob', '1.5'], 2,
     r'--keep-prob is 1.5; it must be more than 0 and at most 1'),
    ('epochs abc', T, NO_SETUP, TRAIN + ['--epochs', 'abc'], 2,
     r"argument --epochs: invalid int value: 'abc' \(see --help\)"),
    ('unknown flag', T, NO_SETUP, TRAIN + ['--epcohs', '3'], 2,
     r'unrecognized arguments: --epcohs 3'),
    ('resume and overwrite', T, NO_SETUP, TRAIN + ['--resume', '--overwrite'], 2,
     r'--resume and --overwrite exclude each other'),
    ('validation size, improved', T, NO_SETUP,
     TRAIN + ['--recipe', 'improved', '--validation-size', '50'], 2,
     r'--validation-size applies to the blog recipe'),
    ('all rows, blog', T, NO_SETUP, TRAIN + ['--all-rows'], 2,
     r'--all-rows applies to the improved recipe'),
    ('all rows with patience', T, NO_SETUP, ['--data-dir', '{d}', '--model-dir', '{t}/new',
                                             '--recipe', 'improved', '--all-rows',
                                             '--patience', '5'], 2,
     r'--patience does nothing with --all-rows'),
    ('diverging run', T, NO_SETUP, TRAIN + ['--learning-rate', '1e30', '--batch-size', '4'], 2,
     r'training diverged in epoch 0: the validation RMSE is (nan|inf) .*--learning-rate'),
    # -- model folders, for training
    ('folder holds a run', T, NO_SETUP, ['--data-dir', '{d}', '--model-dir', '{m}'], 2,
     r'{m} already holds a training run; pass --resume to continue it or --overwrite'),
    ('state files missing', T, lambda d, m, t: [os.remove(m / n) for n in os.listdir(m)
                                                if not n.startswith('model-')],
     ['--data-dir', '{d}', '--model-dir', '{m}'], 2,
     r'{m} holds model-\d\.data-00000-of-00001, model-\d\.index(, model-\d\.json)?, which no '
     r'training run wrote there; move them'),
    ('resume an empty folder', T, lambda d, m, t: (t / 'empty').mkdir(),
     ['--data-dir', '{d}', '--model-dir', '{t}/empty', '--resume'], 2,
     r'--resume: {t}/empty holds no run to resume'),
    ('hparams is a list', T, lambda d, m, t: (m / 'hparams.json').write_text('[]'),
     ['--model-dir', '{m}', '--resume'], 2, r'{m}/hparams.json should hold a JSON object'),
    ('hparams not JSON', T, lambda d, m, t: (m / 'hparams.json').write_text('{"epochs": 3,'),
     ['--model-dir', '{m}', '--resume'], 2, r'cannot read {m}/hparams.json: '),
    ('epochs as a string', T, lambda d, m, t: hparams(m, epochs='5'),
     ['--model-dir', '{m}', '--resume'], 2,
     r"--epochs is '5' \(from {m}/hparams.json\); it must be a whole number"),
    ('unknown recipe', T, lambda d, m, t: hparams(m, recipe='fancy'),
     ['--model-dir', '{m}', '--resume'], 2,
     r"unknown recipe 'fancy' \(from {m}/hparams.json\); choose from blog, improved"),
    ('seed as null', T, lambda d, m, t: hparams(m, seed=None),
     ['--model-dir', '{m}', '--resume'], 2, r'{m}/hparams.json has no valid "seed"'),
    ('improved setting damaged', T,
     lambda d, m, t: hparams(m, recipe='improved', improved={'members': 'two'}),
     ['--model-dir', '{m}', '--resume'], 2,
     r'{m}/hparams.json has no valid "improved" setting \'members\''),
    ('history without epoch', T, lambda d, m, t: (m / 'history.json').write_text('[{"x": 1}]'),
     ['--model-dir', '{m}', '--resume'], 2,
     r'{m}/history.json entry 1 has no whole-number "epoch"'),
    ('state json damaged', T, lambda d, m, t: [
        (m / n).write_text('{}') for n in os.listdir(m) if n.startswith('last-') and
        n.endswith('.json')], ['--model-dir', '{m}', '--resume'], 2,
     r'{m}/last-2.json lacks a valid "epochs_done"'),
    ('resume a finished run', T, NO_SETUP, ['--model-dir', '{m}', '--resume'], 2,
     r'--resume: {m} has trained 2 epochs; give --epochs above 2 to go on\.'),
    ('resume with a bad --patience', T, NO_SETUP, ['--model-dir', '{m}', '--resume', '--patience',
                                                   '0'], 2,
     r'--patience is 0; it must be a whole number of at least 1\.'),
    ('resume with another seed', T, NO_SETUP, ['--model-dir', '{m}', '--resume', '--seed', '99'],
     2, r'--resume: {m} was trained with --seed 3; a resumed run keeps it'),
    ('resume, best model damaged', T, lambda d, m, t: truncate(m, '.data-00000-of-00001'),
     ['--model-dir', '{m}', '--resume', '--epochs', '4'], 2,
     r'checkpoint {m}/model-\d is damaged or unreadable'),
    ('resume, state damaged', T, lambda d, m, t: truncate(m, '.data-00000-of-00001',
                                                          prefix='last-'),
     ['--model-dir', '{m}', '--resume', '--epochs', '4'], 2,
     r'checkpoint {m}/last-2 is damaged or unreadable'),
    ('model dir is a file', T, lambda d, m, t: (t / 'file').write_text('x'),
     ['--data-dir', '{d}', '--model-dir', '{t}/file'], 2, r'--model-dir {t}/file is a file'),
    ('another run holds it', T, 'locked', ['--data-dir', '{d}', '--model-dir', '{m}',
                                           '--overwrite', '--validation-size', '8'], 2,
     r'another training run \(process \d+\) is using {m}'),
    ('train into an export', T, lambda d, m, t: ((t / 'exp').mkdir(),
                                                 (t / 'exp' / 'saved_model.pb').write_bytes(b'x')),
     ['--data-dir', '{d}', '--model-dir', '{t}/exp'], 2,
     r'--model-dir {t}/exp holds an exported model \(saved_model.pb\); train into another'),
    ('demo folder is a file', T, lambda d, m, t: (t / 'demo_data').write_text('x'),
     ['--demo'], 2, r'cannot create the demo folder {t}/demo_data: '),
    # -- test data, lookup tables, outputs
    ('no test.csv', P, lambda d, m, t: os.remove(d / 'test.csv'), PRED, 2,
     r'no test.csv in {d} \(also looked for test.csv.gz and test.zip\)'),
    ('blank ImageId', P, lambda d, m, t: (d / 'test.csv').write_text(
        'ImageId,Image\n1,{}\n ,{}\n3,{}\n'.format(*[image_field()] * 3)), PRED, 2,
     r'{d}/test.csv line 3: ImageId is empty, not a whole number of at least 1'),
    ('ImageId twice', P, lambda d, m, t: (d / 'test.csv').write_text(
        'ImageId,Image\n1,{}\n1,{}\n'.format(*[image_field()] * 2)), PRED, 2,
     r'{d}/test.csv line 3: ImageId 1 appears more than once'),
    ('ImageId 2.5', P, lambda d, m, t: (d / 'test.csv').write_text(
        'ImageId,Image\n2.5,{}\n'.format(image_field())), PRED, 2,
     r'{d}/test.csv line 2: ImageId is 2.5, not a whole number'),
    ('test without Image', P, lambda d, m, t: (d / 'test.csv').write_text('ImageId\n1\n'), PRED,
     2, r'{d}/test.csv lacks the column Image'),
    ('test pixels short', P, lambda d, m, t: (d / 'test.csv').write_text(
        'ImageId,Image\n1,{}\n'.format(image_field(np.zeros(100, int)))), PRED, 2,
     r'{d}/test.csv line 2: the Image has 100 values'),
    ('lookup missing', P, lambda d, m, t: os.remove(d / 'IdLookupTable.csv'), PRED, 2,
     r'lookup table {d}/IdLookupTable.csv does not exist'),
    ('lookup without header', P, lambda d, m, t: (d / 'IdLookupTable.csv').write_text(
        '1,1,nose_tip_x\n2,1,nose_tip_y\n'), PRED, 2,
     r'{d}/IdLookupTable.csv has no header line'),
    ('lookup unknown feature', P, lambda d, m, t: (d / 'IdLookupTable.csv').write_text(
        'RowId,ImageId,FeatureName,Location\n1,1,nose_x\n'), PRED, 2,
     r"{d}/IdLookupTable.csv line 2: unknown FeatureName 'nose_x'"),
    ('lookup unknown image', P, lambda d, m, t: (d / 'IdLookupTable.csv').write_text(
        'RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x\n2,99,nose_tip_y\n'), PRED, 2,
     r'{d}/IdLookupTable.csv line 3: ImageId 99 is not in the test set'),
    ('lookup RowId twice', P, lambda d, m, t: (d / 'IdLookupTable.csv').write_text(
        'RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x\n1,1,nose_tip_y\n'), PRED, 2,
     r'{d}/IdLookupTable.csv line 3: RowId 1 appears more than once'),
    ('lookup RowId empty', P, lambda d, m, t: (d / 'IdLookupTable.csv').write_text(
        'RowId,ImageId,FeatureName,Location\n,1,nose_tip_x\n'), PRED, 2,
     r'{d}/IdLookupTable.csv line 2: RowId is empty'),
    ('output is test.csv', P, NO_SETUP, PRED[:-1] + ['{d}/test.csv'], 2,
     r'--output {d}/test.csv is an input file; writing there would destroy it'),
    ('output is the lookup', P, NO_SETUP, PRED[:-1] + ['{d}/IdLookupTable.csv'], 2,
     r'--output {d}/IdLookupTable.csv is an input file'),
    ('output is a folder', P, NO_SETUP, PRED[:-1] + ['{t}'], 2,
     r'--output {t} is a folder; give a file name'),
    ('output folder missing', P, NO_SETUP, PRED[:-1] + ['{t}/no/submit.csv'], 2,
     r'cannot write {t}/no/submit.csv: folder {t}/no does not exist'),
    ('output is a model file', P, NO_SETUP, PRED[:-1] + ['{m}/hparams.json'], 2,
     r'--output {m}/hparams.json is a file of the model in {m}; writing there would damage it'),
    ('demo with a data dir', P, NO_SETUP, ['--demo', '--data-dir', '{d}'], 2,
     r'--demo predicts the demo data in demo_data; leave out --data-dir'),
    ('predict batch size 0', P, NO_SETUP, PRED + ['--batch-size', '0'], 2,
     r'--batch-size must be at least 1'),
    # -- model folders, for prediction and export
    ('no checkpoint', P, lambda d, m, t: (t / 'empty').mkdir(),
     PRED[:3] + ['{t}/empty'] + PRED[4:], 2, r'no checkpoint in {t}/empty: train first'),
    ('model folder missing', P, NO_SETUP, PRED[:3] + ['{t}/gone'] + PRED[4:], 2,
     r'model folder {t}/gone does not exist: train first'),
    # Before the data: with neither, the first thing to fix is the model.
    ('model and data folders missing', P, NO_SETUP,
     ['--data-dir', '{t}/nodata', '--model-dir', '{t}/gone', '--output', '{t}/submit.csv'], 2,
     r'model folder {t}/gone does not exist: train first'),
    ('model folder is a file', P, NO_SETUP, PRED[:3] + ['{d}/test.csv'] + PRED[4:], 2,
     r'--model-dir {d}/test.csv is a file, not a model folder'),
    ('truncated .data', P, lambda d, m, t: truncate(m, '.data-00000-of-00001'), PRED, 2,
     r'checkpoint {m}/model-\d is damaged or unreadable'),
    ('damaged .index', P, lambda d, m, t: truncate(m, '.index', 20), PRED, 2,
     r'checkpoint {m}/model-\d is damaged or unreadable'),
    ('another network', P, lambda d, m, t: other_graph_checkpoint(m), PRED, 2,
     r'checkpoint {m}/model-0 does not fit the blog network: Variable, Variable_1'),
    # what the folder says it holds chooses the recipe
    ('hparams.json names the other recipe', P, lambda d, m, t: hparams(m, recipe='improved'),
     PRED, 2, r'checkpoint {m}/model-\d does not fit the improved network: mean_face is missing, '
     r'though {m}/hparams.json names that recipe; was it edited\?'),
    ('export, hparams.json names the other recipe', E,
     lambda d, m, t: hparams(m, recipe='improved'), ['--model-dir', '{m}', '--output', '{t}/x'],
     2, r'checkpoint {m}/model-\d does not fit the improved network: mean_face is missing, '
     r'though {m}/hparams.json names that recipe; was it edited\?'),
    ('export into a folder', E, lambda d, m, t: (t / 'out').mkdir(),
     ['--model-dir', '{m}', '--output', '{t}/out'], 2,
     r'{t}/out already exists; give a new folder for the export'),
    ('export without checkpoint', E, lambda d, m, t: (t / 'empty').mkdir(),
     ['--model-dir', '{t}/empty', '--output', '{t}/out'], 2, r'no checkpoint in {t}/empty'),
    ('export an export', E, lambda d, m, t: ((t / 'exp').mkdir(),
                                             (t / 'exp' / 'saved_model.pb').write_bytes(b'x')),
     ['--model-dir', '{t}/exp', '--output', '{t}/out'], 2,
     r'{t}/exp is an exported model already; export from the model folder it came from'),
    ('export from a file', E, NO_SETUP, ['--model-dir', '{d}/test.csv', '--output', '{t}/out'], 2,
     r'--model-dir {d}/test.csv is a file, not a model folder'),
    ('export parent missing', E, NO_SETUP, ['--model-dir', '{m}', '--output', '{t}/a/b'], 2,
     r'cannot write {t}/a/b: folder {t}/a does not exist'),
    # -- photos and video
    ('photo missing', P, NO_SETUP, ['--model-dir', '{m}', '--image', '{t}/nope.jpg'], 2,
     r'{t}/nope.jpg does not exist'),
    ('photo not an image', P, lambda d, m, t: (t / 'notes.jpg').write_text('hello'),
     ['--model-dir', '{m}', '--image', '{t}/notes.jpg'], 2,
     r'{t}/notes.jpg is not an image OpenCV can read'),
    ('40000x40000 PNG', P, lambda d, m, t: huge_png(t / 'huge.png'),
     ['--model-dir', '{m}', '--image', '{t}/huge.png'], 2,
     r'{t}/huge.png (cannot be decoded|is not an image)'),
    ('output ann.txt', P, lambda d, m, t: photo(t / 'p.jpg'),
     ['--model-dir', '{m}', '--image', '{t}/p.jpg', '--output', '{t}/ann.txt'], 2,
     r'--output {t}/ann.txt: OpenCV cannot write .txt pictures'),
    ('several photos, output a file', P, lambda d, m, t: (
        photo(t / 'p.jpg'), photo(t / 'q.jpg'), (t / 'o.png').write_text('x')),
     ['--model-dir', '{m}', '--image', '{t}/p.jpg', '{t}/q.jpg', '--output', '{t}/o.png'], 2,
     r'--output {t}/o.png is a file; with several photos give a folder'),
    ('output is the photo', P, lambda d, m, t: photo(t / 'p.jpg'),
     ['--model-dir', '{m}', '--image', '{t}/p.jpg', '--output', '{t}/p.jpg'], 2,
     r'writing {t}/p.jpg would replace the photo {t}/p.jpg'),
    ('folder without photos', P, lambda d, m, t: (t / 'empty').mkdir(),
     ['--model-dir', '{m}', '--image', '{t}/empty'], 2, r'folder {t}/empty holds no photos'),
    ('image and video', P, NO_SETUP, ['--image', 'a.jpg', '--video', 'b.mp4'], 2,
     r'give --image or --video, not both'),
    ('image and an empty video', P, NO_SETUP, ['--image', 'a.jpg', '--video', ''], 2,
     r'give --image or --video, not both'),
    ('video named empty', P, NO_SETUP, ['--model-dir', '{m}', '--video', ''], 2,
     r'--video needs a video file or a camera number'),
    ('video missing', P, NO_SETUP, ['--model-dir', '{m}', '--video', '{t}/nope.mp4'], 2,
     r'{t}/nope.mp4 does not exist'),
    ('not a video', P, lambda d, m, t: (t / 'v.mp4').write_text('hello'),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4', '--output', '{t}/o.mp4'], 2,
     r'cannot open {t}/v.mp4: not a video OpenCV can read'),
    ('video output gif', P, lambda d, m, t: video_file(t / 'v.mp4'),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4', '--output', '{t}/o.gif'], 2,
     r'--output {t}/o.gif: write the video as .mp4 or .avi'),
    ('video output is the input', P, lambda d, m, t: video_file(t / 'v.mp4'),
     ['--model-dir', '{m}', '--video', '{t}/v.mp4', '--output', '{t}/v.mp4'], 2,
     r'--output {t}/v.mp4 is an input file'),
]


def assert_refused(lines, message, fill, before, after):
    """One 'error:' line matching message (its {names} filled from fill, as
    literal text), and no file of before changed in after."""
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    expected = message.format(**{k: re.escape(str(v)) for k, v in fill.items()})
    assert re.search(expected, lines[0]), lines[0]
    changed = sorted(p for p in before if after.get(p) != before[p])
    assert not changed, changed


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_hostile_input(case, trained, tmp_path, capsys, monkeypatch):
    name, command, setup, argv, status, message = case
    t = tmp_path
    d, m, fill, argv = case_folders(trained, t, argv)
    monkeypatch.chdir(t)
    held = None
    if setup == 'locked':
        held = lock.locked(str(m))
        held.__enter__()
    elif setup:
        setup(d, m, t)
    (t / 'submit.csv').write_text(EARLIER_SUBMISSION)
    before = digest(t)
    try:
        got = main_status(SCRIPTS[command], argv)
    finally:
        if held:
            held.__exit__(None, None, None)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert got == status, err
    assert_refused(lines, message, fill, before, digest(t))


def test_there_are_at_least_60_cases():
    assert len(CASES) >= 60


def test_scripts_end_in_one_line_without_traceback(tmp_path):
    for script, argv in (('run_train.py', ['--data-dir', str(tmp_path)]),
                         ('run_predict.py', ['--data-dir', str(tmp_path)]),
                         ('run_export.py', ['--model-dir', str(tmp_path), '--output',
                                            str(tmp_path / 'x')])):
        status, out, err = run_script(script, *argv)
        assert status == 2 and 'Traceback' not in err, err
        assert len(err.strip().splitlines()) == 1 and err.startswith('error: '), err


def test_help_explains_every_flag_with_its_default():
    for script in ('run_train.py', 'run_predict.py', 'run_export.py'):
        status, out, _ = run_script(script, '--help')
        assert status == 0 and '--model-dir' in out and 'default' in out
    _, out, _ = run_script('run_train.py', '--help')
    for flag in ('--data-dir', '--epochs', '--batch-size', '--validation-size', '--patience',
                 '--learning-rate', '--seed', '--demo', '--recipe', '--bf16', '--resume',
                 '--overwrite'):
        assert flag in out


def test_ctrl_c_while_tensorflow_loads(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from conftest import ROOT, make_tiny_data, with_ctrl_c
    data_dir = make_tiny_data(tmp_path / 'data')
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, 'run_train.py'), '--data-dir',
                          data_dir, '--model-dir', str(tmp_path / 'm')],
                         stderr=subprocess.PIPE, text=True, preexec_fn=with_ctrl_c)
    time.sleep(1.0)                      # TensorFlow takes seconds to import
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'Traceback' not in err, err
    assert err.strip().splitlines()[-1].startswith('interrupted'), err
