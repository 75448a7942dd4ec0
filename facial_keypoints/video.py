"""Keypoints on video, from a file or a camera (run_predict.py --video).

Each frame: faces are detected (detect.py), matched to the faces of earlier
frames (tracks), cropped, predicted (photo.py) and drawn. Keypoints from a
96x96 crop jump by a pixel or two from frame to frame even on a still face,
because the detector's box does, so each track's box and keypoints are
smoothed with a One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): a
low-pass filter whose cut-off rises with speed, steady when the face is
still and quick to follow when it moves. docs/video.md has the jitter and
lag this buys.

Writes the annotated video (the input's frame size, frame count and frame
rate) and a CSV with one row per frame and face.
"""

import math
import os
import time

import numpy as np

from . import modeldir
from .constants import KEYPOINT_COLUMNS
from .detect import Detector, cv2_or_error
from .errors import UserError, reason
from .fileio import atomic_write_text, not_a_file, refuse_overwriting_inputs
from .photo import draw, face_keypoints
from .progress import Progress

# One-Euro filter settings, for positions in pixels: below MIN_CUTOFF Hz is
# kept; the cut-off rises by BETA Hz per pixel/second of speed.
MIN_CUTOFF = 1.0
BETA = 0.2
D_CUTOFF = 1.0
MATCH_IOU = 0.3           # a detection continues a track when their boxes overlap this much
MAX_MISSED = 5            # frames a track is kept (at its last box) without a detection
CAMERA_FPS = 30.0         # when a camera does not say


class OneEuro:
    """One-Euro filter of a vector of positions sampled at fps frames per second."""

    def __init__(self, fps, min_cutoff=MIN_CUTOFF, beta=BETA, d_cutoff=D_CUTOFF):
        self.dt, self.min_cutoff, self.beta, self.d_cutoff = 1.0 / fps, min_cutoff, beta, d_cutoff
        self.x = self.dx = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / self.dt)

    def __call__(self, x):
        x = np.asarray(x, np.float64)
        if self.x is None:
            self.x, self.dx = x, np.zeros_like(x)
            return x
        a_d = self._alpha(self.d_cutoff)
        self.dx = a_d * (x - self.x) / self.dt + (1 - a_d) * self.dx
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self.dx))
        self.x = a * x + (1 - a) * self.x
        return self.x


def iou(a, b):
    """Overlap of two (x, y, w, h) boxes: intersection over union, 0..1."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


class Track:
    """One face followed from frame to frame: an id, its latest detection
    (raw), and its box and keypoints as smoothed (or raw, smooth=False)."""

    def __init__(self, track_id, box, fps, smooth):
        self.id, self.raw, self.missed, self.box = track_id, box, 0, None
        self._box_filter = OneEuro(fps) if smooth else None
        self._point_filter = OneEuro(fps) if smooth else None

    def step(self):
        raw = np.asarray(self.raw, np.float64)
        self.box = self._box_filter(raw) if self._box_filter else raw

    def points(self, points):
        return self._point_filter(points) if self._point_filter else np.asarray(points)


class Tracker:
    """Matches each frame's detections to the faces of earlier frames (greatest
    overlap first); a face not detected is kept at its last box for up to
    MAX_MISSED frames, so a detector's blink does not break its track."""

    def __init__(self, fps, smooth=True):
        self.fps, self.smooth, self.tracks, self.next_id = fps, smooth, [], 0

    def update(self, detections):
        """detections [K, 4] -> this frame's tracks, each with its .box."""
        pairs = sorted(((iou(t.box, d), i, k) for i, t in enumerate(self.tracks)
                        for k, d in enumerate(detections)), key=lambda p: -p[0])
        matched_tracks, matched_boxes = set(), set()
        for overlap, i, k in pairs:
            if overlap >= MATCH_IOU and i not in matched_tracks and k not in matched_boxes:
                matched_tracks.add(i)
                matched_boxes.add(k)
                self.tracks[i].raw, self.tracks[i].missed = detections[k], 0
        for i, t in enumerate(self.tracks):
            if i not in matched_tracks:
                t.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= MAX_MISSED]
        for k, d in enumerate(detections):
            if k not in matched_boxes:
                self.tracks.append(Track(self.next_id, d, self.fps, self.smooth))
                self.next_id += 1
        for t in self.tracks:
            t.step()
        return list(self.tracks)


# Containers the annotated video may be written in, with OpenCV's codec for each.
CODECS = {'.mp4': 'mp4v', '.avi': 'MJPG'}


def open_capture(source):
    """cv2.VideoCapture of a video file, or of camera N for source 'N' (tests
    put a stand-in here)."""
    cv2 = cv2_or_error()
    return cv2.VideoCapture(int(source) if str(source).isdigit() else source)


