"""The submissions' sandbox (bubblewrap), and the grader's end of the channel to it.

A :class:`Worker` is one warm process, ``python -m vae_course.harvest``, started under ``bwrap``
with PyTorch and the course imported once; for each submission it forks a child that runs the
student's cells and then serves calls, as data. The sandbox:

* ``bwrap --unshare-all``: new user, PID, network, IPC, UTS and cgroup namespaces, so no network;
  ``--die-with-parent``: the worker dies with the grader, even after a SIGKILL;
* a file system of read-only binds: the system (``/usr``, ``/lib*``, a few files of ``/etc``), the Python
  installation and environment, and the ``vae_course`` package alone at ``/opt/vae-course``
  (not the repository: no ``solutions/``); the grader's files, the gradebook, other submissions
  and the instructor notebooks are simply not there;
* per submission (:func:`vae_course.harvest._isolate`), in the child: new user, mount, PID,
  network, IPC and UTS namespaces again, a private tmpfs home and ``/tmp`` (size-capped), and the
  child is PID 1 of its namespace, so everything it starts (``setsid`` daemons included) is
  killed when it ends; the worker itself is not dumpable, so a child cannot read or patch it;
* hard limits set in the child: memory (``RLIMIT_DATA``), processes (``RLIMIT_NPROC``, counted in
  the child's own user namespace; root is exempt from it, so as root the worker goes in a pids
  cgroup, or failing that runs as ``nobody``), file size, no core dumps; a wall-time limit for the
  cells (SIGALRM in the child) and for every reply (enforced from outside: the worker is killed).

:class:`Session` talks to one child over two pipes (:mod:`vae_course.wire` frames; results are
read with ``torch.load(weights_only=True)``). :class:`RemoteFunction` stands in for a function the
student wrote: calling it sends the arguments (chosen by the check, in the grader, at grading
time), runs the student's function in the sandbox, and returns its result as data; tensors that
require grad are bridged through a custom autograd function, so ``.backward()`` and
``torch.autograd.functional.jacobian`` on the result work as if the function were local.
Function arguments (e.g. a decoder a check passes in) stay in the grader: the sandbox gets a
stand-in that calls back.

``sandbox=False`` (``--no-sandbox``) runs the same worker without bubblewrap and without the
per-submission namespaces: only the limits and a throw-away working folder remain
(:data:`UNPROTECTED` says what that leaves open). :class:`LocalWorker` runs the cells in a thread
of the grader's own process, for the course's tests on its own notebooks.
"""
from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import wire

__all__ = ["Limits", "Worker", "Session", "RemoteFunction", "RemoteError", "SandboxStopped",
           "bwrap_problem", "UNPROTECTED"]

PKG_DEST = "/opt/vae-course"
HOME = "/home/student"
SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
# of /etc, only what the dynamic loader, Python and its libraries read (not shadow, ssh keys, ...)
ETC = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "passwd", "group",
       "nsswitch.conf", "hosts", "mime.types", "fonts", "os-release"]
NOBODY = 65534
UNPROTECTED = ("without the sandbox (--no-sandbox) a submission's code runs as you, with your network and your "
               "files: it can read solutions/ and the hidden checks, read or change other submissions and the "
               "gradebook, start any number of processes and leave them behind. Still in force: verdicts computed "
               "in the grader from data, a throw-away working folder, the time, memory and file-size limits.")


@dataclass
class Limits:
    time_limit: float = 300.0     # seconds for the student's cells
    memory_mb: int = 2048
    max_procs: int = 64
    max_file_mb: int = 200
    max_output: int = 2_000_000   # characters of printed output kept
    call_limit: float = 30.0      # seconds per call of a student's function
    grace: float = 120.0          # start-up and all the calls, on top of time_limit; then the sandbox is killed


class SandboxStopped(Exception):
    """The sandbox is gone (killed at its time limit, crashed, or it broke the protocol)."""


class RemoteError(Exception):
    """The student's function raised in the sandbox; ``remote_type`` is its exception's class name."""

    def __init__(self, remote_type: str, message: str, where: str = ""):
        super().__init__(f"{message}" + (f" ({where})" if where else ""))
        self.remote_type = remote_type


# ----------------------------------------------------------------------------- is bubblewrap usable?

def _bind_args(paths: list[tuple[str, str, bool]], fds: list[int]) -> list[str]:
    args = []
    for src, dest, writable in paths:
        fd = os.open(src, os.O_PATH | os.O_CLOEXEC)
        fds.append(fd)
        args += ["--bind-fd" if writable else "--ro-bind-fd", str(fd), dest]
    return args


