"""Checkpoints a fit can trust: verified on resume, and a folder checked before the first epoch."""

import os
import re
import shutil
import struct
import zipfile

import pytest
import torch
from skorch.callbacks import Callback

from dnatok import KmerTokenizer
from dnatok.datasets import make_motif_classification
from dnatok.training._callbacks import EpochCheckpoint
from estimators import MaskedLMPretrainer, SequenceClassifier

TINY = dict(module__d_model=8, module__n_heads=2, module__n_layers=1, batch_size=16, random_state=0)
X, Y = make_motif_classification(48, length=30, random_state=0)
TOKENS = KmerTokenizer(k=3).transform(X)
REMEDY = r"Delete it to start afresh, or use another checkpoint_dir\."
DIGEST = r"is damaged: what it holds does not match the digest saved with it"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real checkpoint holding every kind of tensor record: module weights, optimizer
    state, early-stopping best weights, torch's and the masking generator's random states."""
    folder = tmp_path_factory.mktemp("saved")
    MaskedLMPretrainer(max_epochs=1, early_stopping=1, checkpoint_dir=folder, **TINY).fit(TOKENS)
    return folder / "checkpoint.pt"


def _pretrainer(folder, max_epochs=2):
    return MaskedLMPretrainer(max_epochs=max_epochs, early_stopping=1, checkpoint_dir=folder, **TINY)


def _records(path, part="/data/"):
    """(name, offset of the data, size) of the records of a checkpoint file (its tensors')."""
    records = []
    with zipfile.ZipFile(path) as archive, open(path, "rb") as file:
        for info in archive.infolist():
            if part not in info.filename:
                continue
            assert info.compress_type == zipfile.ZIP_STORED  # torch stores, so bytes lie as written
            file.seek(info.header_offset + 26)
            name_length, extra_length = struct.unpack("<HH", file.read(4))
            records.append((info.filename, info.header_offset + 30 + name_length + extra_length, info.file_size))
    return records


def _flip(path, offset, n=4):
    with open(path, "r+b") as file:
        file.seek(offset)
        data = file.read(n)
        file.seek(offset)
        file.write(bytes(b ^ 0xFF for b in data))


def _changed(original, flipped, entry=""):
    """The top-level entries of a checkpoint whose tensors' bytes differ between two loads."""
    if isinstance(original, torch.Tensor):
        as_bytes = [t.contiguous().reshape(-1).view(torch.uint8) for t in (original, flipped)]
        return set() if torch.equal(*as_bytes) else {entry}
    if isinstance(original, dict):
        return set().union(set(), *(_changed(original[k], flipped[k], entry or k) for k in original))
    if isinstance(original, (list, tuple)):
        return set().union(set(), *(_changed(a, b, entry) for a, b in zip(original, flipped)))
    return set()


KINDS = ("module", "optimizer", "early_stopping", "torch_rng", "mask_rng")


def _storage_bytes(tensor):
    return torch.empty(0, dtype=torch.uint8).set_(tensor.untyped_storage()).numpy().tobytes()


def _kinds_of_records(path, state):
    """The entries of a loaded checkpoint that hold a tensor with each record's bytes."""
    kinds = {}
    for entry in KINDS:
        stack = [state[entry]]
        while stack:
            value = stack.pop()
            if isinstance(value, torch.Tensor):
                kinds.setdefault(_storage_bytes(value), set()).add(entry)
            elif isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, (list, tuple)):
                stack.extend(value)
    data = path.read_bytes()
    return {record: kinds.get(data[record[1]:record[1] + record[2]], set()) for record in _records(path)}


