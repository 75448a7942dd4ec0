"""facial-keypoints: the blog post "Tensorflow实现卷积神经网络,用于人脸关键点识别"
as a maintained Python 3 / tf.compat.v1 package.

Modules: constants (the post's numbers), data (CSV in, arrays out), model
(the graph), recipes (blog vs improved), train, predict, checkpoints, demo
(synthetic faces), errors, fileio.
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probing on machines without a GPU,
# CPU feature notes) buries the post's own progress lines. Real failures
# still reach Python as exceptions. Set TF_CPP_MIN_LOG_LEVEL=0 to see it all.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