def annotate_video(source, model_dir, output=None, detector='auto', use_bf16=False,
                   smooth=True, log=print):
    """Annotate every frame of a video file or camera (source: a path, or 'N'
    for camera N) and write output (default NAME_keypoints.mp4 here) and its
    CSV. A camera records until Ctrl-C. Returns the number of frames."""
    from .predictor import Predictor
    cv2 = cv2_or_error()
    camera = str(source).isdigit()
    if not camera and not_a_file(source):
        raise UserError('{} {}.'.format(source, not_a_file(source)))
    stem = 'camera{}'.format(source) if camera else os.path.splitext(os.path.basename(source))[0]
    output = output or stem + '_keypoints.mp4'
    ext = os.path.splitext(output)[1].lower()
    if ext not in CODECS:
        raise UserError('--output {}: write the video as {}.'.format(output, ' or '.join(CODECS)))
    table = os.path.splitext(output)[0] + '.csv'
    refuse_overwriting_inputs(output, [] if camera else [source])
    refuse_overwriting_inputs(output, [] if camera else [source], written=table)
    modeldir.refuse_run_file(output, model_dir)
    modeldir.refuse_run_file(table, model_dir)
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UserError('cannot write {}: folder {} does not exist.'.format(output, folder))
    detector = Detector(detector) if isinstance(detector, str) else detector
    cap = open_capture(source)
    if not cap.isOpened():
        raise UserError('cannot open {}.'.format(
            'camera {}'.format(source) if camera else '{}: not a video OpenCV can read'.format(
                source)))
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and np.isfinite(fps) and fps > 0 else CAMERA_FPS
    total = 0 if camera else max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
    tmp = os.path.join(folder, '.{}.{}.tmp{}'.format(os.path.basename(output), os.getpid(), ext))
    writer, rows, frames, tracker = None, [], 0, Tracker(fps, smooth)
    start = time.time()
    try:
        with Predictor(model_dir, use_bf16) as predictor:
            bar = Progress(total, 'frames', enabled=total > 0)
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                if writer is None:
                    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*CODECS[ext]), fps,
                                             (frame.shape[1], frame.shape[0]))
                    if not writer.isOpened():
                        raise UserError('cannot write {}.'.format(output))
                gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                tracks = tracker.update(detector(gray))
                boxes = np.array([t.box for t in tracks]).reshape(-1, 4)
                points = [t.points(p) for t, p in zip(
                    tracks, face_keypoints(gray, boxes, predictor, detector.frame))]
                writer.write(draw(frame, boxes, points))
                rows += [[frames, t.id] + list(t.box) + list(p) for t, p in zip(tracks, points)]
                frames += 1
                bar.update(frames)
            bar.close()
    except KeyboardInterrupt:
        if not camera:
            _discard(writer, tmp)
            raise
        log('stopped recording.')          # Ctrl-C is how a camera recording ends
    except BaseException:
        _discard(writer, tmp)
        raise
    finally:
        cap.release()
    if writer is None:
        raise UserError('{} has no frames OpenCV can read.'.format(source))
    writer.release()
    try:
        # OpenCV says nothing when its writes fail (a full disk): a file cut
        # short is refused, and the CSV goes first, so both or neither arrive.
        if not complete_container(tmp, ext):
            raise UserError('cannot write {}: {}.'.format(output, _why_incomplete(folder)))
        atomic_write_text(table, faces_table(rows))
        os.replace(tmp, output)
    except OSError as e:
        raise UserError('cannot write {}: {}.'.format(output, reason(e)))
    finally:
        _discard(None, tmp)
    seconds = time.time() - start
    log('{}: {} frames ({:.1f} frames/s), {} face track{} -> {}, {}'.format(
        source if not camera else 'camera ' + str(source), frames, frames / max(seconds, 1e-9),
        tracker.next_id, 's' * (tracker.next_id != 1), output, table))
    return frames


def faces_table(rows):
    """The CSV: frame, face (its track), box (smoothed, frame pixels), 30 values."""
    lines = [','.join(['frame', 'face', 'box_x', 'box_y', 'box_w', 'box_h'] + KEYPOINT_COLUMNS)]
    lines += [','.join([str(r[0]), str(r[1])] + ['{:.2f}'.format(v) for v in r[2:]])
              for r in rows]
    return '\n'.join(lines) + '\n'


def complete_container(path, ext):
    """Whether the video file at path is whole: its top-level boxes (.mp4)
    or RIFF chunks (.avi) add up to the file's size, and an .mp4 has its
    index (moov), which is written last."""
    size, pos, seen = os.path.getsize(path), 0, set()
    with open(path, 'rb') as f:
        while pos + 8 <= size:
            f.seek(pos)
            head = f.read(16)
            if ext == '.avi':
                length, kind = int.from_bytes(head[4:8], 'little') + 8, head[:4]
                length += length % 2
            else:
                length, kind = int.from_bytes(head[:4], 'big'), head[4:8]
                if length == 1:
                    length = int.from_bytes(head[8:16], 'big')
                elif length == 0:
                    length = size - pos
            if length < 8:
                return False
            seen.add(kind)
            pos += length
    return pos == size and size > 0 and (b'moov' in seen if ext == '.mp4' else b'RIFF' in seen)


def _why_incomplete(folder):
    try:
        full = os.statvfs(folder).f_bavail == 0
    except (OSError, AttributeError):    # AttributeError: Windows has no statvfs
        full = False
    return 'No space left on device' if full else 'the video OpenCV wrote is incomplete'


def _discard(writer, tmp):
    if writer is not None:
        writer.release()
    if os.path.exists(tmp):
        os.remove(tmp)
