"""A built-in demo data set: synthetic faces in Kaggle's exact CSV layout.

Each face is drawn from a canonical face (eyes, brows, nose, mouth, head)
placed with a random position, scale, rotation and proportions, under a
random light gradient, contrast and noise. The 15 keypoints are the same
canonical points under the same transform, so they are exact.
numpy only: the demo needs no Kaggle account and no extra package.
"""

import os

import numpy as np

from ..constants import (IMAGE_SIZE, KEYPOINT_COLUMNS, LOOKUP_FILE, SUBMIT_FILE, TEST_FILE,
                         TRAIN_FILE)
from ..runs.errors import UserError, reason
from .fileio import atomic_write_text

DEMO_DIR = 'demo_data'
DEMO_MODEL_DIR = os.path.join(DEMO_DIR, 'model')
DEMO_OUTPUT = os.path.join(DEMO_DIR, SUBMIT_FILE)
DEMO_EPOCHS = 60          # the post's network learns these faces in about two minutes
DEMO_TRAIN_ROWS = 1000
DEMO_TEST_ROWS = 150
DEMO_SEED = 2016          # the year of the post
SCALE = (38.0, 58.0)      # pixels per canonical unit (about 50 px)
SHIFT = 8.0               # pixels the face centre moves each way
ROTATION = 12.0           # degrees each way

# The points every Kaggle row has; the other 70% of rows carry only these.
CORE_POINTS = ('left_eye_center', 'right_eye_center', 'nose_tip',
               'mouth_center_bottom_lip')
INCOMPLETE_FRACTION = 0.3

# Canonical face, in units of about 50 pixels; u to the image's right, v down.
# "Left" is the subject's left, on the image's right, as in Kaggle.
CANONICAL = {
    'left_eye_center': (0.36, -0.18),
    'right_eye_center': (-0.36, -0.18),
    'left_eye_inner_corner': (0.20, -0.18),
    'left_eye_outer_corner': (0.52, -0.18),
    'right_eye_inner_corner': (-0.20, -0.18),
    'right_eye_outer_corner': (-0.52, -0.18),
    'left_eyebrow_inner_end': (0.15, -0.38),
    'left_eyebrow_outer_end': (0.60, -0.40),
    'right_eyebrow_inner_end': (-0.15, -0.38),
    'right_eyebrow_outer_end': (-0.60, -0.40),
    'nose_tip': (0.0, 0.32),
    'mouth_left_corner': (0.30, 0.56),
    'mouth_right_corner': (-0.30, 0.56),
    'mouth_center_top_lip': (0.0, 0.50),
    'mouth_center_bottom_lip': (0.0, 0.64),
}


def _face_points(rng):
    """The canonical points with this face's own proportions: dict name -> (u, v)."""
    eye_gap = rng.uniform(0.85, 1.15)       # eye spacing
    eye_v = rng.uniform(-0.05, 0.05)
    brow_lift = rng.uniform(-0.05, 0.06)
    nose_v = rng.uniform(-0.06, 0.06)
    mouth_w = rng.uniform(0.8, 1.2)
    mouth_v = rng.uniform(-0.05, 0.06)
    lips = rng.uniform(0.7, 1.4)            # how open the mouth is
    p = {}
    for name, (u, v) in CANONICAL.items():
        if 'eye' in name and 'brow' not in name:
            u, v = u * eye_gap, v + eye_v
        elif 'brow' in name:
            u, v = u * eye_gap, v + eye_v - brow_lift
        elif name == 'nose_tip':
            v = v + nose_v
        else:   # mouth
            u = u * mouth_w
            mid = CANONICAL['mouth_left_corner'][1] + mouth_v
            v = mid + (v - CANONICAL['mouth_left_corner'][1]) * lips
        p[name] = (u, v)
    return p


def _soft(inside, width_px):
    """Anti-aliased mask from an implicit function: inside=1 on the edge, <1 inside."""
    d = (np.sqrt(np.maximum(inside, 0.0)) - 1.0) * width_px
    return np.clip(0.5 - d, 0.0, 1.0)


