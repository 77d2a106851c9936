"""MNIST as tensors, and what its pixels mean to a likelihood (lectures 02, 05).

Public functions:

* :func:`load_mnist`: MNIST as float tensors ``(N, 1, 28, 28)`` in [0, 1] plus labels
  (an :class:`MNIST` named tuple ``train_x, train_y, test_x, test_y``).
* :func:`binarize`: one Bernoulli draw per pixel, x_bin ~ Bernoulli(x) (dynamic binarization).
* :func:`find_mnist_files`: which IDX files a folder holds (checked against the md5s).

Every file is checked before it is used: gzipped files against the md5 torchvision publishes,
uncompressed ones against :data:`RAW_MD5` where that sum is known (the test split's), and every
file's IDX header against its size (a truncated file, or one whose header does not describe its
content, is a ``ValueError`` naming the file, not an error from deep inside a reader).

Where the data comes from, in this order:

1. ``data_dir`` (argument) or the folder named by ``VAE_COURSE_DATA``: the original IDX files,
   gzipped (md5-checked against the sums torchvision publishes) or not (header-checked, and
   md5-checked where the sum is known), either
   directly in the folder or in torchvision's ``root/MNIST/raw/`` layout.
2. Otherwise torchvision downloads MNIST into ``~/.cache/vae-course/data`` (once).
3. Offline with neither: a ``FileNotFoundError`` naming both remedies.

If the folder holds only the 10,000-image *test* split (as CI's copy does), the first 9,000
images train and the last 1,000 test, and :func:`load_mnist` says so once.

Pixel semantics (say which one a number was measured with):

* **gray levels** in [0, 1] (the default here, and the PyTorch-examples VAE): the "reconstruction
  loss" is the binary cross-entropy -Σ_i [x_i log p_i + (1-x_i) log(1-p_i)]. For a gray x_i
  (0 < x_i < 1) this is *not* the negative log of any probability of x: a Bernoulli distribution
  only puts mass on {0, 1}, so the "likelihood" of a gray pixel is a made-up number (even the
  best decoder, p_i = x_i, pays the pixel's entropy, > 0 nats), and ELBOs computed this way are
  not bounds on a log-likelihood and cannot be compared with published figures.
* **dynamic binarization**: every epoch each training pixel is redrawn as x_bin ~ Bernoulli(x)
  (:func:`binarize`, ``fit(..., binarize=True)``). The data are then truly binary, the
  Bernoulli likelihood is a proper one, the ELBO is a bound on log p(x), and this is the
  setting of the published MNIST figures (e.g. VAE ≈ 86.8 nats). The fresh draw per epoch also
  acts as data augmentation. The test images are binarized once with a fixed seed.

The whole dataset is returned as ordinary tensors: MNIST fits in memory on any device, so
:func:`vae_course.train.fit` moves it to the training device once and slices batches there,
and a GPU is never starved by a Python data loader.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
from pathlib import Path
from typing import NamedTuple

import torch

from .config import DATA_ENV
from .validation import ArgumentTypeError, integer

__all__ = ["MNIST", "load_mnist", "binarize", "find_mnist_files", "MD5", "RAW_MD5", "DEFAULT_ROOT"]

#: md5 sums of the original gzipped IDX files (the ones torchvision's ``datasets.MNIST`` checks).
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
#: md5 sums of the uncompressed IDX files, where known: those of the test split, computed from the
#: gzipped originals above (which match ``MD5``). A raw file with another sum is refused.
RAW_MD5 = {
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
_SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
DEFAULT_ROOT = Path.home() / ".cache" / "vae-course" / "data"
TEST_ONLY_SPLIT = 9_000   # with only the test split: images [:9000] train, [9000:] test
_said_test_only = False


class MNIST(NamedTuple):
    """Images as float (N, 1, 28, 28) in [0, 1] (gray levels), labels as int64 (N,)."""
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def find_mnist_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Map each IDX base name found in ``folder`` (or ``folder/MNIST/raw``, ``folder/raw``) to its file.

    Gzipped files must match the published md5 (``ValueError`` otherwise: a truncated or
    wrong file would silently train on garbage), uncompressed files the md5 of :data:`RAW_MD5`
    where it is known; every file's header is checked against its size when read.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder {str(folder)!r} does not exist (check {DATA_ENV} or data_dir)")
    found: dict[str, Path] = {}
    for place in (folder, folder / "MNIST" / "raw", folder / "raw"):
        for names in _SPLITS.values():
            for name in names:
                if name in found:
                    continue
                for candidate in (place / name, place / f"{name}.gz"):
                    if candidate.is_file():
                        expected = MD5.get(candidate.name) if candidate.suffix == ".gz" else RAW_MD5.get(candidate.name)
                        if expected is not None:
                            digest = _md5(candidate)
                            if digest != expected:
                                raise ValueError(
                                    f"{candidate} has md5 {digest}, expected {expected}: the file is "
                                    "corrupted or not the original MNIST file; download it again")
                        found[name] = candidate
                        break
    return found


def _parse_idx(blob: bytes, path: Path, kind: str) -> torch.Tensor:
    """An IDX file's content as a uint8 tensor, after checking its header against its size.

    IDX: two zero bytes, a type byte (0x08: unsigned bytes), the number of dimensions n, n
    big-endian uint32 sizes, then the values. MNIST images are n = 3 (N, 28, 28), labels n = 1.
    (torchvision's reader trusts the header and fails deep inside on a truncated file.)
    """
    ndim = 3 if kind == "images" else 1
    magic = bytes([0, 0, 0x08, ndim])
    if len(blob) < 4 or blob[:4] != magic:
        raise ValueError(f"{path} is not an MNIST IDX {kind} file: it starts with {blob[:4].hex() or 'nothing'}, "
                         f"expected the header {magic.hex()} (unsigned bytes in {ndim} dimension(s))")
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise ValueError(f"{path} is truncated: {len(blob)} bytes, shorter than its {header}-byte header")
    dims = struct.unpack(f">{ndim}I", blob[4:header])
    if kind == "images" and dims[1:] != (28, 28):
        raise ValueError(f"{path}: its header says images of {dims[1]}x{dims[2]} pixels; MNIST's are 28x28")
    expected = header + math.prod(dims)
    if len(blob) != expected:
        how = "truncated" if len(blob) < expected else "longer than its header says"
        raise ValueError(f"{path} does not match its header ({how}): the header says {dims[0]:,} {kind} "
                         f"({expected:,} bytes in all) but the file has {len(blob):,} bytes; download it again")
    return torch.frombuffer(bytearray(blob[header:]), dtype=torch.uint8).view(*dims)


def _read_idx(path: Path, kind: str) -> torch.Tensor:
    """Read one IDX file (gzipped or not), checking its header against its size (ValueError naming the file)."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as src:
                blob = src.read()
        else:
            blob = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable MNIST IDX {kind} file ({exc or type(exc).__name__})") from exc
    return _parse_idx(blob, path, kind)


def _read_split(files: dict[str, Path], split: str) -> tuple[torch.Tensor, torch.Tensor]:
    img_name, lab_name = _SPLITS[split]
    images = _read_idx(files[img_name], "images")
    labels = _read_idx(files[lab_name], "labels")
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"{files[img_name]} / {files[lab_name]}: expected N images of 28x28 and N labels, "
                         f"got images {tuple(images.shape)} and labels {tuple(labels.shape)}")
    if len(images) == 0:
        raise ValueError(f"{files[img_name]} holds no images")
    if int(labels.max()) > 9:
        raise ValueError(f"{files[lab_name]}: MNIST labels are digits 0-9, found {int(labels.max())}")
    return images, labels.long()


