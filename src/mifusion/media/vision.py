"""Per-frame face descriptors: dlib's HOG face detector and the 68-point landmark model that the
``face-recognition-models`` package ships, turned into the columns of :data:`mifusion.data.feature_manifest.VISION_BASE`
and head yaw and pitch (:data:`~mifusion.data.feature_manifest.VISION_POSE`, OpenCV's solvePnP).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.data.feature_manifest import VISION_BASE, VISION_POSE
from mifusion.media.decode import BadClip

# A generic 3-D face (mm) for solvePnP: nose tip, chin, eye outer corners, mouth corners (landmarks
# 30, 8, 36, 45, 48, 54), the usual head-pose approximation, in camera axes (x right, y down, z away from
# the camera), so that a face looking straight at the camera has no rotation.
_MODEL_3D = np.array(
    [[0.0, 0.0, 0.0], [0.0, 330.0, 65.0], [-225.0, -170.0, 135.0], [225.0, -170.0, 135.0],
     [-150.0, 150.0, 125.0], [150.0, 150.0, 125.0]]
)  # fmt: skip
_POSE_POINTS = [30, 8, 36, 45, 48, 54]


def landmark_model() -> Path:
    """The 68-point predictor file inside ``face-recognition-models`` (located without importing it:
    its ``__init__`` needs ``pkg_resources``, which recent setuptools no longer ships)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face-recognition-models is not installed")
    path = (
        Path(next(iter(spec.submodule_search_locations))) / "models" / "shape_predictor_68_face_landmarks.dat"
    )
    if not path.is_file():
        raise ImportError(f"{path} is missing from face-recognition-models")
    return path


def column_names() -> list[str]:
    """The vision columns, in order."""
    return [n for n, _ in VISION_BASE + VISION_POSE]


FACE_DETECTORS = ("hog", "cnn")
"""dlib's HOG frontal-face detector (default), or its CNN (MMOD) detector from ``face-recognition-models``."""


@lru_cache(maxsize=1)
def _predictor() -> Any:
    import dlib

    return dlib.shape_predictor(str(landmark_model()))


@lru_cache(maxsize=2)
def _detector(kind: str) -> Any:
    import dlib

    if kind == "cnn":
        return dlib.cnn_face_detection_model_v1(str(landmark_model().parent / "mmod_human_face_detector.dat"))
    return dlib.get_frontal_face_detector()


def faces(grey: np.ndarray, detector: str = "hog") -> list[tuple[Any, float]]:
    """(dlib rectangle, score) of every face dlib's ``detector`` finds in a grey uint8 image (no upsampling)."""
    image = np.ascontiguousarray(grey, dtype=np.uint8)
    if detector == "cnn":
        return [(d.rect, float(d.confidence)) for d in _detector("cnn")(image, 0)]
    rects, scores, _ = _detector("hog").run(image, 0, 0.0)
    return list(zip(rects, (float(s) for s in scores), strict=True))


def _dist(p: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(p[a] - p[b]))


def descriptors(points: np.ndarray, width: int) -> list[float]:
    """The base columns (without face_present) from (68, 2) landmark coordinates in pixels."""
    p = points.astype(np.float64)
    iod = max(_dist(p, 36, 45), 1e-6)
    left_eye, right_eye = p[36:42].mean(0), p[42:48].mean(0)
    eye_open = [
        (_dist(p, 37, 41) + _dist(p, 38, 40)) / 2 / max(_dist(p, 36, 39), 1e-6),
        (_dist(p, 43, 47) + _dist(p, 44, 46)) / 2 / max(_dist(p, 42, 45), 1e-6),
    ]
    brow = [
        float(np.linalg.norm(p[17:22].mean(0) - left_eye)) / iod,
        float(np.linalg.norm(p[22:27].mean(0) - right_eye)) / iod,
    ]
    lip_centre_y = (p[51, 1] + p[57, 1]) / 2
    corners_y = (p[48, 1] + p[54, 1]) / 2
    up, down = p[51] - p[48], p[57] - p[48]
    cos = float(np.dot(up, down) / max(np.linalg.norm(up) * np.linalg.norm(down), 1e-9))
    eye_line = p[45] - p[36]
    return [
        iod / width,
        *eye_open,
        *brow,
        _dist(p, 21, 22) / iod,
        _dist(p, 62, 66) / iod,
        _dist(p, 48, 54) / iod,
        (lip_centre_y - corners_y) / iod,
        float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))),
        _dist(p, 33, 51) / iod,
        float(np.degrees(np.arctan2(eye_line[1], eye_line[0]))),
    ]


def pose_angles(rotation: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) in degrees of a rotation matrix R = Rz(roll) @ Ry(yaw) @ Rx(pitch) in camera axes.

    Positive yaw: the face turns towards the image's left (the subject's right); positive pitch: the face
    tilts down.

    Example:
        >>> t = np.radians(20.0)
        >>> ry = np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])
        >>> [round(a, 6) for a in pose_angles(ry)]
        [20.0, 0.0]
    """
    yaw = float(np.degrees(np.arcsin(-np.clip(rotation[2, 0], -1.0, 1.0))))
    pitch = float(np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2])))
    return yaw, pitch


def head_pose(points: np.ndarray, size: tuple[int, int]) -> list[float]:
    """[yaw, pitch] in degrees from (68, 2) landmark pixels: OpenCV's solvePnP of the generic face
    :data:`_MODEL_3D` on landmarks 30, 8, 36, 45, 48, 54, for a pinhole camera with focal length = frame
    width and the principal point at the centre (no lens distortion)."""
    import cv2

    width, height = size
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], dtype=np.float64)
    image = points[_POSE_POINTS].astype(np.float64)
    span = max(float(np.linalg.norm(image[3] - image[2])), 1.0)  # outer eye corners, pixels
    guess = np.zeros((3, 1))
    tvec = np.array([[0.0], [0.0], [width * 450.0 / span]])  # start facing the camera at the right depth
    ok, rvec, _ = cv2.solvePnP(
        _MODEL_3D,
        image,
        camera,
        np.zeros(4),
        guess,
        tvec,
        useExtrinsicGuess=True,
        flags=cv2.SOLVEPNP_ITERATIVE,
    )
    if not ok:
        return [0.0, 0.0]
    rotation, _ = cv2.Rodrigues(np.asarray(rvec, dtype=np.float64))
    return list(pose_angles(np.asarray(rotation, dtype=np.float64)))


def landmarks(grey: np.ndarray, detector: str = "hog") -> np.ndarray | None:
    """(68, 2) landmark pixels of the most confidently detected face in a grey image, or None."""
    found = faces(grey, detector)
    if not found:
        return None
    box = max(found, key=lambda f: f[1])[0]
    shape = _predictor()(np.ascontiguousarray(grey, dtype=np.uint8), box)
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], dtype=np.float64)


def vision_features(frames: np.ndarray, size: tuple[int, int], detector: str = "hog") -> np.ndarray:
    """(T, D) float32 columns for (T, H, W) grey frames; BadClip("no face") when no frame has one."""
    out = np.zeros((len(frames), len(VISION_BASE) + len(VISION_POSE)), np.float32)
    for t, frame in enumerate(frames):
        points = landmarks(frame, detector)
        if points is None:
            continue
        out[t] = [1.0, *descriptors(points, size[0]), *head_pose(points, size)]
    if not out[:, 0].any():
        raise BadClip("no face in any frame")
    return out
