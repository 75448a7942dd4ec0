"""Tilted faces: the turned crop and its inverse are exact, a face turned by a
known angle gives keypoints turned by that angle, and turned faces are found."""

import numpy as np
import pytest

from conftest import shared_path
from facial_keypoints.faces import align, detect, photo
from facial_keypoints.files import demo

cv2 = pytest.importorskip('cv2')


def dots_photo(points, shape=(400, 500)):
    """A black photo with a bright 3x3 dot centred on each (x, y) pixel index."""
    gray = np.zeros(shape, np.uint8)
    for x, y in np.asarray(points).reshape(-1, 2):
        gray[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 255
    return gray


def centroid(img, x, y, r=6):
    """Brightness-weighted centre of the blob near pixel (x, y)."""
    x0, y0 = int(round(x)) - r, int(round(y)) - r
    patch = img[y0:y0 + 2 * r + 1, x0:x0 + 2 * r + 1].astype(np.float64)
    yy, xx = np.mgrid[0:2 * r + 1, 0:2 * r + 1]
    return x0 + (xx * patch).sum() / patch.sum(), y0 + (yy * patch).sum() / patch.sum()


def test_to_crop_inverts_to_photo_and_zero_turn_is_the_upright_crop():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 96, 30)
    face = (210.3, 180.7, 150.0, 23.0)
    assert np.allclose(align.to_crop(align.to_photo(points, face), face), points, atol=1e-9)
    gray = cv2.GaussianBlur(rng.integers(0, 256, (700, 800)).astype(np.uint8), (0, 0), 3)
    for x0, y0, size in [(40, 25, 288), (12, 7, 96), (600, 500, 192)]:
        upright = (x0 + size / 2, y0 + size / 2, size, 0.0)
        cut = gray[y0:y0 + size, x0:x0 + size]     # a whole number of pixels a crop pixel
        assert np.array_equal(align.crop(gray, upright),
                              cv2.resize(cut, (96, 96), interpolation=cv2.INTER_AREA))
        mapped, s = align.to_photo(points, upright), size / 96
        assert np.allclose(mapped[0::2], x0 + (points[0::2] + 0.5) * s - 0.5)
        assert np.allclose(mapped[1::2], y0 + (points[1::2] + 0.5) * s - 0.5)


@pytest.mark.parametrize('angle', [0.0, 17.0, -30.0, 45.0])
def test_dots_land_where_the_transform_says(angle):
    # Dots in the photo at the photo positions of known crop points: the crop
    # shows them at those crop points. 96 px frame: no shrinking, one pixel per pixel.
    face = (250.0, 200.0, 96.0, angle)
    crop_points = np.array([20, 30, 70, 30, 48, 50, 30, 75, 66, 75], float)
    gray = dots_photo(np.round(align.to_photo(crop_points, face)))
    exact = align.to_crop(np.round(align.to_photo(crop_points, face)), face)
    cut = align.crop(gray, face)
    for (x, y), (ex, ey) in zip(crop_points.reshape(-1, 2), exact.reshape(-1, 2)):
        cx, cy = centroid(cut, x, y)
        assert abs(cx - ex) < 0.15 and abs(cy - ey) < 0.15, (cx, cy, ex, ey)


def test_a_big_turned_face_is_shrunk_without_aliasing_to_the_same_places():
    face = (400.0, 380.0, 480.0, -25.0)        # five photo pixels per crop pixel
    crop_points = np.array([20, 30, 70, 30, 48, 60], float)
    photo_points = align.to_photo(crop_points, face)
    gray = np.zeros((800, 800), np.uint8)
    for x, y in photo_points.reshape(-1, 2):
        cv2.circle(gray, (int(round(x)), int(round(y))), 6, 255, -1)
    cut = align.crop(gray, face)
    for x, y in crop_points.reshape(-1, 2):
        cx, cy = centroid(cut, x, y)
        assert abs(cx - x) < 0.25 and abs(cy - y) < 0.25
    # a fine checkerboard averages to gray instead of aliasing into stripes
    board = ((np.indices((800, 800)).sum(0) % 2) * 255).astype(np.uint8)
    assert np.ptp(align.crop(board, face)[10:-10, 10:-10]) <= 40


