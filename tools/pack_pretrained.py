"""Make a trained model the package's pretrained one: python tools/pack_pretrained.py MODEL_DIR.

Copies MODEL_DIR's best checkpoint (the weights prediction needs, nothing
of the training state) and its hparams.json into facial_keypoints/pretrained/,
replacing what is there, with the file that marks the folder read-only
(PRETRAINED_MARK). docs/pretrained.md says how the shipped one was
trained and measured; replace it only with a model measured to be better.
"""

import argparse
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from facial_keypoints import PRETRAINED, PRETRAINED_MARK, PRETRAINED_MARK_LINE  # noqa: E402
from facial_keypoints.runs import checkpoints, jsonfiles, modeldir  # noqa: E402
from facial_keypoints.runs.errors import UserError, run_cli  # noqa: E402

MAX_BYTES = 8 * 1024 * 1024
MARK_TEXT = (PRETRAINED_MARK_LINE + '\nHow it was trained, and the terms its weights inherit '
             'from their data: docs/pretrained.md.\n')


def pack(model_dir, dest=PRETRAINED):
    path = checkpoints.best_checkpoint(model_dir)
    if path is None:
        raise UserError('{} holds no trained model.'.format(model_dir))
    hparams = jsonfiles.read_hparams(model_dir)
    # Where the data sat on the training machine says nothing to a user.
    hparams['data_dir'] = os.path.basename(os.path.normpath(hparams['data_dir']))
    stem = os.path.basename(path)
    parent = os.path.dirname(os.path.abspath(dest))
    tmp = os.path.join(parent, '.pretrained.{}'.format(os.getpid()))
    os.makedirs(tmp)                # with the user's umask
    names = [n for n in os.listdir(model_dir) if n.startswith(stem + '.')]
    for name in names:
        shutil.copyfile(os.path.join(model_dir, name), os.path.join(tmp, name))
    with open(os.path.join(tmp, modeldir.BEST_STATE), 'w') as f:
        f.write('model_checkpoint_path: "{0}"\nall_model_checkpoint_paths: "{0}"\n'.format(stem))
    with open(os.path.join(tmp, modeldir.HPARAMS_FILE), 'w') as f:
        json.dump(hparams, f, indent=2, sort_keys=True)
    with open(os.path.join(tmp, PRETRAINED_MARK), 'w') as f:
        f.write(MARK_TEXT)
    size = sum(os.path.getsize(os.path.join(tmp, n)) for n in os.listdir(tmp))
    if size > MAX_BYTES:
        shutil.rmtree(tmp)
        raise UserError('{} is {:.1f} MB; the package ships at most {:.0f} MB.'.format(
            model_dir, size / 1e6, MAX_BYTES / 1e6))
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    print('{} ({}, {:.2f} MB) -> {}'.format(model_dir, stem, size / 1e6, dest))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('model_dir')
    pack(p.parse_args().model_dir)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
