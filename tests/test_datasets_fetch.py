"""Tests for the Genomic Benchmarks fetcher and the data-home helpers.

A real HTTP server on 127.0.0.1 serves small archives built here in the upstream
layout (``<name>/{train,test}/<class>/<id>.txt``), so every byte goes through
urllib exactly as it would from Zenodo, and no test touches the internet.
"""

import hashlib
import io
import json
import os
import stat
import struct
import threading
import time
import zipfile
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

from dnatok.datasets._genomic_benchmarks import (
    BASE_URL_ENV,
    fetch_genomic_benchmark,
    list_genomic_benchmarks,
)
from dnatok.datasets._home import DATA_HOME_ENV, clear_data_home, get_data_home

NAME = "dummy_mouse_enhancers_ensembl"
ARCHIVE = f"{NAME}_v0.zip"
# ids 0, 2, 10 check that files are read in numeric, not lexicographic, order
SEQUENCES = {
    "train": {
        "negative": {"0": "AAAA", "2": "CCCC", "10": "GGGG"},
        "positive": {"1": "ACGTACGT", "3": "TTTT"},
    },
    "test": {
        "negative": {"4": "GATTACA"},
        "positive": {"5": "CAT", "6": "TAC"},
    },
}
TRAIN_X = ["AAAA", "CCCC", "GGGG", "ACGTACGT", "TTTT"]
TRAIN_Y = [0, 0, 0, 1, 1]
TEST_X = ["GATTACA", "CAT", "TAC"]
TEST_Y = [0, 1, 1]


def make_zip(files):
    """Zip ``{path: text}`` in memory and return the bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return buffer.getvalue()


def upstream_layout(name=NAME, sequences=SEQUENCES):
    files = {}
    for split, classes in sequences.items():
        for class_name, by_id in classes.items():
            for seq_id, sequence in by_id.items():
                files[f"{name}/{split}/{class_name}/{seq_id}.txt"] = sequence
    return files


ARCHIVE_BYTES = make_zip(upstream_layout())
ARCHIVE_SHA256 = hashlib.sha256(ARCHIVE_BYTES).hexdigest()
# a cached dataset: the extracted folder and the record of its archive
CACHED = [f"{NAME}_v0", f"{NAME}_v0.archive.json"]


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; paths in ``server.truncate`` stop mid-body, and
    ``server.failures[path]`` is a list of status codes returned before success."""

    def do_GET(self):
        server = self.server
        path = self.path.split("?", 1)[0]
        if getattr(server, "delay", 0):
            time.sleep(server.delay)
        with server.lock:
            server.requests.append(path)
            failures = server.failures.get(path)
            status = failures.pop(0) if failures else None
        body = server.files.get(path)
        if status is None and body is None:
            status = 404
        if status is not None:
            self.send_error(status)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if path in server.truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.lock = threading.Lock()
    # a short poll interval keeps shutdown() fast
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}/files"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server(http_server):
    """The module's server, reset to serve the standard archive."""
    http_server.files = {f"/files/{ARCHIVE}": ARCHIVE_BYTES}
    http_server.requests = []
    http_server.truncate = set()
    http_server.failures = {}
    http_server.delay = 0
    return http_server


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_HOME_ENV, raising=False)
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    return tmp_path / "data_home"


def cache_listing(data_home, subfolder="genomic_benchmarks"):
    """Everything in a cache folder, hidden files included, but the fetchers' lock files."""
    folder = Path(data_home) / subfolder
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) if folder.exists() else []


def fetch(server, data_home, **kwargs):
    kwargs.setdefault("delay", 0)
    return fetch_genomic_benchmark(NAME, data_home=data_home, base_url=server.base_url, **kwargs)


# --------------------------------------------------------------------------
# Download and cache
# --------------------------------------------------------------------------


def test_first_fetch_downloads_and_second_uses_cache(server, data_home):
    first = fetch(server, data_home)
    assert server.requests == [f"/files/{ARCHIVE}"]
    assert isinstance(first, Bunch)
    assert first.data == TRAIN_X
    assert first.target.tolist() == TRAIN_Y
    assert first.target.dtype == np.int64
    assert first.target_names == ["negative", "positive"]

    second = fetch(server, data_home)
    assert len(server.requests) == 1, "the second fetch must read the cache"
    assert second.data == first.data
    np.testing.assert_array_equal(second.target, first.target)


def test_cache_holds_only_the_extracted_dataset(server, data_home):
    fetch(server, data_home)
    # no archive, no .part file, no staging folder left behind: the folder and its record
    assert cache_listing(data_home) == CACHED
    extracted = Path(data_home) / "genomic_benchmarks" / f"{NAME}_v0"
    assert (extracted / "train" / "negative" / "10.txt").read_text() == "GGGG"


@pytest.mark.parametrize(
    "subset, expected_X, expected_y",
    [("train", TRAIN_X, TRAIN_Y), ("test", TEST_X, TEST_Y), ("all", TRAIN_X + TEST_X, TRAIN_Y + TEST_Y)],
)
def test_subsets(server, data_home, subset, expected_X, expected_y):
    dataset = fetch(server, data_home, subset=subset)
    assert dataset.data == expected_X
    assert dataset.target.tolist() == expected_y
    assert dataset.target_names == ["negative", "positive"]


def test_return_X_y(server, data_home):
    X, y = fetch(server, data_home, subset="test", return_X_y=True)
    assert X == TEST_X
    assert isinstance(y, np.ndarray)
    assert y.tolist() == TEST_Y


def test_descr_names_dataset_and_counts(server, data_home):
    descr = fetch(server, data_home).DESCR
    assert NAME in descr
    assert "0: negative (3 sequences)" in descr
    assert "1: positive (2 sequences)" in descr
    assert "Grešová" in descr


