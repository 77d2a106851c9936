"""Values as data between the grader and a sandboxed submission: framing and a closed set of types.

Both sides speak in frames: 8 bytes of length (big-endian), then a ``torch.save`` payload that
the reader opens with ``torch.load(weights_only=True)`` (no pickled objects, so nothing the
student sends can run code in the grader). A payload is built only from ``None``, ``bool``,
``int``, ``float``, ``str``, lists, and tensors; everything else is *tagged*:

================  ==================================================================
Python value      on the wire
================  ==================================================================
tuple, dict       ``{"__t__": "tuple" | "dict", ...}`` (dict keys: str or int)
torch.Tensor      ``{"__t__": "tensor", "v": dense CPU copy, "grad": requires_grad}``
numpy array       ``{"__t__": "ndarray", "v": tensor}`` (numeric dtypes only)
numpy scalar      ``{"__t__": "npscalar", "v": 0-d tensor, "dtype": name}``
``...``           ``{"__t__": "ellipsis"}`` (an unanswered question)
torch.Generator   ``{"__t__": "generator", "state": ByteTensor}``
SymPy expression  ``{"__t__": "sympy", "v": tree}`` (whitelisted node types only)
a function        ``{"__t__": "callable", "id": n}``: calls come back as messages
================  ==================================================================

:func:`decode` with ``untrusted=True`` (the grader reading a student's data) turns every
string into :class:`StudentText`, a ``str`` that SymPy refuses to parse, so a check that calls
``sympify`` on a student's value can never evaluate the student's text.
"""
from __future__ import annotations

import io
import os
import select
import struct
import time
from typing import Any, Callable

__all__ = ["encode", "decode", "send", "recv", "StudentText", "WireError", "WireTimeout", "MAX_FRAME"]

MAX_FRAME = 64 * 2**20         # bytes; a bigger message is refused
MAX_DEPTH = 40
_HEADER = struct.Struct(">Q")


class WireError(Exception):
    """A frame that is not a valid message (too big, truncated, or of a type that is not allowed)."""


class WireTimeout(WireError):
    """No whole frame before the deadline."""


class StudentText(str):
    """A string that came from a submission: compares like str, but ``sympify`` refuses it."""


def _refuse_sympify(text):
    import sympy
    raise sympy.SympifyError(text, "text from a submission is never parsed by the grader")


_SYMPY_REGISTERED = False


def _register_sympy_guard() -> None:
    global _SYMPY_REGISTERED
    if not _SYMPY_REGISTERED:
        from sympy.core.sympify import converter
        converter[StudentText] = _refuse_sympify
        _SYMPY_REGISTERED = True


# ----------------------------------------------------------------------------- SymPy trees

_SYMPY_FUNCS = ("Add", "Mul", "Pow", "exp", "log", "sqrt", "sin", "cos", "tan", "Abs", "erf", "gamma",
                "Max", "Min")
_SYMPY_ATOMS = ("pi", "E", "oo", "zoo", "nan", "I", "Half", "One", "Zero", "NegativeOne", "Infinity",
                "NegativeInfinity", "ImaginaryUnit", "Exp1", "Pi", "ComplexInfinity", "NaN")
_ASSUMPTIONS = ("real", "positive", "negative", "nonnegative", "integer", "finite")


def _sympy_tree(expr, depth=0):
    import sympy as sp
    if depth > 200:
        raise WireError("SymPy expression too deep")
    if isinstance(expr, sp.Symbol):
        assume = {k: bool(v) for k, v in expr.assumptions0.items() if k in _ASSUMPTIONS and v is not None}
        return ["Symbol", str(expr.name), assume]
    if isinstance(expr, sp.Integer):
        return ["Integer", str(int(expr))]
    if isinstance(expr, sp.Rational):
        return ["Rational", str(expr.p), str(expr.q)]
    if isinstance(expr, sp.Float):
        return ["Float", str(expr)]
    name = type(expr).__name__
    if not expr.args and name in _SYMPY_ATOMS:
        return ["Atom", name]
    if name in _SYMPY_FUNCS:
        return [name] + [_sympy_tree(a, depth + 1) for a in expr.args]
    raise WireError(f"SymPy node {name} cannot be sent")