def _from_folder(folder) -> tuple[torch.Tensor, ...]:
    global _said_test_only
    files = find_mnist_files(folder)
    has = {split: all(n in files for n in names) for split, names in _SPLITS.items()}
    if not has["test"]:
        raise FileNotFoundError(
            f"no MNIST IDX files found in {str(folder)!r} (looked for {', '.join(_SPLITS['test'])} "
            "[.gz], directly or under MNIST/raw/)")
    test_x, test_y = _read_split(files, "test")
    if has["train"]:
        train_x, train_y = _read_split(files, "train")
        return train_x, train_y, test_x, test_y
    if not _said_test_only:
        print(f"MNIST: only the test split is in {folder}; using its first {TEST_ONLY_SPLIT:,} images to train "
              f"and the last {len(test_x) - TEST_ONLY_SPLIT:,} to test (all real MNIST digits).")
        _said_test_only = True
    n = TEST_ONLY_SPLIT
    if len(test_x) <= n:
        raise ValueError(f"{files[_SPLITS['test'][0]]} holds {len(test_x):,} images; with only the test split the "
                         f"course needs more than {n:,} (the first {n:,} train, the rest test)")
    return test_x[:n], test_y[:n], test_x[n:], test_y[n:]


def _download(root: Path) -> tuple[torch.Tensor, ...]:
    """torchvision's MNIST (downloads into ``root`` the first time)."""
    from torchvision import datasets
    train = datasets.MNIST(str(root), train=True, download=True)
    test = datasets.MNIST(str(root), train=False, download=True)
    return train.data, train.targets, test.data, test.targets