def test_target_names_are_sorted_class_folders(server, data_home):
    # class folders in a 3-class dataset, written in unsorted order
    sequences = {
        split: {"promoter": {"0": "AC"}, "enhancer": {"1": "GT"}, "ocr": {"2": "TT"}} for split in ("train", "test")
    }
    name = "human_ensembl_regulatory"
    server.files = {f"/files/{name}_v0.zip": make_zip(upstream_layout(name, sequences))}
    dataset = fetch_genomic_benchmark(name, data_home=data_home, base_url=server.base_url)
    assert dataset.target_names == ["enhancer", "ocr", "promoter"]
    assert [dataset.target_names[label] for label in dataset.target] == ["enhancer", "ocr", "promoter"]
    assert dataset.data == ["GT", "TT", "AC"]


def test_archive_without_top_folder_is_accepted(server, data_home):
    flat = {path.split("/", 1)[1]: text for path, text in upstream_layout().items()}
    server.files = {f"/files/{ARCHIVE}": make_zip(flat)}
    assert fetch(server, data_home).data == TRAIN_X


def test_correct_checksum_is_accepted(server, data_home):
    dataset = fetch(server, data_home, checksum=ARCHIVE_SHA256.upper())
    assert dataset.data == TRAIN_X


def test_checksum_mismatch_raises_and_leaves_no_files(server, data_home):
    wrong = "0" * 64
    with pytest.raises(OSError, match=f"expected {wrong}, got {ARCHIVE_SHA256}"):
        fetch(server, data_home, checksum=wrong)
    assert cache_listing(data_home) == []
    # nothing was cached: the next fetch downloads again
    fetch(server, data_home, checksum=ARCHIVE_SHA256)
    assert len(server.requests) == 2


@pytest.mark.parametrize("checksum", ["abc", "g" * 64, 42])
def test_invalid_checksum_value(server, data_home, checksum):
    with pytest.raises(ValueError, match="checksum must be a SHA-256 hex digest"):
        fetch(server, data_home, checksum=checksum)
    assert server.requests == []


def test_http_404_names_url_and_leaves_no_files(server, data_home):
    server.files = {}
    url = f"{server.base_url}/{ARCHIVE}"
    with pytest.raises(OSError, match=f"Could not download {url}: HTTP 404"):
        fetch(server, data_home)
    assert len(server.requests) == 1, "a 404 is not worth retrying"
    assert cache_listing(data_home) == []


def test_truncated_download_is_retried_then_fails_cleanly(server, data_home):
    server.truncate = {f"/files/{ARCHIVE}"}
    with pytest.raises(OSError, match=rf"Could not download .*{ARCHIVE} after 2 attempt\(s\)"):
        fetch(server, data_home, n_retries=1)
    assert len(server.requests) == 2
    assert cache_listing(data_home) == []


def test_server_error_is_retried_until_success(server, data_home):
    server.failures = {f"/files/{ARCHIVE}": [503, 500]}
    dataset = fetch(server, data_home, n_retries=2)
    assert dataset.data == TRAIN_X
    assert len(server.requests) == 3
    assert cache_listing(data_home) == CACHED


def test_connection_refused_is_wrapped(data_home):
    # bind a port, then close it, so nothing listens there
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = probe.server_address[1]
    probe.server_close()
    url = f"http://127.0.0.1:{port}/files"
    with pytest.raises(OSError, match=f"Could not download {url}/{ARCHIVE} after 1 attempt"):
        fetch_genomic_benchmark(NAME, data_home=data_home, base_url=url, n_retries=0)
    assert cache_listing(data_home) == []


def test_not_a_zip_raises_and_leaves_no_files(server, data_home):
    server.files = {f"/files/{ARCHIVE}": b"<html>not a zip</html>"}
    with pytest.raises(OSError, match="is not a valid zip file"):
        fetch(server, data_home)
    assert cache_listing(data_home) == []


def test_wrong_layout_raises_and_leaves_no_files(server, data_home):
    server.files = {f"/files/{ARCHIVE}": make_zip({f"{NAME}/train.csv": "id,seq\n"})}
    with pytest.raises(OSError, match="not in the Genomic Benchmarks layout"):
        fetch(server, data_home)
    assert cache_listing(data_home) == []


def test_unsafe_member_path_is_refused(server, data_home):
    files = upstream_layout()
    files["../escaped.txt"] = "ACGT"
    server.files = {f"/files/{ARCHIVE}": make_zip(files)}
    with pytest.raises(OSError, match="unsafe member path"):
        fetch(server, data_home)
    assert not (Path(data_home) / "escaped.txt").exists()
    # the refused archive is gone: a fixed upstream is fetched afresh
    assert cache_listing(data_home) == []
    server.files = {f"/files/{ARCHIVE}": ARCHIVE_BYTES}
    assert fetch(server, data_home, return_X_y=True)[0] == TRAIN_X
    assert len(server.requests) == 2


def test_leftovers_of_a_killed_fetch_are_cleaned(server, data_home):
    cache = Path(data_home) / "genomic_benchmarks"
    cache.mkdir(parents=True)
    (cache / f".{ARCHIVE}.abc123.part").write_bytes(b"half an archive")
    (cache / f".{NAME}_v0.staging42").mkdir()
    (cache / f".{NAME}_v0.staging42" / "x.txt").write_text("ACGT")
    (cache / ".other_dataset_v0.zip.x.part").write_bytes(b"not ours")  # another dataset's: kept
    fetch(server, data_home)
    assert cache_listing(data_home) == [".other_dataset_v0.zip.x.part", *CACHED]


_FETCH_IN_A_PROCESS = """
import sys
from dnatok.datasets import fetch_genomic_benchmark
X, y = fetch_genomic_benchmark(sys.argv[1], data_home=sys.argv[2], base_url=sys.argv[3], delay=0, return_X_y=True)
print(len(X))
"""


@pytest.mark.slow
def test_two_processes_fetching_one_dataset_both_succeed(server, data_home):
    import subprocess
    import sys

    server.delay = 0.5  # both start before either finishes
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-c", _FETCH_IN_A_PROCESS, NAME, str(data_home), server.base_url]
    env = {**os.environ, "PYTHONPATH": str(root)}
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err[-2000:] for _, err in results]
    assert [out.strip() for out, _ in results] == [str(len(TRAIN_X))] * 2
    assert server.requests == [f"/files/{ARCHIVE}"]  # the second waited and found it cached
    assert cache_listing(data_home) == CACHED