def _system_args(fds: list[int]) -> list[str]:
    args, binds = ["--dir", "/etc"], []
    for d in SYSTEM + [f"/etc/{name}" for name in ETC]:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.exists(d):
            binds.append((d, d, False))
    return args + _bind_args(binds, fds)


def _python_dirs() -> list[str]:
    """The interpreter and the environment, outside the system folders, without repeats."""
    out: list[str] = []
    for p in (sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
              os.path.dirname(os.path.realpath(sys.executable))):
        if any(p == d or p.startswith(d + "/") for d in SYSTEM) or any(p == q or p.startswith(q + "/") for q in out):
            continue
        out = [q for q in out if not q.startswith(p + "/")] + [p]
    return out


def _drop_privileges() -> None:       # runs in the child between fork and exec
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


PIDS_CGROUP = "/sys/fs/cgroup/pids"     # cgroup v1 pids controller (root only)


def _pids_cgroup(max_procs: int) -> str | None:
    """As root, RLIMIT_NPROC does not apply (the kernel exempts uid 0): a pids cgroup with pids.max does."""
    if os.getuid() != 0 or not os.access(os.path.join(PIDS_CGROUP, "cgroup.procs"), os.W_OK):
        return None
    path = None
    try:
        path = os.path.join(PIDS_CGROUP, f"vae-course-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}")
        os.mkdir(path)
        with open(os.path.join(path, "pids.max"), "w") as fh:
            fh.write(str(max_procs))
        return path
    except OSError:
        if path and os.path.isdir(path):
            os.rmdir(path)
        return None


def _remove_cgroup(path: str | None) -> None:
    if path:
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.05)


def _in_cgroup(path: str):
    def enter() -> None:                 # runs in the child between fork and exec
        with open(os.path.join(path, "cgroup.procs"), "w") as fh:
            fh.write(str(os.getpid()))
    return enter


def process_limit_mode() -> str:
    """How the process-count limit is enforced for a sandbox started now."""
    if os.getuid() != 0:
        return "RLIMIT_NPROC in the sandbox's user namespace"
    probe = _pids_cgroup(1)
    if probe:
        _remove_cgroup(probe)
        return "a pids cgroup (running as root)"
    return "RLIMIT_NPROC as user nobody (running as root)"


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None when bubblewrap can build the sandbox here; otherwise why not."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    fds: list[int] = []
    cgroup = _pids_cgroup(64)
    try:
        cmd = [exe, "--unshare-all", "--die-with-parent", *_system_args(fds),
               *_bind_args([(d, d, False) for d in _python_dirs()], fds), "--proc", "/proc", "--dev", "/dev",
               "--", sys.executable, "-c", "pass"]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, pass_fds=fds,
                              preexec_fn=_in_cgroup(cgroup) if cgroup else _drop_privileges)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap could not start: {exc}"
    finally:
        for fd in fds:
            os.close(fd)
        _remove_cgroup(cgroup)
    if proc.returncode != 0:
        return ("bubblewrap cannot create its namespaces here (user namespaces disabled?): "
                + proc.stderr.decode("utf-8", "replace").strip()[:300])
    return None


# ----------------------------------------------------------------------------- the sandbox