def _from_sympy_tree(tree, depth=0):
    import sympy as sp
    if depth > 200 or not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
        raise WireError("malformed SymPy tree")
    head = tree[0]
    if head == "Symbol":
        name, assume = str(tree[1]), tree[2]
        if not isinstance(assume, dict) or not all(k in _ASSUMPTIONS and isinstance(v, bool) for k, v in assume.items()):
            raise WireError("bad Symbol assumptions")
        return sp.Symbol(name, **assume)
    if head == "Integer":
        return sp.Integer(int(str(tree[1])))          # int() of digits, never an evaluation
    if head == "Rational":
        return sp.Rational(int(str(tree[1])), int(str(tree[2])))
    if head == "Float":
        text = str(tree[1])
        if not all(c in "0123456789.eE+-" for c in text) or len(text) > 400:
            raise WireError("bad Float")
        return sp.Float(text)
    if head == "Atom":
        if tree[1] not in _SYMPY_ATOMS:
            raise WireError("unknown SymPy atom")
        return getattr(sp.S, str(tree[1]))
    if head in _SYMPY_FUNCS:
        return getattr(sp, head)(*[_from_sympy_tree(a, depth + 1) for a in tree[1:]])
    raise WireError(f"SymPy node {head!r} is not allowed")


# ----------------------------------------------------------------------------- values

def encode(obj, register: Callable[[Any], int] | None = None, grad_inputs: list | None = None, _depth=0):
    """``obj`` as wire data. Functions become ``callable`` tags via ``register`` (refused without it);
    tensors that require grad are appended to ``grad_inputs`` when it is given (in traversal order)."""
    if _depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    rec = lambda v: encode(v, register, grad_inputs, _depth + 1)  # noqa: E731
    if obj is None:
        return None
    for kind in (bool, int, float, str):        # subclasses (IntEnum, a str subclass) go as the plain type
        if isinstance(obj, kind):
            return kind(obj)
    if obj is Ellipsis:
        return {"__t__": "ellipsis"}
    if isinstance(obj, list):
        return [rec(v) for v in obj]
    if isinstance(obj, tuple):
        return {"__t__": "tuple", "v": [rec(v) for v in obj]}
    if isinstance(obj, dict):
        keys = list(obj)
        if not all(type(k) in (str, int) or isinstance(k, (str, int)) for k in keys):
            raise WireError("dict keys must be str or int")
        return {"__t__": "dict", "k": [k if type(k) in (str, int) else (str(k) if isinstance(k, str) else int(k))
                                       for k in keys], "v": [rec(obj[k]) for k in keys]}
    mod = type(obj).__module__ or ""
    if mod.startswith("torch"):
        import torch
        if isinstance(obj, torch.Tensor):
            if obj.layout != torch.strided or obj.is_quantized:
                raise WireError("only dense tensors can be sent")
            grad = bool(obj.requires_grad)
            if grad and grad_inputs is not None:
                grad_inputs.append(obj)
            return {"__t__": "tensor", "v": obj.detach().to("cpu").contiguous().clone(), "grad": grad}
        if isinstance(obj, torch.Generator):
            return {"__t__": "generator", "state": obj.get_state()}
        if isinstance(obj, torch.Size):
            return {"__t__": "tuple", "v": [int(v) for v in obj]}
    if mod.startswith("numpy"):
        import numpy as np
        import torch
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise WireError(f"a NumPy array of dtype {obj.dtype} cannot be sent")
            return {"__t__": "ndarray", "v": torch.from_numpy(np.ascontiguousarray(obj).copy())}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return {"__t__": "npscalar", "v": torch.from_numpy(np.asarray(obj).copy()), "dtype": obj.dtype.name}
    if mod.startswith("sympy"):
        import sympy as sp
        if isinstance(obj, sp.Basic):
            return {"__t__": "sympy", "v": _sympy_tree(obj)}
    if callable(obj) and register is not None:
        return {"__t__": "callable", "id": int(register(obj))}
    raise WireError(f"a value of type {type(obj).__name__} cannot be sent")


