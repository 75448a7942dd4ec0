"""Keypoints on video, from a file or a camera (run_predict.py --video).

The detector looks at every SCAN_EVERY-th frame and after a face was lost,
upright and on turned copies (faces/align.py), and at every frame while no face is
tracked; in the frames
between, each face is followed by matching its look (its crop when last
found) about where it was, turned as it is, which costs a fraction of a
detector's look. A track keeps the angle its eyes were levelled to
(align.face_keypoints), and each face is predicted on its upright crop, as
photos are. Keypoints from a 96x96 crop jump by a pixel or two from frame to
frame even on a still face, because the crop does, so each track's face and
keypoints are smoothed with a One-Euro filter (Casiez, Roussel and Vogel,
CHI 2012): a low-pass filter whose cut-off rises with speed, steady when the
face is still and quick to follow when it moves. docs/video.md has the
jitter, lag and speed this buys.

Writes the annotated video (the input's frame size, frame count and frame
rate) and a CSV with one row per frame and face. A written video has one
frame rate: where the input's frames are unevenly spaced (a variable frame
rate), the smoothing follows their real times and a line says that the
output's timing is not the input's.
"""

import math
import os
import time

import numpy as np

from ..files.fileio import (atomic_write_text, is_stream, not_a_file, publish,
                            refuse_overwriting_inputs, refuse_replacing_another_table,
                            temporary_name)
from ..runs import record
from ..runs.errors import UserError, reason
from ..runs.progress import Progress
from . import align, photo
from .detect import Detector, cv2_or_error, iou
from .photo import draw

# One-Euro filter settings, for positions in pixels: below MIN_CUTOFF Hz is
# kept; the cut-off rises by BETA Hz per pixel/second of speed.
MIN_CUTOFF = 1.0
BETA = 0.2
D_CUTOFF = 1.0
MATCH_IOU = 0.3           # a detection continues a track when their boxes overlap this much
MAX_UNSEEN = 2            # looks of the detector a followed face may miss before its track ends
REMEMBER_SECONDS = 2.0    # a face found again where a track ended this recently keeps its id
SCAN_EVERY = 10           # the detector looks at every 10th frame (and turned copies of it)
TURNED_MIN_SCORE = 0.3    # dlib's margin a face found only on a turned copy needs (texture
                          # such as a drum kit's scores 0.1-0.26 there; faces mostly over 0.5)
FOLLOW_PIXELS = 48        # a face is followed by matching its look at this size (pixels) ...
FOLLOW_SEARCH = 1.5       # ... in a square this many times its size about where it was
FOLLOW_MATCH = 0.6        # normalised correlation below which a face is not followed
FOLLOW_STILL = 0.5        # a face that moved less (crop pixels) stays: noise moves no crop
CAMERA_FPS = 30.0         # when a camera does not say


class OneEuro:
    """One-Euro filter of a vector of positions sampled at fps frames per second,
    or at the gaps (seconds) each call gives."""

    def __init__(self, fps, min_cutoff=MIN_CUTOFF, beta=BETA, d_cutoff=D_CUTOFF):
        self.period, self.min_cutoff, self.beta, self.d_cutoff = 1.0 / fps, min_cutoff, beta, \
            d_cutoff
        self.dt = self.period
        self.x = self.dx = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / self.dt)

    def __call__(self, x, dt=None):
        self.dt = dt if dt and dt > 0 else self.period
        x = np.asarray(x, np.float64)
        if self.x is None:
            self.x, self.dx = x, np.zeros_like(x)
            return x
        a_d = self._alpha(self.d_cutoff)
        self.dx = a_d * (x - self.x) / self.dt + (1 - a_d) * self.dx
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self.dx))
        self.x = a * x + (1 - a) * self.x
        return self.x


def square(face):
    """The (x, y, w, h) square of a turned frame's size about its centre."""
    cx, cy, size = face[:3]
    return (cx - size / 2, cy - size / 2, size, size)


