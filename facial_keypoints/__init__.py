"""facial-keypoints: the blog post "Tensorflow实现卷积神经网络,用于人脸关键点识别"
as a maintained Python 3 / tf.compat.v1 package.

The post's program: constants, data (input_data), model (model()), train
(its __main__ loop) and predict (submit.csv). Beside it: improved and
improved_model (the improved recipe), runs and modeldir (what both training
loops share), photo, video, detect and export (using a model), demo
(synthetic faces), cli (what the run scripts call).
"""