def _missing_data_message(exc: Exception) -> str:
    return ("MNIST is not available: no local folder was given and the download failed "
            f"({type(exc).__name__}: {exc}).\nTwo remedies:\n"
            f"  1. point to a folder with the MNIST IDX files: set {DATA_ENV}=/path/to/mnist "
            "(e.g. ../shared/data/mnist) or pass data_dir=...;\n"
            "  2. connect to the internet once so torchvision can download MNIST.")


def load_mnist(data_dir: str | os.PathLike | None = None, *, device: str | torch.device | None = None,
               n_train: int | None = None, n_test: int | None = None, root: str | os.PathLike | None = None) -> MNIST:
    """MNIST images as float tensors (N, 1, 28, 28) with gray levels in [0, 1], and int64 labels.

    ``data_dir`` (or ``$VAE_COURSE_DATA``): a folder of original IDX files; without one,
    torchvision downloads MNIST into ``root`` (default ``~/.cache/vae-course/data``).
    ``n_train`` / ``n_test`` keep only the first n images of each split (fast mode).
    ``device``: where the tensors live (default: CPU; ``fit`` moves them to its device once).
    """
    n_train, n_test = (None if n is None else integer(n, name, low=1)
                       for name, n in (("n_train", n_train), ("n_test", n_test)))
    folder = data_dir if data_dir is not None else os.environ.get(DATA_ENV) or None
    if folder is not None:
        train_x, train_y, test_x, test_y = _from_folder(folder)
    else:
        root = Path(root).expanduser() if root is not None else DEFAULT_ROOT
        try:
            train_x, train_y, test_x, test_y = _download(root)
        except Exception as exc:  # URLError, RuntimeError("Error downloading ..."), OSError...
            raise FileNotFoundError(_missing_data_message(exc)) from exc
    sl_train, sl_test = slice(0, n_train), slice(0, n_test)

    def images(x):
        return (x.to(torch.float32) / 255.0).unsqueeze(1)

    out = MNIST(images(train_x[sl_train]), train_y[sl_train].long(), images(test_x[sl_test]), test_y[sl_test].long())
    if device is not None:
        out = MNIST(*(t.to(device) for t in out))
    return out


def binarize(x: torch.Tensor, seed: int | None = None) -> torch.Tensor:
    """Dynamic binarization: each pixel becomes 1 with probability x (its gray level), else 0.

    ``seed`` makes the draw repeatable (used for the fixed binarized test set).
    """
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise ArgumentTypeError(f"x must be a float tensor of gray levels in [0, 1], got "
                                f"{x.dtype if torch.is_tensor(x) else type(x).__name__}")
    lo, hi = torch.stack(torch.aminmax(x.detach())).tolist() if x.numel() else (0.0, 0.0)
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError("x contains NaN (binarize expects gray levels in [0, 1])")
    if lo < 0 or hi > 1:
        raise ValueError(f"binarize expects gray levels in [0, 1] in x, got values in [{lo:.3g}, {hi:.3g}]")
    if seed is None:
        return torch.bernoulli(x)
    seed = integer(seed, "seed", low=0)
    gen = torch.Generator(device=x.device).manual_seed(seed)
    return torch.bernoulli(x, generator=gen)