class Worker:
    """A warm zygote (``python -m vae_course.harvest``) in bubblewrap, forking one child per submission.

    One worker per grading thread; :meth:`session` is a context manager giving the
    :class:`Session` of one submission. A worker that had to be killed (a submission past its
    time limit) is started again on the next submission."""

    def __init__(self, limits: Limits, scratch: Path, sandbox: bool = True, forbidden: list[Path] = ()):
        self.limits, self.sandbox, self.scratch = limits, sandbox, Path(scratch)
        self.forbidden = [Path(p).resolve() for p in forbidden]
        self.proc = None
        self.sock = None
        self.work: Path | None = None
        self.cgroup: str | None = None

    # ------------------------------------------------------------------ start and stop
    def start(self) -> None:
        import socket
        self.work = Path(tempfile.mkdtemp(prefix="worker-", dir=self.scratch))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pkg = Path(__file__).resolve().parent
        lim = self.limits
        fds = [theirs.fileno()]
        env = {"HOME": HOME, "TMPDIR": "/tmp", "PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": PKG_DEST,
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        for key in ("VAE_COURSE_FAST",):
            if key in os.environ:
                env[key] = os.environ[key]
        harvest = ["-B", "-m", "vae_course.harvest", str(theirs.fileno())]
        self.cgroup = None
        opened: list[int] = []
        if self.sandbox:
            python_dirs = _python_dirs()
            for d in python_dirs:
                if d == "/tmp" or d.startswith("/tmp/") or d == HOME or d.startswith(HOME + "/"):
                    raise RuntimeError(f"the Python environment {d} lies under /tmp or {HOME}, which every sandbox "
                                       "replaces with a private empty folder: create the environment elsewhere")
            for bad in self.forbidden:
                for d in python_dirs + [str(pkg)]:
                    if bad == Path(d) or bad.is_relative_to(d):
                        raise RuntimeError(f"{bad} lies inside {d}, which the sandbox must see: keep the Python "
                                           "environment and the instructor notebooks apart")
            self.cgroup = _pids_cgroup(lim.max_procs + 8)
            cmd = ["bwrap", "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
                   *_system_args(opened),
                   *_bind_args([(d, d, False) for d in python_dirs] + [(str(pkg), f"{PKG_DEST}/vae_course", False)],
                               opened),
                   "--tmpfs", "/tmp", "--dir", HOME, "--proc", "/proc", "--dev", "/dev", "--chdir", HOME, "--clearenv"]
            for k, v in env.items():
                cmd += ["--setenv", k, v]
            cmd += ["--", sys.executable, *harvest, "--isolate"]
            child_env, preexec = None, _in_cgroup(self.cgroup) if self.cgroup else _drop_privileges
        else:
            env.update(HOME=str(self.work), TMPDIR=str(self.work), MPLCONFIGDIR=str(self.work),
                       PYTHONPATH=str(pkg.parent), PATH=os.environ.get("PATH", "/usr/bin:/bin"))
            cmd, child_env, preexec = [sys.executable, *harvest], env, None
        stderr = open(self.work / "stderr.txt", "wb")
        try:
            self.proc = subprocess.Popen(cmd, cwd=str(self.work), env=child_env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=fds + opened,
                                         preexec_fn=preexec, start_new_session=True)
        finally:
            stderr.close()
            theirs.close()
            for fd in opened:
                os.close(fd)
        self.sock = ours
        self.sock.settimeout(300)
        line = self._readline()
        if b"ready" not in line:
            tail = self.stderr_tail()
            self.stop()
            raise RuntimeError(f"the sandboxed worker did not start: {tail or 'no message'}")

    def _readline(self) -> bytes:
        buf = b""
        try:
            while not buf.endswith(b"\n"):
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
        return buf

    def stderr_tail(self) -> str:
        try:
            with open(self.work / "stderr.txt", "rb") as fh:
                fh.seek(0, 2)
                fh.seek(max(0, fh.tell() - 600))
                lines = fh.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1][:300] if lines else ""
        except (OSError, TypeError):
            return ""

    def stop(self, graceful: bool = False) -> None:
        """Kill the worker and everything in its namespaces (bwrap's PID 1 dies with it);
        ``graceful``: first let an idle worker exit on its own (closing its control socket)."""
        if graceful and self.proc is not None and self.sock is not None:
            self.sock.close()
            self.sock = None
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    self.proc.kill()
            self.proc.wait()
        self.proc = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        _remove_cgroup(self.cgroup)
        self.cgroup = None
        if self.work is not None:
            shutil.rmtree(self.work, ignore_errors=True)
            self.work = None

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ one submission
    def session(self) -> "_SessionContext":
        return _SessionContext(self)


class _SessionContext:
    def __init__(self, worker: Worker):
        self.worker = worker
        self.session: Session | None = None

    def __enter__(self) -> "Session":
        import json
        import socket
        w = self.worker
        if w.proc is None or w.proc.poll() is not None:
            w.stop()
            w.start()
        from_grader, to_box = os.pipe()        # grader → child (read end, write end)
        from_box, to_grader = os.pipe()        # child → grader
        lim = w.limits
        spec = {"memory_mb": lim.memory_mb, "max_procs": lim.max_procs, "max_file_mb": lim.max_file_mb}
        try:
            socket.send_fds(w.sock, [json.dumps(spec).encode()], [from_grader, to_grader])
        finally:
            os.close(from_grader)
            os.close(to_grader)
        deadline = time.monotonic() + lim.time_limit + lim.grace
        self.session = Session(from_box, to_box, deadline, lim.call_limit, kill=w.stop, stderr_tail=w.stderr_tail)
        return self.session

    def __exit__(self, *exc) -> None:
        w = self.worker
        if self.session is not None:
            self.session.close()
        if w.sock is None:
            return
        w.sock.settimeout(10)
        line = w._readline()            # the zygote reports when the child (and its namespace) is gone
        if b"done" not in line:
            w.stop()
        elif w.sock is not None:
            w.sock.settimeout(300)


