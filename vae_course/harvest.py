"""The sandboxed side of the grader: run a submission's cells, then answer the grader's calls, as data.

    python -m vae_course.harvest CONTROL_FD [--isolate]

Started by :mod:`vae_course.sandbox` inside bubblewrap as a warm *zygote* (:func:`zygote`):
PyTorch and the course are imported once, then one child is forked per submission, in its own
namespaces (:func:`_isolate`). The child reads one ``program`` message
(the cells to run and, per question, the expression that names the answer, e.g.
``kl_divergence``), runs the cells as a plain Python script (no kernel: each cell is compiled
and executed in one namespace; a cell that raises does not stop the others; its printed output
is kept up to a cap), then sends every answer as data (:mod:`vae_course.wire`): numbers,
tensors, SymPy trees, or a *function id* for a function the student wrote. After that it only
serves requests: ``call`` (run one of the student's functions on arguments the grader chose
just now and send the result back), ``backward`` (gradients through a result, so the grader's
autograd checks work on the student's function), and ``bye``.

This process computes no verdict and sees no check: the grader scores the data in its own
process. Whatever this process sends, however forged, is only ever the student's answer.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import io
import os
import signal
import sys
import traceback

from . import wire

__all__ = ["Runner", "main"]


class CellTimeout(BaseException):
    """The notebook's time budget ran out inside a cell (raised by SIGALRM)."""


class _Capped(io.TextIOBase):
    """A text sink that keeps at most ``budget[0]`` characters, shared between cells."""

    def __init__(self, budget: list):
        self.budget, self.parts, self.truncated = budget, [], False

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        if self.budget[0] <= 0:
            self.truncated = True
            return len(s)
        keep = s[: self.budget[0]]
        self.truncated |= len(keep) < len(s)
        self.budget[0] -= len(keep)
        self.parts.append(keep)
        return len(s)

    def getvalue(self):
        return "".join(self.parts)


def _display(*objs, **kwargs):
    """Notebook's ``display`` in a script: print the repr."""
    for o in objs:
        print(repr(o))


def _strip_magics(source: str) -> str:
    """IPython magics and shell escapes (``%matplotlib``, ``!pip``) are not Python: comment them out."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


class Runner:
    """Runs the cells and serves calls over two file descriptors (in the sandbox, or in a test's thread)."""

    def __init__(self, fd_in: int, fd_out: int, in_process: bool = False):
        self.fd_in, self.fd_out, self.in_process = fd_in, fd_out, in_process
        self.functions: list = []           # id → the student's function (or any callable answer)
        self.graphs: dict[int, tuple] = {}  # handle → (outputs, inputs) kept for backward
        self.ns: dict = {"__name__": "__main__", "__builtins__": builtins, "display": _display}

    # ------------------------------------------------------------------ cells
    def run_cells(self, cells: list, time_limit: float, max_output: int) -> dict:
        budget, results, truncated = [max_output], [], False
        use_alarm = (not self.in_process and hasattr(signal, "setitimer") and time_limit > 0)
        if use_alarm:
            def on_alarm(signum, frame):
                raise CellTimeout()
            signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, time_limit)
        timed_out = False
        for index, source in cells:
            if timed_out:
                results.append({"index": index, "output": "", "error": "not run: time limit reached"})
                continue
            sink = _Capped(budget)
            error = None
            try:
                code = compile(_strip_magics(source), f"<cell {index}>", "exec")
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    exec(code, self.ns)  # noqa: S102 - the student's code, inside the sandbox
            except CellTimeout:
                timed_out, error = True, f"time limit of {time_limit:g} s reached in this cell"
            except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt: the cell failed
                error = f"{type(exc).__name__}: {exc}"[:500]
            truncated |= sink.truncated
            results.append({"index": index, "output": sink.getvalue(), "error": error})
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
        return {"cells": results, "truncated": truncated, "timeout": timed_out}

    def _register(self, fn) -> int:
        self.functions.append(fn)
        return len(self.functions) - 1

    def answers(self, exprs: list) -> dict:
        out = {}
        for qid, expr in exprs:
            try:
                value = eval(compile(ast.parse(expr, mode="eval"), "<answer>", "eval"), self.ns)  # noqa: S307
                out[qid] = {"ok": wire.encode(value, register=self._register)}
            except BaseException as exc:  # noqa: BLE001
                out[qid] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        return out

    # ------------------------------------------------------------------ calls
    def _callback(self, cid: int):
        runner = self

        def call_grader(*args, **kwargs):
            wire.send(runner.fd_out, ["callback", cid, wire.encode(list(args)), wire.encode(kwargs)])
            while True:
                msg = wire.recv(runner.fd_in)
                if msg[0] == "callback_result":
                    return wire.decode(msg[1])
                if msg[0] == "callback_error":
                    raise RuntimeError(str(msg[1]))
                runner.handle(msg)          # a nested request (e.g. a backward) while we wait
        return call_grader

    def _call(self, fid, args, kwargs):
        import torch
        fn = self.functions[fid]
        inputs = []

        def mark(t, grad):
            if grad and t.is_floating_point():
                t = t.requires_grad_()
                inputs.append(t)
            return t
        args = wire.decode(args, make_callable=self._callback, on_tensor=mark)
        kwargs = wire.decode(kwargs, make_callable=self._callback, on_tensor=mark)
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            with torch.enable_grad():
                result = fn(*args, **kwargs)
        outputs: list = []
        data = wire.encode(result, register=self._register, grad_inputs=outputs)
        handle = None
        if inputs and outputs:      # the grader bridges exactly the tensors sent with grad=True, in this order
            handle = len(self.graphs) + 1
            self.graphs[handle] = (outputs, inputs)
        return data, handle

    def _backward(self, handle, grads):
        import torch
        outputs, inputs = self.graphs[handle]
        grads = wire.decode(grads)
        pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None]
        result = torch.autograd.grad([o for o, _ in pairs], inputs, [g for _, g in pairs],
                                     retain_graph=True, allow_unused=True)
        return [None if g is None else g for g in result]

    def handle(self, msg) -> bool:
        kind = msg[0]
        if kind == "bye":
            return False
        try:
            if kind == "call":
                data, handle = self._call(msg[1], msg[2], msg[3])
                wire.send(self.fd_out, ["result", data, handle])
            elif kind == "backward":
                wire.send(self.fd_out, ["grads", wire.encode(self._backward(msg[1], msg[2]))])
            else:
                wire.send(self.fd_out, ["error", "ProtocolError", f"unknown request {kind!r}", ""])
        except wire.WireError as exc:
            wire.send(self.fd_out, ["error", "WireError", str(exc)[:300], ""])
        except BaseException as exc:  # noqa: BLE001 - the student's function may raise anything
            tb = traceback.extract_tb(exc.__traceback__)
            where = next((f"line {f.lineno} of {f.name}" for f in reversed(tb) if f.filename.startswith("<cell")), "")
            wire.send(self.fd_out, ["error", type(exc).__name__, str(exc)[:300], where])
        return True

    def serve(self) -> None:
        msg = wire.recv(self.fd_in)
        if msg[0] != "program":
            return
        spec = msg[1]
        report = self.run_cells(spec["cells"], float(spec["time_limit"]), int(spec["max_output"]))
        wire.send(self.fd_out, ["cells", report])
        wire.send(self.fd_out, ["answers", self.answers(spec["answers"])])
        while True:
            try:
                msg = wire.recv(self.fd_in)
            except EOFError:
                return
            if not self.handle(msg):
                return


