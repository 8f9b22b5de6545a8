"""Vision extraction on videos rendered from scikit-image's astronaut photograph: face presence, stable
landmarks on a still face, the mouth descriptors following a mouth stretched open, and a faceless clip
reported and skipped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main

from .makers import VISION, label_csv, require, speak

FPS = 5


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    require((*VISION, "skimage"))
    import skimage.data

    return np.asarray(skimage.data.astronaut())


def _write(path: Path, frames: list[np.ndarray], speech: Path | None = None) -> Path:
    import imageio.v2 as imageio
    import imageio_ffmpeg

    silent = path.with_name(path.stem + ".video.mp4") if speech else path
    with imageio.get_writer(silent, fps=FPS, codec="libx264", ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(frame)
    if speech:  # mux the speech in: extraction needs an audio track
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(silent), "-i", str(speech),
             "-c:v", "copy", "-c:a", "aac", str(path)], check=True,
        )  # fmt: skip
    return path


def _landmarks(image: np.ndarray) -> np.ndarray:
    from mifusion.media.vision import landmarks

    points = landmarks(image.mean(axis=2).astype(np.uint8))
    assert points is not None
    return points


def _open_mouth(image: np.ndarray, points: np.ndarray, stretch: float) -> np.ndarray:
    """Stretches the rows between the lip line and the chin downwards by ``stretch`` (lower lip drops)."""
    out = image.copy()
    top, chin = int(points[62:67, 1].mean()), int(points[8, 1]) + 15
    left, right = int(points[4, 0]), int(points[12, 0])
    for y in range(top, min(chin + int((chin - top) * (stretch - 1)), image.shape[0])):
        source = top + (y - top) / stretch
        out[y, left:right] = image[int(source), left:right]
    return out


def test_still_face_is_present_and_stable(astronaut: np.ndarray, tmp_path: Path) -> None:
    from mifusion.media.decode import read_frames
    from mifusion.media.vision import column_names, vision_features

    frames, size = read_frames(str(_write(tmp_path / "still.mp4", [astronaut] * 10)), FPS)
    features = vision_features(frames, size)
    names = column_names()
    assert features.shape == (10, len(names)) and size == (512, 512)
    assert (features[:, names.index("face_present")] == 1).all()
    assert features.std(axis=0).max() < 1e-3  # the same face gives the same landmarks
    assert 0.05 < features[0, names.index("face_size")] < 0.5


def test_mouth_descriptors_follow_the_mouth(astronaut: np.ndarray, tmp_path: Path) -> None:
    from mifusion.media.decode import read_frames
    from mifusion.media.vision import column_names, vision_features

    points = _landmarks(astronaut)
    frames = (
        [astronaut] * 2
        + [_open_mouth(astronaut, points, 1.3)] * 2
        + [_open_mouth(astronaut, points, 1.6)] * 2
    )
    grey, size = read_frames(str(_write(tmp_path / "mouth.mp4", frames)), FPS)
    features = vision_features(grey, size)
    names = column_names()
    mouth, eyes = features[:, names.index("mouth_open")], features[:, names.index("left_eye_open")]
    assert (features[:, 0] == 1).all()
    assert mouth[0] < mouth[2] < mouth[4] and mouth[4] - mouth[0] > 0.05, mouth  # inner lips further apart
    assert abs(eyes[4] - eyes[0]) < mouth[4] - mouth[0]  # the mouth moved more than the eyes


def test_vision_through_the_cli_skips_a_faceless_clip(astronaut: np.ndarray, tmp_path: Path) -> None:
    from mifusion.data.io import load_dataset

    media = tmp_path / "clips"
    media.mkdir()
    grey_wall = np.full_like(astronaut, 128)
    for name, frames in (("face", [astronaut] * 8), ("wall", [grey_wall] * 8)):
        for clip in ("0", "1", "2"):
            speech = speak(tmp_path / f"{name}{clip}.wav", "good movie")
            _write(media / f"{name}$_${clip}.mp4", frames, speech)
    rows = [
        (v, c, "good movie", 1.0, m)
        for v in ("face", "wall")
        for c, m in zip("012", ("train", "valid", "test"))
    ]
    labels = label_csv(tmp_path / "label.csv", rows)
    out = tmp_path / "out.pkl"
    assert (
        main(["data", "extract", str(media), "--labels", str(labels), str(out), "--vision", "--quiet"]) == 0
    )
    report = (tmp_path / "out.pkl.report.csv").read_text()
    assert report.count("no face in any frame") == 3 and "face$_$" not in report
    dataset = load_dataset(out)
    assert dataset.meta["features"]["vision"]["columns"][0]["name"] == "face_present"
    split = dataset["train"]
    assert split.ids.tolist() == ["face$_$0"]
    assert 1 <= split.lengths["vision"][0] <= split.sequences["vision"].shape[1]
    assert split.sequences["vision"][0, : split.lengths["vision"][0], 0].all()


def test_cnn_face_detector(astronaut: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mifusion.media.extract import Settings, cache_dir
    from mifusion.media.vision import column_names, faces, vision_features

    crop = np.ascontiguousarray(
        astronaut[:300, 90:390]
    )  # the face, on a third of the pixels (the CNN is slow)
    grey = crop.mean(axis=2).astype(np.uint8)
    found = faces(grey, "cnn")
    assert len(found) == 1 and found[0][1] > 0.5  # one confident face (measured: 1.07 on the whole image)
    hog, cnn = (vision_features(grey[None], (300, 300), d)[0] for d in ("hog", "cnn"))
    names = column_names()
    assert hog[0] == cnn[0] == 1  # both see the face
    for name in (
        "face_size",
        "mouth_width",
        "left_eye_open",
    ):  # and put its landmarks in about the same places
        assert cnn[names.index(name)] == pytest.approx(hog[names.index(name)], rel=0.05), name
    assert faces(np.full_like(grey, 128), "cnn") == []  # a grey wall: no face
    assert cache_dir(tmp_path / "o", Settings(vision=True, face_detector="cnn")) != cache_dir(
        tmp_path / "o", Settings(vision=True)
    )  # the cache key records the detector
    argv = [
        "data",
        "extract",
        str(tmp_path),
        "--labels",
        "x.csv",
        str(tmp_path / "o"),
        "--face-detector",
        "cnn",
    ]
    assert main(argv) == 2 and "needs --vision" in capsys.readouterr().err


def test_vision_aligned_to_words(astronaut: np.ndarray, tmp_path: Path) -> None:
    """--vision --align words: the face columns of the clip's frames averaged per word."""
    from mifusion.data.io import load_dataset
    from mifusion.media.decode import read_frames
    from mifusion.media.vision import column_names, vision_features

    media, rows, lines = tmp_path / "clips", [], ["video_id,clip_id,word,start,end"]
    media.mkdir()
    points = _landmarks(astronaut)
    video = (
        [astronaut] * 2
        + [_open_mouth(astronaut, points, 1.3)] * 2
        + [_open_mouth(astronaut, points, 1.6)] * 4
    )
    for clip, mode in zip("012", ("train", "valid", "test"), strict=True):
        _write(media / f"face$_${clip}.mp4", video, speak(tmp_path / f"s{clip}.wav", "good movie"))
        rows.append(("face", clip, "good movie", 1.0, mode))
        lines += [
            f"face,{clip},good,0.0,0.5",
            f"face,{clip},movie,0.5,1.2",
        ]  # centres 0.1, 0.3 | 0.5 ... 1.1 s
    (tmp_path / "words.csv").write_text("\n".join(lines) + "\n")
    labels = label_csv(tmp_path / "label.csv", rows)
    out = tmp_path / "aligned"
    argv = ["data", "extract", str(media), "--labels", str(labels), str(out), "--vision", "--fps", str(FPS)]
    assert main([*argv, "--align", "words", "--words", str(tmp_path / "words.csv"), "--quiet"]) == 0
    split = load_dataset(out)["train"]
    assert split.sequences["vision"].shape == (1, 2, len(column_names())) and split.lengths["vision"][0] == 2
    frames = vision_features(*read_frames(str(media / "face$_$0.mp4"), FPS))  # the same clip, per frame
    expected = [frames[0:2].mean(axis=0), frames[2:6].mean(axis=0)]  # frames 0-1 and 2-5
    np.testing.assert_allclose(split.sequences["vision"][0], expected, rtol=1e-5, atol=1e-5)
    mouth = column_names().index("mouth_open")
    assert expected[1][mouth] - expected[0][mouth] > 0.03  # the words differ: the mouth opens in the second
    assert "vision_filled" in (tmp_path / "aligned.alignment.csv").read_text().splitlines()[0]
