"""Video: the smoothing filter, face tracks, and whole videos from a file and
from a (stand-in) camera."""

import os

import numpy as np
import pandas as pd
import pytest

from facial_keypoints.faces import align, video
from facial_keypoints.runs.errors import UserError
from test_photo import Fixed, photo_with_face

cv2 = pytest.importorskip('cv2')


def test_one_euro_holds_a_still_value_and_follows_a_move():
    rng = np.random.default_rng(0)
    f = video.OneEuro(fps=30)
    still = [f(50 + rng.normal(0, 1, 2)) for _ in range(300)]
    raw_jitter = np.sqrt(2)                      # frame-to-frame change of the raw values
    assert np.diff(still[100:], axis=0).std() < 0.3 * raw_jitter
    g = video.OneEuro(fps=30)
    ramp = np.array([g(np.array([3.0 * k])) for k in range(60)])[:, 0]   # 90 px/s
    assert abs(ramp[-1] - 3.0 * 59) < 6          # at most 2 frames behind when moving


def test_tracks_keep_their_ids_and_the_angle_their_eyes_were_levelled_to():
    blank = np.full((300, 500), 128, np.uint8)
    t = video.Tracker(fps=30, smooth=False)
    first = t.update(blank, [(125, 125, 50, 0), (330, 130, 60, 30)])
    ids = {tr.raw: tr.id for tr in first}
    second = t.update(blank, [(335, 132, 60, -30), (128, 126, 50, 0)])
    assert {tr.id for tr in second} == set(ids.values())
    right = [tr for tr in second if tr.face[0] > 200]
    assert [tr.id for tr in right] == [ids[(330, 130, 60, 30)]]
    assert right[0].face == (335, 132, 60, 30)    # moved as detected, turned as before
    assert t.update(blank, [(125, 125, 50, 0), (335, 132, 60, 0), (40, 40, 30, 0)])[-1].id == 2


def shifted(gray, dx, dy):
    return cv2.warpAffine(gray, np.float32([[1, 0, dx], [0, 1, dy]]), gray.shape[::-1],
                          borderMode=cv2.BORDER_REPLICATE)


def test_a_face_the_detector_misses_is_followed_then_dropped():
    gray, _, _ = photo_with_face(scale=2, ox=60, oy=40)
    face = (60 + 96, 40 + 96, 192, 0.0)
    t = video.Tracker(fps=30, smooth=False)
    t.update(gray, [face])
    assert t.update(gray, None)[0].raw == face                 # still: not moved at all
    moved = shifted(gray, 5, -3)
    [track] = t.update(moved, None)                              # between looks: followed
    assert np.allclose(track.raw[:2], (face[0] + 5, face[1] - 3), atol=0.3)
    assert len(t.update(moved, [])) == 1                         # one look without it: kept
    assert t.update(moved, []) == []                             # MAX_UNSEEN looks: dropped


def test_a_turned_face_is_followed_in_photo_pixels():
    gray, _, _ = photo_with_face(scale=2, ox=80, oy=80)
    turned, back = align.turn_image(gray, 30.0)
    centre = np.linalg.solve(back[:, :2], np.array([80 + 96, 80 + 96]) - back[:, 2])
    face = (centre[0], centre[1], 192.0, -30.0)
    upright = align.crop(gray, (80 + 96, 80 + 96, 192, 0.0))
    assert np.abs(align.crop(turned, face).astype(int) - upright).mean() < 8   # 0: 41
    t = video.Tracker(fps=30, smooth=False)
    t.update(turned, [face])
    [track] = t.update(shifted(turned, -4, 6), None)
    assert np.allclose(track.raw, (centre[0] - 4, centre[1] + 6, 192, -30), atol=0.3)


class Counting(Fixed):
    looks = 0

    def __call__(self, gray):
        self.looks += 1
        return self.boxes


def test_a_face_that_cannot_be_followed_asks_for_a_look_and_goes_at_it():
    gray, _, _ = photo_with_face(scale=2, ox=60, oy=40)
    t = video.Tracker(fps=30, smooth=False)
    t.update(gray, [(60 + 96, 40 + 96, 192, 0.0)])
    cut = np.full_like(gray, 128)                    # the scene cuts to an empty wall
    assert len(t.update(cut, None)) == 1 and t.lost
    detector = Counting([])
    assert video.find_faces(cut, detector, t, 3) == [] and detector.looks == 1
    assert t.update(cut, []) == [] and not t.lost


def test_a_face_found_again_where_its_track_ended_keeps_its_id_for_a_while():
    one, _, _ = photo_with_face(scale=2, ox=60, oy=40)
    gray = np.hstack([one, one])                        # two faces, side by side
    face, elsewhere = (156, 136, 192, 0.0), (156 + one.shape[1], 136, 192, 0.0)
    cut = np.full_like(gray, 128)
    t = video.Tracker(fps=30, smooth=False)
    t.update(gray, [face])
    assert t.update(cut, []) == []                      # ended
    [back, other] = t.update(gray, [(166, 130, 192, 0.0), elsewhere])
    assert (back.id, other.id, t.next_id) == (0, 1, 2)  # the same place: the same id
    frames = int(video.REMEMBER_SECONDS * 30)
    assert t.update(cut, []) == []                      # both ended
    for _ in range(frames - 1):
        t.update(cut, None)
    assert [tr.id for tr in t.update(gray, [face])] == [0]     # 2 s after: remembered
    t.update(cut, [])
    for _ in range(frames):
        t.update(cut, None)
    assert [tr.id for tr in t.update(gray, [elsewhere, face])] == [2, 3]   # a frame more: new