class Track:
    """One face followed from frame to frame: an id, where it is now (raw, a
    turned frame (cx, cy, size, angle)) and as smoothed (face; raw when
    smooth=False), and its look when last detected (a FOLLOW_PIXELS crop),
    by which it is followed between the frames the detector looks at; here:
    whether it was found or followed in the latest frame."""

    def __init__(self, track_id, face, gray, fps, smooth):
        self.id, self.unseen, self.face, self.here, self.dt = track_id, 0, None, True, None
        self._face_filter = OneEuro(fps) if smooth else None
        self._point_filter = OneEuro(fps) if smooth else None
        self.turn(gray, face)

    def detected(self, face, gray):
        """The detector found it at face; it keeps the angle it was levelled to."""
        self.unseen = 0
        self.turn(gray, tuple(face[:3]) + (self.raw[3],))

    def turn(self, gray, face):
        """It is at face, turned as its eyes are (its look is cut again)."""
        self.raw = tuple(float(v) for v in face)
        self._look = align.crop(gray, self.raw, FOLLOW_PIXELS)

    def follow(self, gray):
        """Moves raw to where its look matches this frame best, within a
        square FOLLOW_SEARCH times its size about where it was; False (and
        not moved) where nothing there matches it well enough."""
        cv2 = cv2_or_error()
        cx, cy, size, angle = self.raw
        n = FOLLOW_PIXELS
        m = int(round(n * FOLLOW_SEARCH))
        area = align.crop(gray, (cx, cy, size * m / n, angle), m)
        scores = cv2.matchTemplate(area, self._look, cv2.TM_CCOEFF_NORMED)
        _, best, _, peak = cv2.minMaxLoc(scores)
        if not best >= FOLLOW_MATCH:
            return False
        shift = np.array([_vertex(scores[peak[1], peak[0] - 1:peak[0] + 2]),
                          _vertex(scores[peak[1] - 1:peak[1] + 2, peak[0]])])
        shift += np.array(peak) - (m - n) / 2          # crop pixels, as the face is turned
        if np.hypot(*shift) > FOLLOW_STILL:
            self.raw = (*((cx, cy) + align.rotation(angle) @ shift * size / n), size, angle)
        return True

    def step(self, dt=None):
        """The frame's smoothed face; dt: seconds since the frame before."""
        self.dt = dt
        raw = np.asarray(self.raw, np.float64)
        self.face = tuple(self._face_filter(raw, dt) if self._face_filter else raw)

    def points(self, points):
        return self._point_filter(points, self.dt) if self._point_filter else np.asarray(points)


def _vertex(three):
    """Where between -0.5 and 0.5 the parabola through three scores peaks
    (0 at an edge of the search): the match to a fraction of a pixel."""
    if len(three) < 3:
        return 0.0
    left, mid, right = (float(v) for v in three)
    curve = left - 2 * mid + right
    return float(np.clip(0.5 * (left - right) / curve, -0.5, 0.5)) if curve < 0 else 0.0


class Tracker:
    """Matches the faces the detector finds (turned frames) to the faces of
    earlier frames (greatest overlap first) and follows each between the
    frames it looks at. A face that cannot be followed asks for a look at the
    next frame (.lost); at a look, a face neither found nor followed is
    dropped, and so is one the detector has missed MAX_UNSEEN looks in a row
    though followed, so a track does not stay on a wall that matches its look.
    A face found again where a track ended (MATCH_IOU) within REMEMBER_SECONDS
    takes that track's id, so a hand passing over a face does not make it a
    new one in the CSV; next_id is the number of ids given."""

    def __init__(self, fps, smooth=True):
        self.fps, self.smooth, self.tracks, self.next_id, self.lost = fps, smooth, [], 0, False
        self.frame, self.ended = 0, []      # ended: [(frame it ended at, track)]

    def update(self, gray, detections=None, dt=None):
        """This frame's tracks, each with its .face. detections: the faces
        [(cx, cy, size, angle)] the detector found in gray, or None where it
        did not look (every face is then followed); dt: seconds since the
        frame before (default 1 / fps)."""
        looked, found, followed = detections is not None, {}, set()
        pairs = sorted(((iou(square(t.raw), square(d)), i, k) for i, t in enumerate(self.tracks)
                        for k, d in enumerate(detections or [])), key=lambda p: -p[0])
        for overlap, i, k in pairs:
            if overlap >= MATCH_IOU and i not in found and k not in found.values():
                found[i] = k
        for i, t in enumerate(self.tracks):
            if i in found:
                t.detected(detections[found[i]], gray)
            elif t.follow(gray):
                t.unseen += looked
                followed.add(i)
            t.here = i in found or i in followed
        self.lost = not looked and len(followed) < len(self.tracks)
        kept = [t for i, t in enumerate(self.tracks) if i in found or (
            i in followed and t.unseen < MAX_UNSEEN) or (i not in followed and not looked)]
        self.ended += [(self.frame, t) for t in self.tracks if t not in kept]
        self.tracks = kept
        for k, d in enumerate(detections or []):
            if k not in found.values():
                self.tracks.append(Track(self._id_for(d), d, gray, self.fps, self.smooth))
        for t in self.tracks:
            t.step(dt)
        self.frame += 1
        return list(self.tracks)

    def _id_for(self, face):
        """The id of the track, ended within REMEMBER_SECONDS, that overlaps
        face most by at least MATCH_IOU (it is then taken); else a new id."""
        self.ended = [(f, t) for f, t in self.ended
                      if self.frame - f <= REMEMBER_SECONDS * self.fps]
        overlaps = [iou(square(t.raw), square(face)) for _, t in self.ended]
        if overlaps and max(overlaps) >= MATCH_IOU:
            return self.ended.pop(int(np.argmax(overlaps)))[1].id
        self.next_id += 1
        return self.next_id - 1


