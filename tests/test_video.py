import numpy as np
import pytest
from conftest import write_clip

from microaction.data.video import iter_frames, probe_video, read_video, write_video
from microaction.errors import VideoError


def brightness_index(frame, base):
    return int(round((frame.astype(float).mean() - base.astype(float).mean()) / 6))


def test_reads_requested_frames_in_order(tmp_path):
    arr = write_clip(tmp_path / "a.mp4", frames=20)
    clip = read_video(tmp_path / "a.mp4", [0, 7, 7, 19, 3])
    assert clip.frames.shape == (5, 48, 40, 3) and clip.frames.dtype == np.uint8
    assert clip.length == 20 and clip.fps == pytest.approx(30.0)
    assert [brightness_index(f, arr[0]) for f in clip.frames] == [0, 7, 7, 19, 3]


def test_selector_sees_true_length_and_short_side(tmp_path):
    write_clip(tmp_path / "a.mp4", frames=9, size=(96, 80))
    seen = []
    clip = read_video(tmp_path / "a.mp4", lambda n: seen.append(n) or np.arange(n), short_side=40)
    assert seen == [9] and clip.frames.shape == (9, 48, 40, 3)
    assert probe_video(tmp_path / "a.mp4") == (9, 30.0, 80, 96)


def test_out_of_range_index_is_an_error(tmp_path):
    write_clip(tmp_path / "a.mp4", frames=5)
    with pytest.raises(IndexError, match="out of range"):
        read_video(tmp_path / "a.mp4", [5])


@pytest.mark.parametrize("make, fragment", [
    (lambda p: None, "file not found"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b""), "cannot decode"),
    (lambda p: p.write_text("just some text, not a video"), "cannot decode"),
])
def test_bad_files_raise_video_error_naming_file(tmp_path, make, fragment):
    p = tmp_path / "bad.mp4"
    make(p)
    with pytest.raises(VideoError) as err:
        read_video(p)
    assert str(p) in str(err.value) and fragment in str(err.value)
    with pytest.raises(VideoError):
        list(iter_frames(p))


def test_write_video_is_atomic_on_failure(tmp_path):
    def frames():
        yield np.zeros((16, 16, 3), np.uint8)
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        write_video(tmp_path / "x.mp4", frames())
    assert list(tmp_path.iterdir()) == []