def test_other_version_uses_versioned_archive_name(server, data_home):
    server.files = {f"/files/{NAME}_v1.zip": ARCHIVE_BYTES}
    dataset = fetch(server, data_home, version=1)
    assert dataset.data == TRAIN_X
    assert server.requests == [f"/files/{NAME}_v1.zip"]
    assert cache_listing(data_home) == [f"{NAME}_v1", f"{NAME}_v1.archive.json"]


def test_file_url(tmp_path, data_home):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / ARCHIVE).write_bytes(ARCHIVE_BYTES)
    dataset = fetch_genomic_benchmark(NAME, data_home=data_home, base_url=mirror.as_uri(), checksum=ARCHIVE_SHA256)
    assert dataset.data == TRAIN_X


# --------------------------------------------------------------------------
# download_if_missing, data_home and environment variables
# --------------------------------------------------------------------------


def test_download_if_missing_false_without_cache(server, data_home):
    with pytest.raises(OSError, match="is not in the cache folder .* download_if_missing=False"):
        fetch(server, data_home, download_if_missing=False)
    assert server.requests == []
    assert cache_listing(data_home) == []


def test_download_if_missing_false_with_cache(server, data_home):
    fetch(server, data_home)
    dataset = fetch(server, data_home, download_if_missing=False)
    assert dataset.data == TRAIN_X
    assert len(server.requests) == 1


def test_verified_archive_left_in_cache_is_extracted_without_download(server, data_home):
    # as if an earlier call was interrupted between download and extraction
    cache = Path(get_data_home(data_home)) / "genomic_benchmarks"
    cache.mkdir()
    (cache / ARCHIVE).write_bytes(ARCHIVE_BYTES)
    dataset = fetch(server, data_home, download_if_missing=False, checksum=ARCHIVE_SHA256)
    assert dataset.data == TRAIN_X
    assert server.requests == []
    assert cache_listing(data_home) == CACHED


def test_stale_archive_with_wrong_checksum_is_replaced(server, data_home):
    cache = Path(get_data_home(data_home)) / "genomic_benchmarks"
    cache.mkdir()
    (cache / ARCHIVE).write_bytes(b"stale")
    dataset = fetch(server, data_home, checksum=ARCHIVE_SHA256)
    assert dataset.data == TRAIN_X
    assert len(server.requests) == 1


def test_data_home_env_var(server, data_home, tmp_path, monkeypatch):
    env_home = tmp_path / "from_env"
    monkeypatch.setenv(DATA_HOME_ENV, str(env_home))
    assert get_data_home() == str(env_home)
    fetch_genomic_benchmark(NAME, base_url=server.base_url)
    assert cache_listing(env_home) == CACHED
    # an explicit data_home wins over the environment variable
    fetch(server, data_home)
    assert cache_listing(data_home) == CACHED


def test_base_url_env_var(server, data_home, monkeypatch):
    monkeypatch.setenv(BASE_URL_ENV, server.base_url + "/")
    dataset = fetch_genomic_benchmark(NAME, data_home=data_home)
    assert dataset.data == TRAIN_X
    assert server.requests == [f"/files/{ARCHIVE}"]