def find_faces(gray, detector, tracker, frame):
    """The faces [(cx, cy, size, angle)] the detector finds in frame number
    frame, or None where it does not look. It looks at the whole frame, upright
    and on turned copies, every SCAN_EVERY frames and after a face was lost;
    upright, at every frame while no face is tracked; otherwise the tracker
    follows the faces it has. Turned copies only add faces not found upright
    (an upright face found on a turned copy too would move its box from look
    to look), and only those dlib is surer of than TURNED_MIN_SCORE."""
    scan = frame % SCAN_EVERY == 0 or tracker.lost
    if tracker.tracks and not scan:
        return None
    upright = align.find_faces(gray, detector, turns=(0.0,))
    if not scan or not hasattr(detector, 'scored'):
        return upright
    turned = [(score, face) for score, face in align.scored_faces(
        gray, detector, [a for a in align.TURNS if a]) if score >= TURNED_MIN_SCORE
        or detector.name != 'dlib']                 # the Haar cascade gives no scores
    return align.merge(turned, first=upright)


# Containers the annotated video may be written in, with OpenCV's codec for each.
CODECS = {'.mp4': 'mp4v', '.avi': 'MJPG'}


def is_camera(source):
    """Whether source names camera N: a number that is not the name of a file
    (a video named 2024 is that video)."""
    return str(source).isdigit() and not os.path.lexists(str(source))


def open_capture(source):
    """cv2.VideoCapture of a video file, or of camera N for source 'N' (tests
    put a stand-in here)."""
    cv2 = cv2_or_error()
    return cv2.VideoCapture(int(source) if is_camera(source) else source)


def annotate_video(source, model_dir, output=None, detector='auto', use_bf16=False,
                   smooth=True, log=print):
    """Annotate every frame of a video file or camera (source: a path, or 'N'
    for camera N) and write output (default NAME_keypoints.mp4 here) and its
    CSV. A camera records until Ctrl-C. Returns the number of frames."""
    from ..serving.predictor import Predictor
    cv2 = cv2_or_error()
    camera = is_camera(source)
    if not camera and not_a_file(source):
        raise UserError('{} {}.'.format(source, not_a_file(source)))
    output, table = video_outputs(source, camera, output, model_dir)
    detector = Detector(detector) if isinstance(detector, str) else detector
    cap = open_capture(source)
    if not cap.isOpened():
        raise UserError('cannot open {}.'.format(
            'camera {}'.format(source) if camera else '{}: not a video OpenCV can read'.format(
                source)))
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and np.isfinite(fps) and fps > 0 else CAMERA_FPS
    tmp = temporary_name(output, '.tmp' + os.path.splitext(output)[1].lower())
    clip = Clip(cap, tmp, output, fps, Tracker(fps, smooth))
    start = time.time()
    try:
        with Predictor(model_dir, use_bf16) as predictor:
            clip.annotate(predictor, detector, 0 if camera else max(
                0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))))
    except KeyboardInterrupt:
        if not camera:
            _discard(clip.writer, tmp)
            raise
        log('stopped recording.')          # Ctrl-C is how a camera recording ends
    except BaseException:
        _discard(clip.writer, tmp)
        raise
    finally:
        cap.release()
    if clip.writer is None:
        raise UserError('{} has no frames OpenCV can read.'.format(source))
    publish_video(clip, table)
    if clip.clock.uneven(fps):
        log(clip.clock.uneven(fps).format(source=source, output=output))
    seconds = time.time() - start
    log('{}: {} frames ({:.1f} frames/s, start-up included), {} face track{} -> {}, {}'.format(
        source if not camera else 'camera ' + str(source), clip.frames,
        clip.frames / max(seconds, 1e-9), clip.tracker.next_id,
        's' * (clip.tracker.next_id != 1), output, table))
    return clip.frames


def video_outputs(source, camera, output, model_dir):
    """(output, its CSV): the names checked before any work (a format OpenCV
    writes, no input or model file replaced, no table of the user's, a folder
    that exists)."""
    stem = 'camera{}'.format(source) if camera else os.path.splitext(os.path.basename(source))[0]
    output = output or stem + '_keypoints.mp4'
    if os.path.splitext(output)[1].lower() not in CODECS:
        raise UserError('--output {}: write the video as {}.'.format(output, ' or '.join(CODECS)))
    table = os.path.splitext(output)[0] + '.csv'
    refuse_overwriting_inputs(output, [] if camera else [source])
    refuse_overwriting_inputs(output, [] if camera else [source], written=table)
    record.refuse_run_file(output, model_dir)
    record.refuse_run_file(table, model_dir)
    refuse_replacing_another_table(table, TABLE_HEADER, output)
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UserError('cannot write {}: folder {} does not exist.'.format(output, folder))
    return output, table