def test_the_detector_looks_every_scan_or_every_frame_while_no_face_is_tracked():
    gray, _, _ = photo_with_face(scale=2, ox=60, oy=40)
    for boxes, looks in (([(60, 40, 190, 190)], 3), ([], 2 * video.SCAN_EVERY + 1)):
        detector, tracker = Counting(boxes), video.Tracker(fps=30)
        for frame in range(2 * video.SCAN_EVERY + 1):
            tracker.update(gray, video.find_faces(gray, detector, tracker, frame))
        assert detector.looks == looks


def moving_face_frames(n=12):
    gray, _, _ = photo_with_face(scale=2, ox=60, oy=40)
    frames = []
    for k in range(n):
        shifted = np.roll(gray, k, axis=1)
        frames.append(cv2.cvtColor(shifted, cv2.COLOR_GRAY2BGR))
    return frames


def write_video(path, frames, fps=12.5):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps,
                        (frames[0].shape[1], frames[0].shape[0]))
    for f in frames:
        w.write(f)
    w.release()


def count_frames(path):
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n, cap.get(cv2.CAP_PROP_FPS)


def test_a_video_file_keeps_its_frame_count_and_rate_and_gets_a_csv(trained, tmp_path):
    _, model_dir, _ = trained
    src = tmp_path / 'clip.mp4'
    write_video(src, moving_face_frames())
    out = tmp_path / 'out.mp4'
    n = video.annotate_video(str(src), model_dir, str(out), detector=Fixed([(60, 40, 190, 190)]),
                             log=lambda *a: None)
    assert n == 12 and count_frames(out) == (12, 12.5)
    table = pd.read_csv(tmp_path / 'out.csv')
    assert list(table.frame) == list(range(12)) and set(table.face) == {0}
    assert table.shape[1] == 6 + 30 and table.box_w.between(189, 191).all()


class StandInCamera:
    """What cv2.VideoCapture(0) gives, without a camera: a few frames, no frame
    rate, no frame count; Ctrl-C arrives after stop_after frames."""

    def __init__(self, frames, stop_after=None):
        self.frames, self.stop_after, self.released = list(frames), stop_after, False

    def isOpened(self):
        return True

    def get(self, prop):
        return 0.0 if prop == cv2.CAP_PROP_FPS else -1.0

    def read(self):
        if self.stop_after is not None and self.stop_after == 0:
            raise KeyboardInterrupt
        if self.stop_after:
            self.stop_after -= 1
        return (True, self.frames.pop(0)) if self.frames else (False, None)

    def release(self):
        self.released = True


def test_a_camera_records_until_ctrl_c(trained, tmp_path, monkeypatch):
    _, model_dir, _ = trained
    camera = StandInCamera(moving_face_frames(10), stop_after=7)
    monkeypatch.setattr(video, 'open_capture', lambda source: camera)
    out = tmp_path / 'cam.mp4'
    n = video.annotate_video('0', model_dir, str(out), detector=Fixed([(60, 40, 190, 190)]),
                             log=lambda *a: None)
    assert n == 7 and camera.released
    assert count_frames(out) == (7, video.CAMERA_FPS)
    assert len(pd.read_csv(tmp_path / 'cam.csv')) == 7


def test_ctrl_c_on_a_file_writes_nothing(trained, tmp_path, monkeypatch):
    _, model_dir, _ = trained
    src = tmp_path / 'clip.mp4'
    write_video(src, moving_face_frames(4))
    monkeypatch.setattr(video, 'open_capture', lambda s: StandInCamera(moving_face_frames(), 3))
    with pytest.raises(KeyboardInterrupt):
        video.annotate_video(str(src), model_dir, str(tmp_path / 'o.mp4'),
                             detector=Fixed([(60, 40, 190, 190)]), log=lambda *a: None)
    assert sorted(os.listdir(tmp_path)) == ['clip.mp4']


def test_the_videos_csv_replaces_only_a_table_an_earlier_run_wrote(trained, tmp_path):
    _, model_dir, _ = trained
    src = tmp_path / 'clip.mp4'
    write_video(src, moving_face_frames(2))
    args = dict(detector=Fixed([(60, 40, 190, 190)]), log=lambda *a: None)
    (tmp_path / 'notes.csv').write_text('name,score\nann,3\n')
    with pytest.raises(UserError, match='would replace .*notes.csv, which is not a keypoints '
                                        'table'):
        video.annotate_video(str(src), model_dir, str(tmp_path / 'notes.mp4'), **args)
    assert (tmp_path / 'notes.csv').read_text() == 'name,score\nann,3\n'
    assert not (tmp_path / 'notes.mp4').exists()
    out = tmp_path / 'out.mp4'
    assert video.annotate_video(str(src), model_dir, str(out), **args) == 2
    assert video.annotate_video(str(src), model_dir, str(out), **args) == 2   # its own: again
    assert len(pd.read_csv(tmp_path / 'out.csv')) == 2


def test_the_output_may_not_be_the_input(trained, tmp_path):
    _, model_dir, _ = trained
    src = tmp_path / 'clip.mp4'
    write_video(src, moving_face_frames(2))
    before = src.read_bytes()
    with pytest.raises(UserError, match='is an input file'):
        video.annotate_video(str(src), model_dir, str(src), detector=Fixed([]))
    with pytest.raises(UserError, match=r'write the video as \.mp4 or \.avi'):
        video.annotate_video(str(src), model_dir, str(tmp_path / 'o.gif'), detector=Fixed([]))
    assert src.read_bytes() == before and sorted(os.listdir(tmp_path)) == ['clip.mp4']