# ----------------------------------------------------------------------------- the grader's end

class Session:
    """Requests to one sandbox; every reply is read as data with a deadline."""

    def __init__(self, fd_in: int, fd_out: int, deadline: float, call_limit: float, kill=None, stderr_tail=None):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.deadline, self.call_limit = deadline, call_limit
        self.kill, self.stderr_tail = kill or (lambda: None), stderr_tail or (lambda: "")
        self.callbacks: list = []
        self.stopped: str | None = None
        self.lock = threading.RLock()

    def _fail(self, why: str) -> SandboxStopped:
        if self.stopped is None:
            self.stopped = why
            self.kill()
        return SandboxStopped(self.stopped)

    def _recv(self, limit: float | None):
        end = self.deadline if limit is None else min(self.deadline, time.monotonic() + limit)
        try:
            return wire.recv(self.fd_in, end)
        except wire.WireTimeout:
            hard = time.monotonic() >= self.deadline - 0.05
            raise self._fail("killed at the time limit" if hard else f"stopped after {limit:g} s: is there an "
                             "infinite loop?") from None
        except EOFError:
            tail = self.stderr_tail()
            raise self._fail("the submission's process ended" + (f": {tail}" if tail else "")) from None
        except (wire.WireError, OSError) as exc:
            raise self._fail(f"bad data from the submission: {exc}") from None

    def _send(self, msg) -> None:
        if self.stopped:
            raise SandboxStopped(self.stopped)
        try:
            wire.send(self.fd_out, msg)
        except OSError as exc:
            raise self._fail(f"the submission's process ended ({type(exc).__name__})") from None

    def request(self, msg, limit: float | None):
        """Send one request and return the reply, answering the sandbox's call-backs meanwhile."""
        with self.lock:
            self._send(msg)
            while True:
                reply = self._recv(limit)
                if not isinstance(reply, list) or not reply or not isinstance(reply[0], str):
                    raise self._fail("bad data from the submission: not a message")
                if reply[0] != "callback":
                    return reply
                self._send(self._answer_callback(reply))

    def _answer_callback(self, msg):
        try:
            fn = self.callbacks[int(msg[1])]
            args = wire.decode(msg[2], untrusted=True)
            kwargs = wire.decode(msg[3], untrusted=True)
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(type(k) is wire.StudentText
                                                                                     for k in kwargs):
                raise wire.WireError("bad call-back arguments")
            return ["callback_result", wire.encode(fn(*args, **{str(k): v for k, v in kwargs.items()}))]
        except Exception as exc:  # noqa: BLE001 - reported to the student's code as an error
            return ["callback_error", f"{type(exc).__name__}: {exc}"[:300]]

    def _register(self, obj) -> int:
        self.callbacks.append(obj)
        return len(self.callbacks) - 1

    # ------------------------------------------------------------------ the protocol
    def run(self, cells: list, answers: list, time_limit: float, max_output: int):
        """Run the cells; return (cells report, {qid: answer or RemoteError})."""
        with self.lock:
            self._send(["program", {"cells": cells, "answers": answers, "time_limit": time_limit,
                                    "max_output": max_output}])
            report = self._recv(None)
            got = self._recv(None)
        if report[0] != "cells" or got[0] != "answers" or not isinstance(got[1], dict):
            raise self._fail("bad data from the submission: unexpected message")
        rep = report[1]
        cells_out = [{"index": int(c["index"]), "output": str(c.get("output", ""))[:max_output],
                      "error": None if c.get("error") is None else str(c["error"])[:500]}
                     for c in rep.get("cells", []) if isinstance(c, dict) and type(c.get("index")) is int]
        report = {"cells": cells_out, "truncated": rep.get("truncated") is True, "timeout": rep.get("timeout") is True}
        values = {}
        for qid, item in got[1].items():
            if not isinstance(item, dict):
                continue
            if "error" in item:
                values[str(qid)] = RemoteError("AnswerMissing", str(item["error"])[:300])
                continue
            try:
                values[str(qid)] = wire.decode(item.get("ok"), make_callable=lambda fid: RemoteFunction(self, fid),
                                               untrusted=True)
            except wire.WireError as exc:
                values[str(qid)] = RemoteError("WireError", str(exc))
        return report, values

    def call(self, fid: int, args: tuple, kwargs: dict):
        grad_inputs: list = []
        data_args = wire.encode(list(args), register=self._register, grad_inputs=grad_inputs)
        data_kwargs = wire.encode(dict(kwargs), register=self._register, grad_inputs=grad_inputs)
        grad_inputs = [t for t in grad_inputs if t.is_floating_point()]
        reply = self.request(["call", fid, data_args, data_kwargs], self.call_limit)
        if reply[0] == "error":
            raise RemoteError(str(reply[1])[:80], str(reply[2])[:300], str(reply[3])[:100])
        if reply[0] != "result" or len(reply) != 3:
            raise self._fail("bad data from the submission: unexpected reply")
        outputs: list = []

        def collect(t, grad):
            if grad and t.is_floating_point():
                outputs.append(t)
            return t
        try:
            value = wire.decode(reply[1], make_callable=lambda i: RemoteFunction(self, i), untrusted=True,
                                on_tensor=collect)
        except wire.WireError as exc:
            raise RemoteError("WireError", str(exc)) from None
        handle = reply[2]
        if outputs and grad_inputs and type(handle) is int:
            bridged = _Bridge.apply(self, handle, tuple(outputs), tuple(grad_inputs), *grad_inputs)
            swap = {id(o): b for o, b in zip(outputs, bridged)}
            value = _replace(value, swap)
        return value

    def backward(self, handle: int, grads: list, inputs: tuple) -> list:
        reply = self.request(["backward", handle, wire.encode(list(grads))], self.call_limit)
        if reply[0] == "error":
            raise RemoteError(str(reply[1])[:80], str(reply[2])[:300])
        try:
            out = wire.decode(reply[1], untrusted=True)
        except wire.WireError as exc:
            raise RemoteError("WireError", str(exc)) from None
        import torch
        if reply[0] != "grads" or not isinstance(out, list) or len(out) != len(inputs):
            raise RemoteError("WireError", "malformed gradients")
        result = []
        for g, x in zip(out, inputs):
            if g is not None and (not isinstance(g, torch.Tensor) or g.shape != x.shape):
                raise RemoteError("WireError", "a gradient of the wrong shape")
            result.append(None if g is None else g.to(x.dtype))
        return result

    def close(self) -> None:
        if self.stopped is None:
            try:
                wire.send(self.fd_out, ["bye"])
            except OSError:
                pass
        for fd in (self.fd_in, self.fd_out):
            try:
                os.close(fd)
            except OSError:
                pass
        self.stopped = self.stopped or "closed"