class Clip:
    """One video being annotated: its frames read from cap, drawn into the
    temporary file tmp (for output) at fps, and their faces' rows."""

    def __init__(self, cap, tmp, output, fps, tracker):
        self.cap, self.tmp, self.output, self.fps, self.tracker = cap, tmp, output, fps, tracker
        self.writer, self.rows, self.frames = None, [], 0
        self.clock = FrameClock(cap, cv2_or_error())

    def annotate(self, predictor, detector, total):
        """Read, track, predict and draw every frame until the source ends
        (total frames, 0 when unknown: no progress bar)."""
        cv2 = cv2_or_error()
        bar = Progress(total, 'frames', enabled=total > 0)
        while True:
            ok, frame = self.cap.read()
            if not ok:
                break
            if self.writer is None:
                codec = CODECS[os.path.splitext(self.output)[1].lower()]
                self.writer = cv2.VideoWriter(self.tmp, cv2.VideoWriter_fourcc(*codec), self.fps,
                                              (frame.shape[1], frame.shape[0]))
                if not self.writer.isOpened():
                    raise UserError('cannot write {}.'.format(self.output))
            self.writer.write(self.annotated(frame, predictor, detector))
            self.frames += 1
            bar.update(self.frames)
        bar.close()

    def annotated(self, frame, predictor, detector):
        """The frame with its tracked faces' boxes and keypoints drawn; their
        rows added to self.rows."""
        cv2 = cv2_or_error()
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        tracker = self.tracker
        tracks = tracker.update(gray, find_faces(gray, detector, tracker, self.frames),
                                self.clock.gap())
        points, faces = align.face_keypoints(gray, [t.face for t in tracks], predictor)
        points = [t.points(p) for t, p in zip(tracks, points)]
        for t, face in zip(tracks, faces):
            if face[3] != t.face[3] and t.here:     # levelled: crop it so from now on
                t.turn(gray, t.raw[:3] + (face[3],))
        boxes = [align.face_box(t.face, detector.frame) for t in tracks]
        self.rows += [[self.frames, t.id] + list(b) + list(p)
                      for t, b, p in zip(tracks, boxes, points)]
        return draw(frame, boxes, points)


def publish_video(clip, table):
    """Put the finished clip's video at its output and its rows in table."""
    clip.writer.release()
    ext, output = os.path.splitext(clip.output)[1].lower(), clip.output
    try:
        # OpenCV says nothing when its writes fail (a full disk): a file cut
        # short is refused, and the CSV goes first (after a stream, which
        # may refuse it), so both or neither arrive.
        if not complete_container(clip.tmp, ext):
            raise UserError('cannot write {}: {}.'.format(
                output, _why_incomplete(os.path.dirname(os.path.abspath(output)))))
        if is_stream(output):
            publish(clip.tmp, output)
        atomic_write_text(table, faces_table(clip.rows))
        if not is_stream(output):
            publish(clip.tmp, output)
    except OSError as e:
        raise UserError('cannot write {}: {}.'.format(output, reason(e)))
    finally:
        _discard(None, clip.tmp)


class FrameClock:
    """The gaps between the frames of a capture, from the time OpenCV gives
    each (CAP_PROP_POS_MSEC), where it gives one."""

    def __init__(self, cap, cv2):
        self.cap, self.prop, self.last, self.gaps = cap, cv2.CAP_PROP_POS_MSEC, None, []

    def gap(self):
        """Seconds since the frame read before this one, or None where unknown."""
        ms = self.cap.get(self.prop)
        gap = (ms - self.last) / 1000 if self.last is not None and ms > self.last else None
        self.last = ms if ms is not None and ms >= 0 else None
        if gap:
            self.gaps.append(gap)
        return gap

    def uneven(self, fps):
        """A line (to format with source and output) where the frames were not
        evenly spaced, which a written video, at one frame rate, cannot keep."""
        if not self.gaps or 0.5 / fps <= min(self.gaps) <= max(self.gaps) <= 1.5 / fps:
            return None
        return ('{{source}}: its frames are {:.0f} to {:.0f} ms apart (a variable frame rate); '
                '{{output}} shows every frame for {:.1f} ms, so its timing is not the '
                "input's (the smoothing followed the real gaps).".format(
                    1000 * min(self.gaps), 1000 * max(self.gaps), 1000 / fps))


# The CSV's first line: frame, then a photo's columns: face (its track), box
# (smoothed, frame pixels), 30 values.
TABLE_HEADER = 'frame,' + photo.TABLE_HEADER


def faces_table(rows):
    """The CSV: TABLE_HEADER, then a line a face a frame."""
    lines = [TABLE_HEADER]
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