class StubPredictor:
    """Returns fixed keypoints in crop pixels; remembers the crops."""

    def __init__(self, points):
        self.points, self.seen = np.asarray(points, float), []

    def predict(self, X):
        self.seen.append(X)
        return np.tile(self.points, (len(X), 1))


def test_keypoints_are_the_crop_points_through_the_inverse_transform():
    _, points = demo.draw_face(np.random.default_rng(3))
    level = align.eye_tilt(points)
    assert abs(level) < align.LEVEL_BEYOND
    faces = [(200.0, 150.0, 120.0, 30.0), (420.0, 260.0, 200.0, -12.5)]
    stub = StubPredictor(points)
    found, used = align.face_keypoints(np.zeros((400, 600), np.uint8), faces, stub)
    assert used == faces and len(stub.seen) == 1           # level enough: one pass
    for got, face in zip(found, faces):
        assert np.allclose(got, align.to_photo(points, face), atol=1e-9)


def test_a_tilted_eye_line_is_levelled_in_a_second_pass():
    _, points = demo.draw_face(np.random.default_rng(0))
    tilt = align.eye_tilt(points)
    assert abs(tilt) > align.LEVEL_BEYOND
    stub = StubPredictor(points)
    found, used = align.face_keypoints(np.zeros((300, 300), np.uint8),
                                       [(150.0, 150.0, 96.0, 5.0)], stub)
    assert len(stub.seen) == 2 and used[0][3] == pytest.approx(5.0 + tilt)
    assert np.allclose(found[0], align.to_photo(points, used[0]), atol=1e-9)


class CropPredictor:
    """Finds the demo face's keypoints by looking: the centroid of each dark
    dot drawn at the true points in the crop it is given."""

    def __init__(self, points):
        self.points = points

    def predict(self, X):
        out = []
        for img in X[..., 0]:
            out.append(np.concatenate([centroid(img.max() - img, x, y, r=4)
                                       for x, y in self.points.reshape(-1, 2)]))
        return np.array(out)


@pytest.mark.parametrize('angle', [-40.0, -15.0, 20.0, 35.0])
def test_a_face_turned_by_a_known_angle_gives_keypoints_turned_by_it(angle):
    # An upright synthetic face (dots at its keypoints) turned about the photo
    # centre: cropped with the known angle, the keypoints found in the photo
    # are the upright ones turned by that angle.
    points = np.array([30, 40, 66, 40, 48, 58, 34, 76, 62, 76], float)
    upright = (200.0, 200.0, 192.0, 0.0)                 # two photo pixels per crop pixel
    dots = np.round(align.to_photo(points, upright)).reshape(-1, 2)
    gray = np.full((400, 400), 255, np.uint8)
    for x, y in dots.astype(int):
        cv2.circle(gray, (x, y), 3, 0, -1)
    turned, back = align.turn_image(gray, -angle, border=255)
    R = back[:, :2].T                                     # photo -> turned copy
    centre = R @ (np.array([200.0, 200.0]) - back[:, 2])
    face = (centre[0], centre[1], 192.0, angle)
    found, _ = align.face_keypoints(turned, [face], CropPredictor(points), level=False)
    expect = (dots + 0.5 - back[:, 2]) @ R.T - 0.5
    assert np.abs(found[0].reshape(-1, 2) - expect).max() < 0.6


@pytest.mark.parametrize('angle', [-30, 30])
def test_dlib_finds_the_obamas_turned_by_30_degrees(angle):
    pytest.importorskip('dlib')
    img = photo.read_photo(shared_path('photos', 'obamas.jpg'))
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    turned, back = align.turn_image(gray, -angle, border=0)
    faces = align.find_faces(turned, detect.Detector('dlib'))
    R = back[:, :2].T
    truth = [R @ (np.array([x + w / 2, y + h / 2]) - back[:, 2])
             for x, y, w, h in [(184, 98, 156, 156), (373, 167, 156, 156)]]
    assert len(faces) == 2, faces
    for t in truth:
        assert min(np.hypot(f[0] - t[0], f[1] - t[1]) for f in faces) < 156 / 3
    assert all(abs(f[3] - angle) <= 15 for f in faces)