@pytest.mark.parametrize("every", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["sampled", "every-record"])
def test_four_flipped_bytes_in_any_tensor_record_are_refused(saved, tmp_path, every):
    original = torch.load(saved, weights_only=True)
    checkpoint = EpochCheckpoint(tmp_path)
    kinds = _kinds_of_records(saved, original)
    records = list(kinds)
    if not every:  # the first and the last record of each kind (several hundred loads otherwise)
        chosen = [[r for r in records if kind in kinds[r]] for kind in KINDS]
        records = sorted({r for matching in chosen for r in (matching[0], matching[-1])}, key=records.index)
    covered = set()
    for name, start, size in records:
        middle = start + max(size // 2 - 2, 0)
        # the start, the middle and the end of each record (all of it when shorter than 4 bytes)
        for offset in sorted({start, middle, start + max(size - 4, 0)}):
            shutil.copyfile(saved, checkpoint.path)
            _flip(checkpoint.path, offset, min(4, size))
            if offset == middle:  # torch reads the damaged file without a word: only the digest tells
                covered |= _changed(original, torch.load(checkpoint.path, weights_only=True))
            with pytest.raises(ValueError, match=DIGEST) as refused:
                checkpoint.load(original["identity"])
            assert checkpoint.path in str(refused.value), name
    assert covered == set(KINDS)  # every kind of record was damaged, and each damage was found


def test_a_damaged_checkpoint_is_refused_on_resume_naming_the_file(saved, tmp_path):
    original = torch.load(saved, weights_only=True)
    weights = original["module"]["encoder.embedding.weight"].numpy().tobytes()
    state = original["optimizer"]["state"][0]["exp_avg"].numpy().tobytes()
    data = saved.read_bytes()
    for content in (weights, state):  # a module weight's record, an optimizer state's
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        shutil.copyfile(saved, folder / "checkpoint.pt")
        name, start, size = next(r for r in _records(saved) if data[r[1]:r[1] + r[2]] == content)
        _flip(folder / "checkpoint.pt", start + size // 2)
        with pytest.raises(ValueError, match=rf"^The checkpoint .*checkpoint\.pt {DIGEST}.* {REMEDY}$") as refused:
            _pretrainer(folder).fit(TOKENS)
        assert str(folder / "checkpoint.pt") in str(refused.value)
    # the rest of the file holds the history, the identity of the run and of its data
    folder = tmp_path / "history"
    folder.mkdir()
    at = data.index(b'"train_loss": ') + len(b'"train_loss": ')
    (folder / "checkpoint.pt").write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1:])  # a digit, another
    with pytest.raises(ValueError, match=rf"checkpoint\.pt {DIGEST}"):
        _pretrainer(folder).fit(TOKENS)
    # 4 bytes of the pickle itself: unreadable, or read as other content; damaged either way
    [(_, start, size)] = _records(saved, "/data.pkl")
    shutil.copyfile(saved, folder / "checkpoint.pt")
    _flip(folder / "checkpoint.pt", start + size // 2)
    with pytest.raises(ValueError, match=rf"checkpoint\.pt ({DIGEST}|cannot be read \(.*its record .*data\.pkl fails "
                                         rf"the zip CRC check).* {REMEDY}"):
        _pretrainer(folder).fit(TOKENS)
    # the intact file still resumes
    shutil.copyfile(saved, folder / "checkpoint.pt")
    assert len(_pretrainer(folder).fit(TOKENS).history) == 2


def test_a_checkpoint_without_a_digest_is_refused(saved, tmp_path):
    state = torch.load(saved, weights_only=True)
    del state["digest"]
    state["format"] = 1  # as dnatok wrote them before checkpoints had a digest
    torch.save(state, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match=rf"checkpoint\.pt was written by an older version of dnatok \(format 1\).*"
                                         rf"cannot be verified.* {REMEDY}"):
        _pretrainer(tmp_path).fit(TOKENS)


def test_a_diverged_checkpoint_is_refused_naming_the_weight(tmp_path):
    diverging = dict(lr=1e30, gradient_clip_value=None, warmup_fraction=None, checkpoint_dir=tmp_path, **TINY)
    model = SequenceClassifier(max_epochs=1, **diverging).fit(TOKENS, Y)
    assert not torch.isfinite(model.module_.encoder.embedding.weight).all()  # saved as it was: NaN
    with pytest.raises(ValueError, match=r"checkpoint\.pt: encoder\.embedding\.weight holds \d+ NaN and \d+ inf "
                                         r"values .*did the training that saved it diverge\?\)\. Delete it to start afresh"):
        SequenceClassifier(max_epochs=2, **diverging).fit(TOKENS, Y)


class _Batches(Callback):
    """Counts the training batches a fit ran."""

    def initialize(self):
        self.batches_ = 0
        return self

    def on_batch_begin(self, net, **kwargs):
        self.batches_ += 1


def _refused_before_training(folder, match):
    batches = _Batches()
    with pytest.raises(OSError, match=match):
        SequenceClassifier(max_epochs=1, checkpoint_dir=folder, callbacks=[("batches", batches)], **TINY).fit(TOKENS, Y)
    assert batches.batches_ == 0  # found before the first epoch's work, not after it


def _partial_files(root):
    return [str(p) for p in root.rglob("*.partial")]


def test_a_checkpoint_dir_that_is_a_file_is_refused_before_training(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    file = tmp_path / "file"
    _refused_before_training(file, rf"^checkpoint_dir={re.escape(repr(str(file)))} is a file, not a folder.* a folder")
    _refused_before_training(file / "sub", rf"^checkpoint_dir={re.escape(repr(str(file / 'sub')))} cannot be created")
    assert _partial_files(tmp_path) == []


def test_a_folder_in_the_checkpoint_files_place_is_refused_before_training(tmp_path):
    (tmp_path / "checkpoint.pt").mkdir()
    _refused_before_training(tmp_path, rf"^{re.escape(str(tmp_path / 'checkpoint.pt'))} is a folder, where the "
                                       r"checkpoint file goes.* use another checkpoint_dir")
    assert _partial_files(tmp_path) == []


def test_a_read_only_checkpoint_dir_is_refused_before_training(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        try:  # root (and some file systems) write into a folder whatever its mode
            (folder / "probe").touch()
        except PermissionError:
            pass
        else:
            pytest.skip("this process writes into a folder of mode 0o555 (running as root?)")
        _refused_before_training(folder, rf"^checkpoint_dir={re.escape(repr(str(folder)))} is not writable: no file "
                                         r"can be created in it .* use another checkpoint_dir")
        assert _partial_files(tmp_path) == []
    finally:
        folder.chmod(0o755)


def test_max_epochs_0_builds_the_model_without_training(tmp_path):
    # an untrained baseline, or the state of a checkpoint as it is; never a negative count
    model = SequenceClassifier(max_epochs=0, checkpoint_dir=tmp_path, **TINY).fit(TOKENS, Y)
    assert len(model.history) == 0 and model.predict_proba(TOKENS).shape == (len(Y), 2)
    assert os.listdir(tmp_path) == []  # no epoch, so nothing saved
    trained = SequenceClassifier(max_epochs=1, checkpoint_dir=tmp_path, **TINY).fit(TOKENS, Y)
    loaded = SequenceClassifier(max_epochs=0, checkpoint_dir=tmp_path, **TINY).fit(TOKENS, Y)
    assert len(loaded.history) == 1
    for name, value in trained.module_.state_dict().items():
        assert torch.equal(loaded.module_.state_dict()[name], value), name
    with pytest.raises(ValueError, match=r"The 'max_epochs' parameter of SequenceClassifier must be an int in the range \[0, inf\)"):
        SequenceClassifier(max_epochs=-1, **TINY).fit(TOKENS, Y)