def _limits(memory_mb: int, max_procs: int, max_file_mb: int) -> None:
    """Hard limits for this process and everything it starts (set inside the sandbox's user namespace)."""
    import resource
    for res, value in ((resource.RLIMIT_DATA, memory_mb * 2**20), (resource.RLIMIT_NPROC, max_procs),
                       (resource.RLIMIT_FSIZE, max_file_mb * 2**20), (resource.RLIMIT_CORE, 0)):
        if value is not None and value >= 0:
            try:
                resource.setrlimit(res, (value, value))
            except (ValueError, OSError):      # e.g. RLIMIT_DATA on macOS: that limit is then off
                if sys.platform.startswith("linux"):
                    raise


# ----------------------------------------------------------------------------- the warm worker (zygote)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
HOME = "/home/student"
PRELOAD = ("numpy", "torch", "sympy", "sympy.stats", "matplotlib", "matplotlib.pyplot", "vae_course.config",
           "vae_course.grading", "vae_course.symbolic", "vae_course.info")


def _libc():
    import ctypes
    import ctypes.util
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        import ctypes
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _isolate(spec: dict) -> None:
    """In the forked child: new user, mount, PID, network, IPC and UTS namespaces; this process then
    forks once more and only the grandchild (PID 1 of the new namespace) returns. Everything the
    student's code starts lives in that namespace and is killed with it."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    _check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl")
    _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
           "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    pid = os.fork()
    if pid:                                   # the intermediate process: wait, then leave
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    size = f"size={max(1, int(spec['max_file_mb']))}m,mode=1777".encode()
    for target in (b"/tmp", HOME.encode()):
        _check(libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, size), f"mount {target!r}")
    # a /proc of this PID namespace only (refused by some kernels when /proc is partly covered: keep the old one)
    libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    os.chdir(HOME)


def zygote(control_fd: int, isolate: bool) -> None:
    """Import PyTorch and the course once; then fork one child per submission on the grader's request.

    The request (over a Unix socket only the grader holds) carries the limits and the two pipe ends
    of that submission's channel. The child drops the control socket at once, isolates itself
    (``isolate``: namespaces, private tmpfs home and /tmp), sets its limits and serves
    :class:`Runner`. The zygote is not dumpable, so a child cannot read or write its memory."""
    import importlib
    import json
    import socket
    import tempfile
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional module only costs speed
            pass
    prctl = getattr(_libc(), "prctl", lambda *a: 0)      # Linux only (macOS: --no-sandbox, no prctl)
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    sock = socket.socket(fileno=control_fd)
    sock.sendall(b'{"ready": true}\n')
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 65536, 2)
        except OSError:
            break
        if not msg:
            break
        try:
            spec = json.loads(msg)
        except ValueError:
            break
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        home = None if isolate else tempfile.mkdtemp(prefix="submission-")
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                sock.close()
                if isolate:
                    _isolate(spec)
                else:
                    os.chdir(home)
                    os.environ.update(HOME=home, TMPDIR=home)
                    tempfile.tempdir = home
                devnull = os.open(os.devnull, os.O_WRONLY)     # nothing the student prints reaches the host
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                # without namespaces RLIMIT_NPROC would count all of the user's processes: no process limit then
                _limits(spec["memory_mb"], spec["max_procs"] if isolate else -1, spec["max_file_mb"])
                prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
                Runner(fds[0], fds[1]).serve()
            except BaseException:  # noqa: BLE001
                code = 1
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        if home:
            import shutil
            shutil.rmtree(home, ignore_errors=True)
        try:
            sock.sendall((json.dumps({"done": os.waitstatus_to_exitcode(status)}) + "\n").encode())
        except OSError:
            break


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vae_course.harvest")
    ap.add_argument("control_fd", type=int, help="the grader's end of a Unix socket")
    ap.add_argument("--isolate", action="store_true", help="give each submission its own namespaces (in bubblewrap)")
    args = ap.parse_args(argv)
    zygote(args.control_fd, args.isolate)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
