"""facial-keypoints: the blog post "Tensorflow实现卷积神经网络,用于人脸关键点识别"
as a maintained Python 3 / tf.compat.v1 package.

The post's program sits at the top: constants, data (input_data), model
(model()), train (its __main__ loop), predict and submission (submit.csv),
with units (the scaling and its inverse). Beside it, one job each:
improved/ (the improved and compact recipes), faces/ (photos and video),
serving/ (Predictor, exports, the web page), runs/ (the run machinery both
loops share, and what the run scripts call), files/ (reading and writing
files, the demo data), and pretrained/ (the model the package ships).

    from facial_keypoints import Predictor, PRETRAINED

imports TensorFlow only when Predictor is first named, so that
`import facial_keypoints` alone stays quick.
"""

import os

# The small model the package ships (docs/pretrained.md), a read-only model
# folder: photos, video, the web page and Predictor() use it when no model is
# named and ./model holds none.
PRETRAINED = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pretrained')
# The file that marks it, and that file's first line, so that every copy is
# read-only too: an installed package's, seen from a clone's scripts, is
# another folder. A file of that name without that line marks nothing.
PRETRAINED_MARK = 'PRETRAINED.txt'
PRETRAINED_MARK_LINE = ('The pretrained model of the facial-keypoints package. Read-only: its '
                        'scripts never train or write into a folder that holds this file.')


def __getattr__(name):
    if name == 'Predictor':
        from .serving.predictor import Predictor
        return Predictor
    raise AttributeError('module {!r} has no attribute {!r}'.format(__name__, name))
