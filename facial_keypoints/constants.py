"""The blog post's constants, in one place.

Names are the post's, so a reader holding the article finds them. Values
are the post's too. The post's own lines come first; what the project adds
beyond the post is below the line marked "Not in the post".
"""

TRAIN_FILE = 'training.csv'
TEST_FILE = 'test.csv'
SAVE_PATH = 'model'       # the post's Saver saved here; here, a folder for the run's files

VALIDATION_SIZE = 100     # 验证集大小: the first rows of training.csv validate
EPOCHS = 100              # 迭代次数: at most this many passes over the data
BATCH_SIZE = 64           # 每个batch大小,稍微大一点的batch会更稳定 (also for prediction)
EARLY_STOP_PATIENCE = 10  # 控制early stopping的参数: epochs without a better validation RMSE

# Not in the post as named constants: values its code writes inline.
LOOKUP_FILE = 'IdLookupTable.csv'   # the lookup table it opens when predicting
SUBMIT_FILE = 'submit.csv'          # the file it writes its predictions to
DATA_DIR = '.'                      # it reads its files from the current folder
LEARNING_RATE = 1e-3      # tf.train.AdamOptimizer(1e-3)
TRAIN_KEEP_PROB = 0.5     # keep_prob fed while training; 1.0 when evaluating
IMAGE_SIZE = 96           # Kaggle's images are 96x96 gray
PIXEL_MAX = 255.0         # pixels are divided by this to land in [0, 1]
NUM_OUTPUTS = 30          # 15 (x, y) keypoints

# 最后生成提交结果的时候要用到: maps a Kaggle column name to its output position.
keypoint_index = {
    'left_eye_center_x': 0,
    'left_eye_center_y': 1,
    'right_eye_center_x': 2,
    'right_eye_center_y': 3,
    'left_eye_inner_corner_x': 4,
    'left_eye_inner_corner_y': 5,
    'left_eye_outer_corner_x': 6,
    'left_eye_outer_corner_y': 7,
    'right_eye_inner_corner_x': 8,
    'right_eye_inner_corner_y': 9,
    'right_eye_outer_corner_x': 10,
    'right_eye_outer_corner_y': 11,
    'left_eyebrow_inner_end_x': 12,
    'left_eyebrow_inner_end_y': 13,
    'left_eyebrow_outer_end_x': 14,
    'left_eyebrow_outer_end_y': 15,
    'right_eyebrow_inner_end_x': 16,
    'right_eyebrow_inner_end_y': 17,
    'right_eyebrow_outer_end_x': 18,
    'right_eyebrow_outer_end_y': 19,
    'nose_tip_x': 20,
    'nose_tip_y': 21,
    'mouth_left_corner_x': 22,
    'mouth_left_corner_y': 23,
    'mouth_right_corner_x': 24,
    'mouth_right_corner_y': 25,
    'mouth_center_top_lip_x': 26,
    'mouth_center_top_lip_y': 27,
    'mouth_center_bottom_lip_x': 28,
    'mouth_center_bottom_lip_y': 29,
}

# Column names in output order (Kaggle's CSV lists them in this order too).
KEYPOINT_COLUMNS = sorted(keypoint_index, key=keypoint_index.get)
# The 15 point names, without the _x/_y suffix.
KEYPOINT_NAMES = [c[:-2] for c in KEYPOINT_COLUMNS[::2]]