def _replace(value, swap: dict):
    if id(value) in swap:
        return swap[id(value)]
    if isinstance(value, list):
        return [_replace(v, swap) for v in value]
    if isinstance(value, tuple):
        return tuple(_replace(v, swap) for v in value)
    if isinstance(value, dict):
        return {k: _replace(v, swap) for k, v in value.items()}
    return value


def _bridge_class():
    import torch

    class Bridge(torch.autograd.Function):
        """Outputs computed in the sandbox; their backward is computed there too."""

        @staticmethod
        def forward(ctx, session, handle, outputs, inputs, *grad_inputs):
            ctx.session, ctx.handle, ctx.inputs = session, handle, inputs
            return tuple(o.clone() for o in outputs)

        @staticmethod
        def backward(ctx, *grad_outputs):
            grads = ctx.session.backward(ctx.handle, list(grad_outputs), ctx.inputs)
            return (None, None, None, None, *grads)
    return Bridge


class _LazyBridge:
    _cls = None

    def apply(self, *args):
        if _LazyBridge._cls is None:
            _LazyBridge._cls = _bridge_class()
        return _LazyBridge._cls.apply(*args)


_Bridge = _LazyBridge()


class RemoteFunction:
    """A function the student wrote, living in the sandbox: call it like the original."""

    def __init__(self, session: Session, fid: int):
        self.session, self.fid = session, fid

    def __call__(self, *args, **kwargs):
        return self.session.call(self.fid, args, kwargs)

    def __repr__(self) -> str:
        return f"<the submission's function #{self.fid}>"


class LocalWorker:
    """The same protocol with the cells run in a thread of *this* process: for trusted notebooks
    only (the course's own tests of solutions/ and exercises/), never for submissions."""

    def session(self) -> "_LocalContext":
        return _LocalContext()

    def stop(self) -> None:
        pass


class _LocalContext:
    def __enter__(self) -> Session:
        from .harvest import Runner
        a_r, a_w = os.pipe()
        b_r, b_w = os.pipe()
        runner = Runner(a_r, b_w, in_process=True)

        def serve():
            try:
                runner.serve()
            except (EOFError, OSError, wire.WireError):
                pass
            finally:
                for fd in (a_r, b_w):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        threading.Thread(target=serve, daemon=True).start()
        self.session = Session(b_r, a_w, time.monotonic() + 3600, 120)
        return self.session

    def __exit__(self, *exc) -> None:
        self.session.close()