def _ellipse(u, v, cu, cv, ru, rv, scale):
    return _soft(((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2, min(ru, rv) * scale)


def _segment(u, v, a, b, half_width, scale):
    (au, av), (bu, bv) = a, b
    du, dv = bu - au, bv - av
    t = np.clip(((u - au) * du + (v - av) * dv) / (du * du + dv * dv), 0.0, 1.0)
    dist2 = (u - au - t * du) ** 2 + (v - av - t * dv) ** 2
    return _soft(dist2 / half_width ** 2, half_width * scale)


def draw_face(rng):
    """One synthetic face: (uint8 pixels [96, 96], keypoints in pixels [30]).
    Every keypoint lies at least 2 pixels inside the image."""
    n = IMAGE_SIZE
    while True:
        scale = rng.uniform(*SCALE)                      # pixels per canonical unit
        centre = np.array([48.0, 46.0]) + rng.uniform(-SHIFT, SHIFT, 2)
        theta = np.deg2rad(rng.uniform(-ROTATION, ROTATION))
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        pts = _face_points(rng)
        xy = centre + scale * np.array(list(pts.values())) @ rot.T
        if xy.min() >= 2 and xy.max() <= n - 3:
            break

    # Canonical coordinates of every pixel centre (inverse of the face's transform).
    py, px = np.mgrid[0:n, 0:n].astype(np.float64)
    rel = np.stack([px - centre[0], py - centre[1]], -1) / scale
    uv = rel @ rot          # rot is orthonormal: rel @ rot == rot.T applied to rel
    u, v = uv[..., 0], uv[..., 1]

    bg = rng.uniform(30, 200) + rng.uniform(-0.6, 0.6) * (px - 48) + rng.uniform(-0.6, 0.6) * (py - 48)
    skin = rng.uniform(110, 210)
    img = bg.copy()
    head = _ellipse(u, v, 0.0, 0.12, rng.uniform(0.74, 0.86), rng.uniform(0.98, 1.1), scale)
    img = img * (1 - head) + skin * head
    hair = head * _soft(((v + 0.55) / 0.35) ** 2 + (u / 1.2) ** 2, 0.35 * scale) * (v < -0.45)
    img = img * (1 - hair) + rng.uniform(10, 90) * hair
    for side in ('left', 'right'):
        iu, ou = pts[side + '_eye_inner_corner'][0], pts[side + '_eye_outer_corner'][0]
        cu, cv = pts[side + '_eye_center']
        sclera = _ellipse(u, v, cu, cv, abs(ou - iu) / 2, 0.07, scale)
        img = img * (1 - sclera) + min(skin + 45, 250) * sclera
        iris = _ellipse(u, v, cu, cv, 0.055, 0.055, scale) * sclera
        img = img * (1 - iris) + rng.uniform(15, 60) * iris
        brow = _segment(u, v, pts[side + '_eyebrow_inner_end'],
                        pts[side + '_eyebrow_outer_end'], 0.035, scale)
        img = img * (1 - brow) + rng.uniform(20, 70) * brow
    nu, nv = pts['nose_tip']
    ridge = _segment(u, v, (nu, nv - 0.3), (nu, nv - 0.03), 0.02, scale)
    img = img - 25 * ridge
    for s in (-1, 1):
        nostril = _ellipse(u, v, nu + s * 0.07, nv + 0.02, 0.04, 0.025, scale)
        img = img * (1 - nostril) + (skin - 80) * nostril
    lu, lv = pts['mouth_left_corner']
    ru_, _ = pts['mouth_right_corner']
    tv, bv = pts['mouth_center_top_lip'][1], pts['mouth_center_bottom_lip'][1]
    lipsmask = _ellipse(u, v, (lu + ru_) / 2, (tv + bv) / 2, (lu - ru_) / 2, (bv - tv) / 2, scale)
    img = img * (1 - lipsmask) + (skin - rng.uniform(50, 90)) * lipsmask
    gap = _segment(u, v, pts['mouth_right_corner'], pts['mouth_left_corner'], 0.012, scale)
    img = img * (1 - gap) + 15 * gap

    light = 1.0 + rng.uniform(-0.35, 0.35) * (px - 48) / 48
    img = img * light * rng.uniform(0.7, 1.15) + rng.normal(0, rng.uniform(2, 10), img.shape)
    pixels = np.clip(np.round(img), 0, 255).astype(np.uint8)

    points = np.empty(len(KEYPOINT_COLUMNS))
    for name, (cu, cv) in pts.items():
        x, y = centre + scale * rot @ np.array([cu, cv])
        i = KEYPOINT_COLUMNS.index(name + '_x')
        points[i], points[i + 1] = x, y
    return pixels, points


def _image_field(pixels):
    return ' '.join(map(str, pixels.ravel().tolist()))


def _training_csv(faces, rng):
    lines = [','.join(KEYPOINT_COLUMNS + ['Image'])]
    core = [c for c in KEYPOINT_COLUMNS if c[:-2] in CORE_POINTS]
    for pixels, points in faces:
        complete = rng.random() >= INCOMPLETE_FRACTION
        values = ['{:.4f}'.format(p) if complete or c in core else ''
                  for c, p in zip(KEYPOINT_COLUMNS, points)]
        lines.append(','.join(values + [_image_field(pixels)]))
    return '\n'.join(lines) + '\n'


def _test_csv(faces):
    lines = ['ImageId,Image'] + ['{},{}'.format(i + 1, _image_field(p))
                                 for i, (p, _) in enumerate(faces)]
    return '\n'.join(lines) + '\n'


def _lookup_csv(n_images, rng):
    # As in Kaggle: a 4-name header over 3-field rows; about a third of the
    # images ask for all 30 values, the rest for the 8 every row has.
    lines = ['RowId,ImageId,FeatureName,Location']
    core = [c for c in KEYPOINT_COLUMNS if c[:-2] in CORE_POINTS]
    row = 1
    for image_id in range(1, n_images + 1):
        for c in (KEYPOINT_COLUMNS if rng.random() < 1 / 3 else core):
            lines.append('{},{},{}'.format(row, image_id, c))
            row += 1
    return '\n'.join(lines) + '\n'


def make_demo_data(folder=DEMO_DIR, n_train=DEMO_TRAIN_ROWS, n_test=DEMO_TEST_ROWS,
                   seed=DEMO_SEED, log=print):
    """Write training.csv, test.csv and IdLookupTable.csv into folder.

    Seeded: the same arguments always give the same files, so a demo
    training run and a later demo prediction agree. Files already there
    are kept.
    """
    names = (TRAIN_FILE, TEST_FILE, LOOKUP_FILE)
    missing = [n for n in names if not os.path.lexists(os.path.join(folder, n))]
    if not missing:
        return folder
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise UserError('cannot create the demo folder {}: {} (run it from a folder you can '
                        'write in).'.format(os.path.abspath(folder), reason(e)))
    train_rng = np.random.default_rng([seed, 0])
    test_rng = np.random.default_rng([seed, 1])
    made = {
        TRAIN_FILE: lambda: _training_csv([draw_face(train_rng) for _ in range(n_train)],
                                          train_rng),
        TEST_FILE: lambda: _test_csv([draw_face(test_rng) for _ in range(n_test)]),
        LOOKUP_FILE: lambda: _lookup_csv(n_test, np.random.default_rng([seed, 2]))}
    for name in missing:        # the files already there are the user's to keep
        atomic_write_text(os.path.join(folder, name), made[name]())
    if len(missing) < len(names):
        log('wrote the missing {} of the synthetic demo data set to {}; kept {}'.format(
            ' and '.join(missing), folder,
            ' and '.join(n for n in names if n not in missing)))
        return folder
    log('wrote a synthetic demo data set ({} training, {} test faces) to {}'.format(
        n_train, n_test, folder))
    return folder
