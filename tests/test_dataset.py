import pytest
import torch
from torch.utils.data import DataLoader

from microaction.data.dataset import SampleError, VideoDataset, check_batch, collate_samples
from microaction.data.listfile import ListEntry
from microaction.errors import VideoError
from microaction.spec import InputSpec

SPEC = InputSpec(clip_len=4, size=32, short_side=40)


def test_sample_contract(tiny_synth):
    ds = VideoDataset.from_split(tiny_synth, "train", SPEC, train=True)
    assert len(ds) == 52
    s = ds[5]
    assert s["video"].shape == (3, 4, 32, 32) and s["video"].dtype == torch.float32
    assert set(s) == {"video", "label", "index", "path"}
    assert s["index"] == 5 and s["path"].endswith(".mp4")


def test_same_sample_for_same_seed_epoch_index(tiny_synth):
    ds = VideoDataset.from_split(tiny_synth, "train", SPEC, train=True, seed=1)
    a, b = ds[3]["video"], ds[3]["video"]
    assert torch.equal(a, b)
    ds.set_epoch(1)
    assert not torch.equal(a, ds[3]["video"])


def test_test_views(tiny_synth):
    ds = VideoDataset.from_split(tiny_synth, "val", SPEC, train=False, num_clips=2, test_crops=3)
    assert ds.num_views == 6 and ds[0]["video"].shape == (6, 3, 4, 32, 32)
    dense = VideoDataset.from_split(tiny_synth, "val", SPEC.replace(sampling="dense", interval=2),
                                    train=False)
    assert dense[0]["video"].shape == (3, 4, 32, 32)


def test_bad_sample_raises_by_default_and_skips_on_request(tiny_synth, tmp_path):
    good = VideoDataset.from_split(tiny_synth, "train", SPEC, train=True).entries[:3]
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    import shutil
    for e in good:
        shutil.copy(tiny_synth / "videos_train" / e.path, tmp_path / e.path)
    entries = good[:1] + [ListEntry("broken.mp4", 0, 2), ListEntry("gone.mp4", 1, 3)] + good[1:]
    strict = VideoDataset(entries, tmp_path, SPEC, train=True)
    assert isinstance(strict[1], SampleError) and "broken.mp4" in strict[1].path
    # errors cross from DataLoader workers to the main process intact, as one line
    loader = DataLoader(strict, batch_size=5, collate_fn=collate_samples, num_workers=2)
    batch = next(iter(loader))
    assert batch["video"].shape[0] == 3 and len(batch["errors"]) == 2
    with pytest.raises(VideoError, match="broken.mp4") as err:
        check_batch(batch, "raise")
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)
    assert check_batch(batch, "skip")
    assert not check_batch(collate_samples([SampleError("a", "b")]), "skip")
    lenient = VideoDataset(entries, tmp_path, SPEC, train=True, on_error="skip")
    with pytest.raises(VideoError, match="broken.mp4"):
        VideoDataset(entries, tmp_path, SPEC, train=True).preload()
    lenient.preload()  # bad clips are remembered and reported when asked for, as uncached
    assert lenient.cached and isinstance(lenient[1], SampleError) and \
        isinstance(lenient[2], SampleError)
    assert torch.equal(lenient[0]["video"], strict[0]["video"])


def test_cached_samples_equal_decoded_samples(tiny_synth):
    """A cached dataset gives exactly the samples of one that decodes each time, for training
    (random segments, flip) and for multi-view testing."""
    for split, kw in (("train", {"train": True, "seed": 4}),
                      ("val", {"train": False, "num_clips": 2, "test_crops": 3})):
        plain = VideoDataset.from_split(tiny_synth, split, SPEC, **kw)
        cached = VideoDataset.from_split(tiny_synth, split, SPEC, **kw)
        assert cached.preload(threads=2) > 0 and cached.cached and not plain.cached
        for epoch in (0, 3):
            plain.set_epoch(epoch)
            cached.set_epoch(epoch)
            for i in (0, 17, 51):
                assert torch.equal(plain[i]["video"], cached[i]["video"]), (split, epoch, i)


def test_on_error_value_checked(tiny_synth):
    with pytest.raises(ValueError, match="on_error"):
        VideoDataset.from_split(tiny_synth, "train", SPEC, train=True, on_error="ignore")


def test_cache_refuses_a_set_too_large_for_ram(tiny_synth, monkeypatch):
    import microaction.data.dataset as dataset_module
    from microaction.errors import MicroactionError

    held = VideoDataset.from_split(tiny_synth, "train", SPEC, train=True).preload()
    # the cache may take up to half of the memory available: 2.5x its size is enough ...
    monkeypatch.setattr(dataset_module, "available_memory", lambda: int(2.5 * held))
    ds = VideoDataset.from_split(tiny_synth, "train", SPEC, train=True)
    ds.preload()
    assert ds.cached
    # ... 1.5x is not, and the message says both sizes and what to do
    monkeypatch.setattr(dataset_module, "available_memory", lambda: int(1.5 * held))
    ds = VideoDataset.from_split(tiny_synth, "train", SPEC, train=True)
    with pytest.raises(MicroactionError, match=r"videos_train: keeping 52 clips in RAM needs "
                       r"about [0-9.]+ GiB, more than half of the [0-9.]+ GiB available now; "
                       r"free memory or turn data.cache off"):
        ds.preload()
    assert not ds.cached
