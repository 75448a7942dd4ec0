"""facial-keypoints: the blog post "Tensorflow实现卷积神经网络,用于人脸关键点识别"
as a maintained Python 3 / tf.compat.v1 package.

The post's program: constants, data (input_data), model (model()), train
(its __main__ loop) and predict (submit.csv, with submission). Beside it:
improved and improved_model (the improved recipe), runs and modeldir (what
both training loops share), predictor (any trained model or export, loaded
once), photo, video, detect and export (using a model), csvfiles and cache
(reading the data quickly), demo (synthetic faces), cli (what the run
scripts call).

    from facial_keypoints import Predictor

imports TensorFlow only when Predictor is first named, so that
`import facial_keypoints` alone stays quick.
"""


def __getattr__(name):
    if name == 'Predictor':
        from .predictor import Predictor
        return Predictor
    raise AttributeError('module {!r} has no attribute {!r}'.format(__name__, name))