def test_get_data_home_default_and_tilde(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_HOME_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == str(tmp_path / "dnatok_data")
    assert os.path.isdir(tmp_path / "dnatok_data")
    assert get_data_home("~/elsewhere") == str(tmp_path / "elsewhere")


def test_get_data_home_accepts_path_and_creates_it(tmp_path):
    folder = tmp_path / "a" / "b"
    assert get_data_home(folder) == str(folder)
    assert folder.is_dir()


def test_clear_data_home(server, data_home):
    fetch(server, data_home)
    clear_data_home(data_home)
    assert not Path(data_home).exists()
    fetch(server, data_home)
    assert len(server.requests) == 2


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------


def test_unknown_name_lists_known_names(data_home):
    with pytest.raises(ValueError, match="Unknown Genomic Benchmarks dataset 'human_nontata_promoter'") as error:
        fetch_genomic_benchmark("human_nontata_promoter", data_home=data_home)
    message = str(error.value)
    assert "Did you mean 'human_nontata_promoters'?" in message
    for name in list_genomic_benchmarks():
        assert name in message


@pytest.mark.parametrize("subset", ["val", "Train", None])
def test_bad_subset(data_home, subset):
    with pytest.raises(ValueError, match=r"subset must be one of 'train', 'test', 'all'; got"):
        fetch_genomic_benchmark(NAME, subset=subset, data_home=data_home)


@pytest.mark.parametrize("version", [-1, 1.5, "0", True])
def test_bad_version(data_home, version):
    with pytest.raises(ValueError, match="version must be a non-negative integer or None"):
        fetch_genomic_benchmark(NAME, version=version, data_home=data_home)


@pytest.mark.parametrize("kwargs, match", [({"n_retries": -1}, "n_retries"), ({"delay": -0.5}, "delay")])
def test_bad_retry_settings(data_home, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fetch_genomic_benchmark(NAME, data_home=data_home, **kwargs)


def test_list_genomic_benchmarks():
    names = list_genomic_benchmarks()
    assert names == sorted(names)
    assert {
        "demo_coding_vs_intergenomic_seqs",
        "demo_human_or_worm",
        "drosophila_enhancers_stark",
        "dummy_mouse_enhancers_ensembl",
        "human_enhancers_cohn",
        "human_enhancers_ensembl",
        "human_ensembl_regulatory",
        "human_nontata_promoters",
        "human_ocr_ensembl",
    } == set(names)


def test_public_api_reexported():
    import dnatok.datasets as datasets

    for name in ["fetch_genomic_benchmark", "get_data_home", "clear_data_home", "list_genomic_benchmarks",
                 "ArchiveLimits", "UnsafeArchiveError"]:
        assert name in datasets.__all__
        assert callable(getattr(datasets, name))


# --------------------------------------------------------------------------
# GUE: one archive of GUE/<group>/<task>/{train,dev,test}.csv
# --------------------------------------------------------------------------

from dnatok.datasets import (  # noqa: E402
    ArchiveLimits,
    UnsafeArchiveError,
    fetch_gue,
    list_gue_tasks,
    published_gue_scores,
)
from dnatok.datasets._gue import URL_ENV  # noqa: E402

GUE_SPLITS = {
    "train": [("ACGTACGTAA", 1), ("TTTTCCCCGG", 0), ("GATTACAGAT", 1)],
    "dev": [("CCCCAAAATT", 0)],
    "test": [("ACGTTTTACG", 1), ("GGGGCCCCAA", 0)],
}


def gue_layout(tasks=("tf/0", "prom/prom_core_tata"), top="GUE/", splits=GUE_SPLITS):
    return {f"{top}{task}/{split}.csv": "sequence,label\n" + "".join(f"{s},{y}\n" for s, y in rows)
            for task in tasks for split, rows in splits.items()}


GUE_BYTES = make_zip(gue_layout())
GUE_SHA256 = hashlib.sha256(GUE_BYTES).hexdigest()


@pytest.fixture
def gue_server(http_server, monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    http_server.files = {"/files/GUE.zip": GUE_BYTES}
    http_server.requests = []
    http_server.truncate = set()
    http_server.failures = {}
    http_server.delay = 0
    http_server.url = http_server.base_url + "/GUE.zip"
    return http_server


def gue_cache(data_home):
    return cache_listing(data_home, "gue")


def test_gue_downloads_once_then_reads_the_cache(gue_server, data_home):
    X, y = fetch_gue("tf/0", data_home=data_home, url=gue_server.url, checksum=GUE_SHA256, return_X_y=True)
    assert X == [s for s, _ in GUE_SPLITS["train"]] and y.tolist() == [1, 0, 1]
    assert gue_cache(data_home) == ["GUE", "GUE.archive.json"]  # the archive is gone, nothing half-written
    record = json.loads((Path(data_home) / "gue" / "GUE.archive.json").read_text())
    assert record["url"] == gue_server.url and record["sha256"] == record["expected_sha256"] == GUE_SHA256
    assert record["size"] == len(GUE_BYTES)
    dev = fetch_gue("prom/prom_core_tata", subset="dev", data_home=data_home, url=gue_server.url)
    assert isinstance(dev, Bunch) and dev.data == ["CCCCAAAATT"] and dev.task == "prom/prom_core_tata"
    assert "GUE prom/prom_core_tata" in dev.DESCR
    everything = fetch_gue(subset="all", data_home=data_home, url=gue_server.url, download_if_missing=False)
    assert list(everything) == ["prom/prom_core_tata", "tf/0"] and len(everything["tf/0"].data) == 6
    assert gue_server.requests == ["/files/GUE.zip"]


def test_gue_url_from_the_environment(gue_server, data_home, monkeypatch):
    monkeypatch.setenv(URL_ENV, gue_server.url)
    assert len(fetch_gue("tf/0", subset="test", data_home=data_home).data) == 2


def test_gue_truncated_download_is_retried_then_fails_cleanly(gue_server, data_home):
    gue_server.truncate = {"/files/GUE.zip"}
    with pytest.raises(OSError, match=r"Could not download .*GUE.zip after 2 attempt\(s\).*connection closed after"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.url, n_retries=1, delay=0)
    assert len(gue_server.requests) == 2
    assert gue_cache(data_home) == []


def test_gue_transient_error_then_success(gue_server, data_home):
    gue_server.failures = {"/files/GUE.zip": [503]}
    assert fetch_gue("tf/0", data_home=data_home, url=gue_server.url, delay=0).data
    assert len(gue_server.requests) == 2


def test_gue_wrong_checksum_leaves_nothing(gue_server, data_home):
    wrong = "0" * 64
    with pytest.raises(OSError, match=f"expected {wrong}, got {GUE_SHA256}"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.url, checksum=wrong)
    assert gue_cache(data_home) == []
    with pytest.raises(ValueError, match="checksum must be a SHA-256 hex digest"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.url, checksum="abc")


def test_gue_unsafe_member_is_refused(gue_server, data_home, tmp_path):
    gue_server.files["/files/GUE.zip"] = make_zip({**gue_layout(), "../x": "escaped"})
    with pytest.raises(OSError, match=r"unsafe member path '\.\./x'"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.url)
    assert gue_cache(data_home) == []
    gue_server.files["/files/GUE.zip"] = GUE_BYTES  # fixed upstream: fetched afresh
    assert fetch_gue("tf/0", data_home=data_home, url=gue_server.url).data
    assert len(gue_server.requests) == 2
    assert not (Path(data_home) / "x").exists() and not (Path(data_home) / "gue" / "x").exists()


def test_gue_bad_archives(gue_server, data_home):
    gue_server.files["/files/GUE.zip"] = b"not a zip at all"
    with pytest.raises(OSError, match="is not a valid zip file"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.url)
    gue_server.files["/files/GUE.zip"] = make_zip({"README.txt": "no tasks here"})
    with pytest.raises(OSError, match=r"not in the GUE layout: expected GUE/<group>/<task>/train.csv"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.url)
    assert gue_cache(data_home) == []
    with pytest.raises(OSError, match="Could not download .*HTTP 404"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.base_url + "/missing.zip")


def test_gue_local_archive_and_folder(data_home, tmp_path):
    archive = tmp_path / "GUE.zip"
    archive.write_bytes(make_zip(gue_layout(top="")))  # also without the top GUE/ folder
    assert fetch_gue("tf/0", subset="test", archive=archive, data_home=data_home).data == ["ACGTTTTACG", "GGGGCCCCAA"]
    assert gue_cache(data_home) == ["GUE", "GUE.archive.json"] and archive.exists()  # the user's file is kept
    with pytest.raises(OSError, match="SHA-256 checksum mismatch"):
        fetch_gue("tf/0", archive=archive, checksum="1" * 64, data_home=tmp_path / "other")
    with pytest.raises(OSError, match="neither a GUE zip file nor a folder"):
        fetch_gue("tf/0", archive=tmp_path / "nowhere.zip", data_home=data_home)
    with pytest.raises(OSError, match="not in the cache folder .* download_if_missing=False"):
        fetch_gue("tf/0", data_home=tmp_path / "empty", download_if_missing=False)


# --------------------------------------------------------------------------
# GUE: hostile archives, bounded extraction, and which archive the cache holds
# --------------------------------------------------------------------------

GUE_TRAIN = [s for s, _ in GUE_SPLITS["train"]]
BOMB_MEMBER = "GUE/tf/1/train.csv"
BOMB_SIZE = 1000 << 20  # 1000 MiB of zeros, deflated about 1000-fold
GUE_FIRST_SIZE = len(gue_layout()["GUE/tf/0/train.csv"])  # the first member
GUE_TOTAL_SIZE = sum(map(len, gue_layout().values()))


def gue_root(data_home):
    return Path(data_home) / "gue" / "GUE"


def write_zip(path, files):
    """Write ``{name: text or (ZipInfo, text)}`` as a zip at ``path``; returns ``path``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(*(text if isinstance(text, tuple) else (name, text)))
    return path


def patch_member(data, name, **fields):
    """Rewrite header fields of member ``name`` in zip ``data``, in its local header and the central directory.

    ``fields``: any of ``flag_bits``, ``compress_type``, ``CRC``, ``file_size``.
    """
    local_offsets = {"flag_bits": (6, "<H"), "compress_type": (8, "<H"), "CRC": (14, "<I"), "file_size": (22, "<I")}
    central_offsets = {"flag_bits": (8, "<H"), "compress_type": (10, "<H"), "CRC": (16, "<I"), "file_size": (24, "<I")}
    data = bytearray(data)
    end = len(data) - 22  # end of central directory record, no comment
    assert data[end:end + 4] == b"PK\x05\x06"
    (position,) = struct.unpack_from("<I", data, end + 16)
    patched = 0
    while data[position:position + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, position + 28)
        (local,) = struct.unpack_from("<I", data, position + 42)
        if data[position + 46:position + 46 + name_length] == name.encode():
            for field, value in fields.items():
                struct.pack_into(central_offsets[field][1], data, position + central_offsets[field][0], value)
                struct.pack_into(local_offsets[field][1], data, local + local_offsets[field][0], value)
            patched += 1
        position += 46 + name_length + extra_length + comment_length
    assert patched == 1
    return bytes(data)


@pytest.fixture(scope="module")
def bomb_bytes():
    """A real GUE zip of about 1 MB with one member that deflates 1000 MiB of zeros.

    Deflating 1000 MiB would take seconds, and zipfile's fast level only reaches
    about 230-fold, so the member's data is built from deflated MiBs of zeros: after
    a full flush deflate starts afresh, so every further MiB deflates to the same
    bytes. The zip stores those bytes as they are, then its headers are set to
    say what they are (deflate, 1000 MiB, the CRC-32 of the zeros).
    """
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first, steady, again = (compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH) for _ in range(3))
    end = compressor.flush()
    assert steady == again and zlib.decompress(first + steady + end, -15) == bytes(2 << 20)
    count = BOMB_SIZE // len(zeros)
    deflated = first + steady * (count - 1) + end
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in gue_layout().items():
            archive.writestr(name, text)
        archive.writestr(BOMB_MEMBER, deflated, compress_type=zipfile.ZIP_STORED)
    assert len(deflated) < 1100 << 10
    return patch_member(buffer.getvalue(), BOMB_MEMBER, compress_type=zipfile.ZIP_DEFLATED, file_size=BOMB_SIZE,
                        CRC=crc)


def test_gue_zip_bomb_is_refused_before_extraction_and_leaves_nothing(data_home, tmp_path, bomb_bytes):
    bomb = tmp_path / "GUE.zip"
    bomb.write_bytes(bomb_bytes)
    with pytest.raises(UnsafeArchiveError, match=rf"member '{BOMB_MEMBER}' expands [\d,]+-fold "
                                                 rf"\({BOMB_SIZE:,} bytes from .* limit of 200-fold .*max_ratio="):
        fetch_gue("tf/0", archive=bomb, data_home=data_home)  # from the central directory: nothing written
    assert gue_cache(data_home) == []
    # a refused download is deleted too, and is a ValueError as well as an OSError
    with pytest.raises(ValueError, match="Refusing to extract the archive from .*GUE.zip"):
        fetch_gue("tf/0", url=bomb.as_uri(), data_home=data_home)
    assert gue_cache(data_home) == []


def test_gue_header_that_lies_about_its_size_is_refused_while_streaming(data_home, tmp_path, bomb_bytes):
    liar = tmp_path / "GUE.zip"
    liar.write_bytes(patch_member(bomb_bytes, BOMB_MEMBER, file_size=1000))  # 1000 bytes, it says
    with pytest.raises(UnsafeArchiveError, match=rf"member '{BOMB_MEMBER}' decompresses to more than the 1,000 "
                                                 rf"bytes its header declares"):
        fetch_gue("tf/0", archive=liar, data_home=data_home)
    assert gue_cache(data_home) == []


@pytest.mark.parametrize("limits, match", [
    (ArchiveLimits(max_members=5), r"it has 6 members, more than the limit of 5\. .*ArchiveLimits\(max_members="),
    (ArchiveLimits(max_member_size=50), rf"member 'GUE/tf/0/train\.csv' expands to {GUE_FIRST_SIZE} bytes, more "
                                        rf"than the limit of 50 bytes per member\. .*max_member_size="),
    (ArchiveLimits(max_total_size=100), rf"its members expand to {GUE_TOTAL_SIZE} bytes in all, more than the limit "
                                        rf"of 100 bytes\. .*max_total_size="),
])
def test_gue_archive_past_its_limits_is_refused_and_limits_can_be_raised(data_home, tmp_path, limits, match):
    archive = write_zip(tmp_path / "GUE.zip", gue_layout())
    with pytest.raises(UnsafeArchiveError, match=match):
        fetch_gue("tf/0", archive=archive, data_home=data_home, limits=limits)
    assert gue_cache(data_home) == []
    assert fetch_gue("tf/0", archive=archive, data_home=data_home).data == GUE_TRAIN  # the default limits


def test_archive_limits_are_checked():
    assert ArchiveLimits(max_ratio=None, max_members=None).max_total_size == 4 << 30
    with pytest.raises(ValueError, match=r"ArchiveLimits.max_ratio must be a positive number or None .*got 0"):
        ArchiveLimits(max_ratio=0)
    with pytest.raises(ValueError, match=r"ArchiveLimits.max_members must be a positive integer or None .*got 1.5"):
        ArchiveLimits(max_members=1.5)
    with pytest.raises(TypeError, match="limits must be a dnatok.datasets.ArchiveLimits or None; got dict"):
        fetch_gue("tf/0", archive=".", limits={"max_members": 5})


@pytest.mark.parametrize("fields, match", [
    ({"flag_bits": 0x1}, r"member 'GUE/tf/0/dev\.csv' is encrypted"),
    ({"compress_type": 99}, r"member 'GUE/tf/0/dev\.csv' uses compression method 99 \(AES encryption\)"),
    ({"compress_type": zipfile.ZIP_BZIP2}, r"member 'GUE/tf/0/dev\.csv' uses compression method 12 \(bzip2\)"),
])
def test_gue_member_that_cannot_be_extracted_safely_is_refused(data_home, tmp_path, fields, match):
    archive = tmp_path / "GUE.zip"
    archive.write_bytes(patch_member(GUE_BYTES, "GUE/tf/0/dev.csv", **fields))
    with pytest.raises(UnsafeArchiveError, match=match):
        fetch_gue("tf/0", archive=archive, data_home=data_home)
    assert gue_cache(data_home) == []


def test_gue_symlink_and_unsafe_paths_are_refused(data_home, tmp_path):
    link = zipfile.ZipInfo("GUE/tf/0/link.csv")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = write_zip(tmp_path / "link.zip", {**gue_layout(), "link": (link, "/etc/passwd")})
    with pytest.raises(UnsafeArchiveError, match=r"member 'GUE/tf/0/link\.csv' is a symbolic link"):
        fetch_gue("tf/0", archive=archive, data_home=data_home)
    for name in ("/tmp/abs.csv", "GUE/../../x.csv"):
        archive = write_zip(tmp_path / "path.zip", {**gue_layout(), name: "ACGT"})
        with pytest.raises(UnsafeArchiveError, match=f"unsafe member path {name!r}"):
            fetch_gue("tf/0", archive=archive, data_home=data_home)
    assert gue_cache(data_home) == [] and not (tmp_path / "x.csv").exists()


def test_gue_a_different_archive_replaces_the_cached_copy(data_home, tmp_path):
    first = write_zip(tmp_path / "first.zip", gue_layout())
    second = write_zip(tmp_path / "second.zip", gue_layout(splits={**GUE_SPLITS, "train": [("CCCCGGGGAA", 0)]}))
    assert fetch_gue("tf/0", archive=first, data_home=data_home).data == GUE_TRAIN
    assert fetch_gue("tf/0", archive=second, data_home=data_home).data == ["CCCCGGGGAA"]
    record_path = Path(data_home) / "gue" / "GUE.archive.json"
    record = json.loads(record_path.read_text())
    assert record["sha256"] == hashlib.sha256(second.read_bytes()).hexdigest()
    assert record["path"] == str(second.resolve())
    assert gue_cache(data_home) == ["GUE", "GUE.archive.json"]  # the old copy is gone
    # without an archive, whatever is cached
    assert fetch_gue("tf/0", data_home=data_home, download_if_missing=False).data == ["CCCCGGGGAA"]
    # a refused archive leaves the cached copy and its record as they were
    bad = write_zip(tmp_path / "bad.zip", {**gue_layout(), "../x": "escaped"})
    with pytest.raises(UnsafeArchiveError, match="unsafe member path"):
        fetch_gue("tf/0", archive=bad, data_home=data_home)
    assert json.loads(record_path.read_text()) == record
    assert fetch_gue("tf/0", data_home=data_home).data == ["CCCCGGGGAA"]
    assert fetch_gue("tf/0", archive=first, data_home=data_home).data == GUE_TRAIN  # and back
    assert gue_cache(data_home) == ["GUE", "GUE.archive.json"]


def test_gue_the_same_archive_is_extracted_once(gue_server, data_home, tmp_path, monkeypatch):
    from dnatok.datasets import _gue

    hashed = []
    monkeypatch.setattr(_gue, "sha256", lambda path, real=_gue.sha256: hashed.append(path) or real(path))
    archive = tmp_path / "GUE.zip"
    archive.write_bytes(GUE_BYTES)
    fetch_gue("tf/0", archive=archive, data_home=data_home)
    marker = gue_root(data_home) / "extracted-once"
    marker.write_text("")
    del hashed[:]
    assert fetch_gue("tf/0", archive=archive, data_home=data_home).data == GUE_TRAIN
    assert hashed == []  # the recorded file, unchanged: not hashed again
    os.utime(archive, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert fetch_gue("tf/0", archive=archive, data_home=data_home).data == GUE_TRAIN
    assert hashed == [archive]  # touched: hashed, and the same
    assert fetch_gue("tf/0", archive=archive, data_home=data_home, checksum=GUE_SHA256).data == GUE_TRAIN
    copy = tmp_path / "copy.zip"
    copy.write_bytes(GUE_BYTES)  # the same bytes elsewhere
    assert fetch_gue("tf/0", archive=copy, data_home=data_home).data == GUE_TRAIN
    assert marker.exists()
    # the same archive downloaded, then given as a file: not extracted again either
    other_home = tmp_path / "other"
    fetch_gue("tf/0", url=gue_server.url, data_home=other_home)
    (gue_root(other_home) / "extracted-once").write_text("")
    fetch_gue("tf/0", archive=archive, data_home=other_home)
    assert (gue_root(other_home) / "extracted-once").exists()


def test_gue_cache_without_a_record_is_extracted_again_for_an_archive(data_home, tmp_path):
    old = gue_root(data_home) / "tf" / "0"  # as a dnatok from before the record left it
    old.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (old / f"{split}.csv").write_text("sequence,label\nAAAACCCCGG,0\n")
    assert fetch_gue("tf/0", data_home=data_home, download_if_missing=False).data == ["AAAACCCCGG"]
    archive = tmp_path / "GUE.zip"
    archive.write_bytes(GUE_BYTES)
    assert fetch_gue("tf/0", archive=archive, data_home=data_home).data == GUE_TRAIN
    assert gue_cache(data_home) == ["GUE", "GUE.archive.json"]


def test_genomic_benchmark_archive_is_bounded_too(server, data_home):
    with pytest.raises(UnsafeArchiveError, match=r"it has \d+ members, more than the limit of 3"):
        fetch(server, data_home, limits=ArchiveLimits(max_members=3))
    assert cache_listing(data_home) == []
    link = zipfile.ZipInfo(f"{NAME}/train/negative/99.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in upstream_layout().items():
            archive.writestr(path, text)
        archive.writestr(link, "/etc/passwd")
    server.files = {f"/files/{ARCHIVE}": buffer.getvalue()}
    with pytest.raises(UnsafeArchiveError, match=r"member '.*/99\.txt' is a symbolic link"):
        fetch(server, data_home)
    assert cache_listing(data_home) == []


def test_gue_checksum_without_an_archive_is_checked_against_the_cache(gue_server, data_home, tmp_path):
    other = write_zip(tmp_path / "other.zip", gue_layout(splits={**GUE_SPLITS, "train": [("CCCCGGGGAA", 0)]}))
    other_sha256 = hashlib.sha256(other.read_bytes()).hexdigest()
    assert fetch_gue("tf/0", archive=other, data_home=data_home).data == ["CCCCGGGGAA"]
    # the checksum of the archive the cache holds: read from the cache
    assert fetch_gue("tf/0", data_home=data_home, url=gue_server.url, checksum=other_sha256).data == ["CCCCGGGGAA"]
    assert gue_server.requests == []
    # another checksum asks for another archive: never the cached copy of this one
    with pytest.raises(OSError, match=rf"The GUE cached in .* was extracted from an archive with SHA-256 "
                                      rf"{other_sha256}, not {GUE_SHA256}, and download_if_missing=False\. .*"
                                      rf"leave out checksum= to use the cached copy"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.url, checksum=GUE_SHA256, download_if_missing=False)
    assert gue_server.requests == []
    # a download that is not that archive either is refused, and the cache kept as it was
    with pytest.raises(OSError, match=f"SHA-256 checksum mismatch for .*: expected {'1' * 64}, got {GUE_SHA256}"):
        fetch_gue("tf/0", data_home=data_home, url=gue_server.url, checksum="1" * 64)
    assert fetch_gue("tf/0", data_home=data_home, download_if_missing=False).data == ["CCCCGGGGAA"]
    # the archive with that checksum is downloaded and swapped in
    assert fetch_gue("tf/0", data_home=data_home, url=gue_server.url, checksum=GUE_SHA256).data == GUE_TRAIN
    record = json.loads((Path(data_home) / "gue" / "GUE.archive.json").read_text())
    assert record["sha256"] == GUE_SHA256 and record["url"] == gue_server.url
    assert gue_cache(data_home) == ["GUE", "GUE.archive.json"]
    assert gue_server.requests == ["/files/GUE.zip"] * 2
    # a cached copy that records no archive cannot vouch for a checksum: downloaded
    (Path(data_home) / "gue" / "GUE.archive.json").unlink()
    with pytest.raises(OSError, match=r"The GUE cached in .* records no archive .*download_if_missing=False"):
        fetch_gue("tf/0", data_home=data_home, checksum=GUE_SHA256, download_if_missing=False)
    assert fetch_gue("tf/0", data_home=data_home, url=gue_server.url, checksum=GUE_SHA256).data == GUE_TRAIN
    assert len(gue_server.requests) == 3 and gue_cache(data_home) == ["GUE", "GUE.archive.json"]


# --------------------------------------------------------------------------
# Genomic Benchmarks: which archive a cached dataset came from
# --------------------------------------------------------------------------

OTHER_TRAIN_X = ["GGGGCCCC", "ATATATAT"]
OTHER_BYTES = make_zip(upstream_layout(sequences={
    "train": {"negative": {"0": OTHER_TRAIN_X[0]}, "positive": {"1": OTHER_TRAIN_X[1]}}, "test": SEQUENCES["test"]}))
OTHER_SHA256 = hashlib.sha256(OTHER_BYTES).hexdigest()


def benchmark_record(data_home, stem=f"{NAME}_v0"):
    return json.loads((Path(data_home) / "genomic_benchmarks" / f"{stem}.archive.json").read_text())


def test_genomic_benchmark_cache_records_its_archive(server, data_home):
    fetch(server, data_home)
    assert benchmark_record(data_home) == {"url": f"{server.base_url}/{ARCHIVE}", "sha256": ARCHIVE_SHA256,
                                           "size": len(ARCHIVE_BYTES), "expected_sha256": None}
    assert fetch(server, data_home, checksum=ARCHIVE_SHA256).data == TRAIN_X  # the recorded archive: cached
    assert server.requests == [f"/files/{ARCHIVE}"]


def test_genomic_benchmark_another_checksum_replaces_the_cached_copy(server, data_home):
    fetch(server, data_home)
    marker = Path(data_home) / "genomic_benchmarks" / f"{NAME}_v0" / "extracted-once"
    marker.write_text("")
    server.files = {f"/files/{ARCHIVE}": OTHER_BYTES}  # upstream changed the archive
    assert fetch(server, data_home).data == TRAIN_X  # nothing asks for another: the cached copy
    with pytest.raises(OSError, match=rf"dataset '{NAME}' \(version 0\) in .* was extracted from an archive with "
                                      rf"SHA-256 {ARCHIVE_SHA256}, not {OTHER_SHA256}, and download_if_missing=False"):
        fetch(server, data_home, checksum=OTHER_SHA256, download_if_missing=False)
    assert len(server.requests) == 1 and marker.exists()
    assert fetch(server, data_home, checksum=OTHER_SHA256).data == OTHER_TRAIN_X
    assert benchmark_record(data_home)["sha256"] == OTHER_SHA256
    assert cache_listing(data_home) == CACHED and not marker.exists()  # swapped: the old copy is gone
    # an archive that is not the one asked for, or is refused, leaves the cached copy and its record
    with pytest.raises(OSError, match=f"expected {ARCHIVE_SHA256}, got {OTHER_SHA256}"):
        fetch(server, data_home, checksum=ARCHIVE_SHA256)
    unsafe = make_zip({**upstream_layout(), "../escaped.txt": "ACGT"})
    server.files = {f"/files/{ARCHIVE}": unsafe}
    with pytest.raises(UnsafeArchiveError, match="unsafe member path"):
        fetch(server, data_home, checksum=hashlib.sha256(unsafe).hexdigest())
    assert cache_listing(data_home) == CACHED and benchmark_record(data_home)["sha256"] == OTHER_SHA256
    assert fetch(server, data_home, download_if_missing=False).data == OTHER_TRAIN_X


def test_genomic_benchmark_another_base_url_replaces_the_cached_copy(server, data_home, monkeypatch):
    root = server.base_url.rsplit("/", 1)[0]
    server.files.update({f"/mirror/{ARCHIVE}": ARCHIVE_BYTES, f"/other/{ARCHIVE}": OTHER_BYTES})

    def fetch_from(folder, **kwargs):
        return fetch_genomic_benchmark(NAME, data_home=data_home, base_url=f"{root}/{folder}", delay=0, **kwargs)

    fetch(server, data_home)
    marker = Path(data_home) / "genomic_benchmarks" / f"{NAME}_v0" / "extracted-once"
    marker.write_text("")
    # a mirror of the same archive: downloaded to check it, not extracted again
    assert fetch_from("mirror").data == TRAIN_X
    assert marker.exists() and benchmark_record(data_home)["url"] == f"{root}/mirror/{ARCHIVE}"
    assert fetch_from("mirror").data == TRAIN_X  # now recorded: cached
    assert server.requests == [f"/files/{ARCHIVE}", f"/mirror/{ARCHIVE}"]
    # another archive at another place
    with pytest.raises(OSError, match=rf"was downloaded from {root}/mirror/{ARCHIVE}, not {root}/other/{ARCHIVE}, "
                                      rf"and download_if_missing=False\. .*leave out checksum= and base_url="):
        fetch_from("other", download_if_missing=False)
    assert fetch_from("other").data == OTHER_TRAIN_X
    assert benchmark_record(data_home)["sha256"] == OTHER_SHA256 and not marker.exists()
    # a base URL named in the environment counts as named
    monkeypatch.setenv(BASE_URL_ENV, server.base_url)
    assert fetch_genomic_benchmark(NAME, data_home=data_home, delay=0).data == TRAIN_X
    assert benchmark_record(data_home)["url"] == f"{server.base_url}/{ARCHIVE}"
    # named nowhere (the default, Zenodo): whatever is cached, without the network
    monkeypatch.delenv(BASE_URL_ENV)
    n_requests = len(server.requests)
    assert fetch_genomic_benchmark(NAME, data_home=data_home, n_retries=0, delay=0).data == TRAIN_X
    assert len(server.requests) == n_requests == 4 and cache_listing(data_home) == CACHED


def test_genomic_benchmark_cache_without_a_record(server, data_home):
    fetch(server, data_home)
    (Path(data_home) / "genomic_benchmarks" / f"{NAME}_v0.archive.json").unlink()  # as an older dnatok left it
    # the default source asks for nothing in particular: the cached copy, without the network
    assert fetch_genomic_benchmark(NAME, data_home=data_home, n_retries=0, delay=0).data == TRAIN_X
    # a named source or checksum cannot be vouched for: downloaded again (refused offline)
    with pytest.raises(OSError, match=r"records no archive .*download_if_missing=False"):
        fetch(server, data_home, download_if_missing=False)
    server.files = {f"/files/{ARCHIVE}": OTHER_BYTES}
    assert fetch(server, data_home).data == OTHER_TRAIN_X
    assert benchmark_record(data_home)["sha256"] == OTHER_SHA256 and len(server.requests) == 2
    assert cache_listing(data_home) == CACHED


def test_genomic_benchmark_unverified_leftover_archive_is_not_used(server, data_home):
    # an archive a killed fetch left, from who knows where: without a checksum, downloaded afresh
    cache = Path(data_home) / "genomic_benchmarks"
    cache.mkdir(parents=True)
    (cache / ARCHIVE).write_bytes(OTHER_BYTES)
    assert fetch(server, data_home).data == TRAIN_X
    assert server.requests == [f"/files/{ARCHIVE}"] and benchmark_record(data_home)["sha256"] == ARCHIVE_SHA256
    assert cache_listing(data_home) == CACHED


def test_gue_argument_errors(data_home):
    with pytest.raises(ValueError, match=r"Unknown GUE task 'tf_0'\. Did you mean 'tf/0'\?"):
        fetch_gue("tf_0", data_home=data_home)
    with pytest.raises(ValueError, match=r"subset must be one of 'train', 'dev', 'test', 'all'; got 'valid'"):
        fetch_gue("tf/0", subset="valid", data_home=data_home)


def test_gue_real_tasks_read_in_place(shared_data):
    X, y = fetch_gue("prom/prom_core_tata", subset="test", archive=shared_data / "gue", return_X_y=True)
    assert len(X) == 613 and set(np.unique(y)) == {0, 1} and all(len(s) == 70 for s in X)
    assert len(list_gue_tasks()) == 28


def test_published_scores_match_the_shared_readme(shared_data):
    """The DNABERT-2 numbers in the package are the paper's, as the data README quotes them."""
    import re

    text = (shared_data / "README.md").read_text()
    quoted = dict(re.findall(r"(tf/\d|prom_core_\w+?) (\d+\.\d+)", text.split("Published scores", 1)[1].split("##")[0]))
    assert len(quoted) == 6
    published = published_gue_scores()
    for name, value in quoted.items():
        task = name if name.startswith("tf/") else f"prom/{name}"
        assert published[task]["DNABERT-2"] == pytest.approx(float(value) / 100, abs=1e-9), task
    assert set(published) == set(list_gue_tasks())
    assert published["virus/covid"]["metric"] == "f1"