_NP_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "float16", "float32", "float64")


def decode(data, make_callable: Callable[[int], Any] | None = None, untrusted: bool = False,
           on_tensor: Callable[[Any, bool], Any] | None = None, _depth=0):
    """The Python value of wire data (the inverse of :func:`encode`); :class:`WireError` if malformed.

    ``on_tensor(tensor, requires_grad)`` may replace each decoded tensor (e.g. to mark it for autograd)."""
    if _depth > MAX_DEPTH + 2:
        raise WireError("value nested too deeply")
    rec = lambda v: decode(v, make_callable, untrusted, on_tensor, _depth + 1)  # noqa: E731
    if data is None or type(data) in (bool, int, float):
        return data
    if type(data) is str:
        if untrusted:
            _register_sympy_guard()
            return StudentText(data)
        return data
    if type(data) is list:
        return [rec(v) for v in data]
    if type(data) is not dict or "__t__" not in data:
        raise WireError(f"unexpected {type(data).__name__} on the wire")
    tag = data["__t__"]
    import torch
    if tag == "tuple":
        return tuple(rec(v) for v in _list(data, "v"))
    if tag == "dict":
        keys, values = _list(data, "k"), _list(data, "v")
        if len(keys) != len(values) or not all(type(k) in (str, int) for k in keys):
            raise WireError("malformed dict")
        return {(StudentText(k) if untrusted and type(k) is str else k): rec(v) for k, v in zip(keys, values)}
    if tag == "ellipsis":
        return Ellipsis
    if tag == "tensor":
        t = _tensor(data.get("v"))
        grad = data.get("grad") is True
        return on_tensor(t, grad) if on_tensor is not None else t
    if tag == "ndarray":
        t = _tensor(data.get("v"))
        if t.is_complex():
            raise WireError("complex arrays are not allowed")
        return t.numpy()
    if tag == "npscalar":
        import numpy as np
        name = data.get("dtype")
        if name not in _NP_DTYPES:
            raise WireError("bad NumPy scalar dtype")
        return np.dtype(name).type(_tensor(data.get("v")).reshape(()).item())
    if tag == "generator":
        state = _tensor(data.get("state"))
        if state.dtype != torch.uint8:
            raise WireError("bad generator state")
        g = torch.Generator()
        try:
            g.set_state(state)
        except RuntimeError as exc:
            raise WireError(f"bad generator state: {exc}") from None
        return g
    if tag == "sympy":
        return _from_sympy_tree(data.get("v"))
    if tag == "callable":
        if make_callable is None or type(data.get("id")) is not int:
            raise WireError("a function cannot be received here")
        return make_callable(data["id"])
    raise WireError(f"unknown tag {tag!r}")


def _list(data, key):
    v = data.get(key)
    if type(v) is not list:
        raise WireError("malformed message")
    return v


def _tensor(t):
    import torch
    if type(t) is not torch.Tensor or t.layout != torch.strided or t.is_quantized:
        raise WireError("expected a dense tensor")
    return t


# ----------------------------------------------------------------------------- frames

def dumps(obj) -> bytes:
    import torch
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def loads(payload: bytes):
    import torch
    try:
        return torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any malformed payload is the sender's problem
        raise WireError(f"unreadable frame: {type(exc).__name__}: {str(exc)[:200]}") from None


def send(fd: int, obj) -> None:
    """Write one frame (blocking)."""
    payload = dumps(obj)
    if len(payload) > MAX_FRAME:
        raise WireError(f"message of {len(payload)} bytes exceeds the limit of {MAX_FRAME}")
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WireTimeout("no answer before the deadline")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise WireTimeout("no answer before the deadline")
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline: float | None = None, max_frame: int = MAX_FRAME):
    """Read one frame and load it (weights_only); ``deadline`` is a ``time.monotonic()`` instant."""
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if size > max_frame:
        raise WireError(f"message of {size} bytes exceeds the limit of {max_frame}")
    return loads(_read_exact(fd, size, deadline))
