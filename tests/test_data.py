import gzip
import os
import shutil
import urllib.error
from pathlib import Path

import pytest
import torch

from vae_course import data

MNIST_DIR = Path(os.environ.get("VAE_COURSE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
needs_mnist = pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                                 reason="the MNIST test split (../shared/data/mnist) is not here")


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist(MNIST_DIR)


@needs_mnist
def test_test_split_only_gives_9000_train_1000_test(mnist, monkeypatch, capsys):
    assert mnist.train_x.shape == (9000, 1, 28, 28) and mnist.test_x.shape == (1000, 1, 28, 28)
    assert mnist.train_y.shape == (9000,) and mnist.test_y.shape == (1000,)
    assert mnist.train_x.dtype == torch.float32 and mnist.train_y.dtype == torch.int64
    assert float(mnist.train_x.min()) == 0.0 and float(mnist.train_x.max()) == 1.0
    # the first ten labels of the MNIST test split, as published
    assert mnist.train_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert set(mnist.test_y.tolist()) == set(range(10))
    monkeypatch.setattr(data, "_said_test_only", False)
    data.load_mnist(MNIST_DIR)
    assert "first 9,000 images to train and the last 1,000 to test" in capsys.readouterr().out
    data.load_mnist(MNIST_DIR)
    assert capsys.readouterr().out == ""      # said once


@needs_mnist
def test_environment_variable_and_subsets(monkeypatch, mnist):
    monkeypatch.setenv("VAE_COURSE_DATA", str(MNIST_DIR))
    small = data.load_mnist(n_train=100, n_test=50)
    assert small.train_x.shape == (100, 1, 28, 28) and small.test_x.shape == (50, 1, 28, 28)
    assert torch.equal(small.train_x, mnist.train_x[:100])
    with pytest.raises(ValueError, match="n_train"):
        data.load_mnist(n_train=0)


@needs_mnist
def test_torchvision_layout_and_uncompressed_files(tmp_path, mnist):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(MNIST_DIR / f"{name}.gz") as src:
            (raw / name).write_bytes(src.read())       # torchvision keeps them unpacked
    got = data.load_mnist(tmp_path)
    assert torch.equal(got.test_x, mnist.test_x) and torch.equal(got.train_y, mnist.train_y)


@needs_mnist
def test_corrupted_file_fails_md5(tmp_path):
    shutil.copy(MNIST_DIR / "t10k-labels-idx1-ubyte.gz", tmp_path)
    blob = (MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="md5"):
        data.load_mnist(tmp_path)


def test_folder_without_mnist_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no MNIST IDX files"):
        data.load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_mnist(tmp_path / "nowhere")


def test_offline_without_folder_names_both_remedies(monkeypatch, tmp_path):
    monkeypatch.delenv("VAE_COURSE_DATA", raising=False)

    def offline(root):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(data, "_download", offline)
    with pytest.raises(FileNotFoundError) as err:
        data.load_mnist(root=tmp_path)
    message = str(err.value)
    assert "VAE_COURSE_DATA" in message and "data_dir" in message and "internet" in message


def test_binarize_draws_bernoulli_pixels():
    x = torch.linspace(0, 1, 28 * 28).repeat(400, 1).view(400, 1, 28, 28)
    b = data.binarize(x, seed=1)
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(b, data.binarize(x, seed=1))            # a seed repeats the draw
    assert not torch.equal(b, data.binarize(x, seed=2))
    # each pixel is 1 with probability x: per-pixel frequencies over 400 draws match x
    assert torch.allclose(b.mean(0), x[0], atol=0.1)
    assert abs(float(b.mean() - x.mean())) < 0.01
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.binarize(x * 2)


# ----------------------------------------------------------------------------- hostile files

def _unpacked(tmp_path):
    """The test split's two IDX files, uncompressed, in tmp_path; returns the images file."""
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(MNIST_DIR / f"{name}.gz") as src:
            (tmp_path / name).write_bytes(src.read())
    return tmp_path / "t10k-images-idx3-ubyte"


@needs_mnist
def test_truncated_or_inconsistent_idx_files_give_a_value_error_naming_the_file(tmp_path, monkeypatch):
    images = _unpacked(tmp_path)
    good = images.read_bytes()
    monkeypatch.setattr(data, "RAW_MD5", {})        # the header check alone (as for files without a known sum)
    images.write_bytes(good[:-5000])                                   # truncated
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte does not match its header \(truncated\)"):
        data.load_mnist(tmp_path)
    images.write_bytes(good[:4] + (20_000).to_bytes(4, "big") + good[8:])   # header says 20,000 images
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte does not match its header.*20,000 images"):
        data.load_mnist(tmp_path)
    images.write_bytes(good[:10])                                      # shorter than the header
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte is truncated"):
        data.load_mnist(tmp_path)
    images.write_bytes(b"\x00\x00\x08\x01" + good[4:])                  # a labels header on the images file
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte is not an MNIST IDX images file"):
        data.load_mnist(tmp_path)
    images.write_bytes(b"")
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte is not an MNIST IDX images file"):
        data.load_mnist(tmp_path)


@needs_mnist
def test_right_header_wrong_content_is_caught_by_the_checksum(tmp_path):
    images = _unpacked(tmp_path)
    blob = bytearray(images.read_bytes())
    assert data.load_mnist(tmp_path).train_x.shape == (9000, 1, 28, 28)     # the intact raw files load
    blob[5000] ^= 0xFF                                                       # one pixel changed
    images.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte has md5 .* expected 2646ac64"):
        data.load_mnist(tmp_path)


def test_idx_parser_on_a_small_hand_made_file(tmp_path):
    labels = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 2, 1])
    assert data._parse_idx(labels, tmp_path / "l", "labels").tolist() == [7, 2, 1]
    image = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (1, 28, 28)) + bytes(range(256)) * 3 + bytes(16)
    assert data._parse_idx(image, tmp_path / "i", "images").shape == (1, 28, 28)
    with pytest.raises(ValueError, match=r"i does not match its header \(longer"):
        data._parse_idx(image + b"\0", tmp_path / "i", "images")
    wrong_size = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (1, 32, 32)) + bytes(1024)
    with pytest.raises(ValueError, match="32x32"):
        data._parse_idx(wrong_size, tmp_path / "w", "images")


def test_binarize_and_load_mnist_arguments():
    with pytest.raises(ValueError, match="x contains NaN"):
        data.binarize(torch.tensor([0.5, float("nan")]))
    with pytest.raises(TypeError, match="x must be a float tensor"):
        data.binarize(torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="n_train"):
        data.load_mnist(MNIST_DIR, n_train=True)
    with pytest.raises(ValueError, match="n_test"):
        data.load_mnist(MNIST_DIR, n_test=0)
