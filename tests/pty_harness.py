#!/usr/bin/env python3
"""Drive a program through a real pseudo-terminal, from a scenario on stdin.

    python3 tests/pty_harness.py [--timeout S] -- CMD ARGS... <<'END'
    expect vouch>
    send 1 + 1\\r
    expect ^2$
    END

Scenario lines (backslash escapes \\r \\n \\t \\xNN \\\\ work in arguments):
    send TEXT         write TEXT to the terminal
    expect REGEX      wait until the output since the last match holds REGEX
                      (searched line by line, ANSI sequences removed)
    screen REGEX      wait until the emulated screen's cursor line matches and
                      the output has paused (no stale match right after a send)
    absent REGEX      fail if the output since the last match holds REGEX
    raw REGEX         wait until the raw output (ANSI kept) holds REGEX
    signal NAME       send the program a signal (STOP, CONT, WINCH ...)
    resize ROWS COLS  change the terminal's size (the program gets SIGWINCH)
    stats FILE        append the program's resident memory (KiB) and open
                      descriptors, from /proc, as a line "RSS FDS" to FILE
    record FILE REGEX as expect, then append the match's first group to FILE
    sleep MS          wait a while (for a timer; never for an answer)
    eof               wait for the program to exit
    status N          its exit status must be N
    # ...             a comment
Every wait is bounded (--timeout, default 10 s). On failure the harness
prints what it last saw and exits 1; the program is killed in any case.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z@]|\x1b[78=>]|\x07")


def plain(data):
    """Output as text lines: ANSI removed, a carriage return starts a line."""
    text = ANSI.sub("", data.decode("utf-8", "replace"))
    return re.sub(r"\r(?!\n)", "\n", text).replace("\r\n", "\n")


ESC = {"r": "\r", "n": "\n", "t": "\t", "\\": "\\", "e": "\x1b"}


QUIET = 0.15  # seconds without output before the screen counts as settled


def unescape(s):
    """Backslash escapes of the scenario; others (\\. in a regex) stay."""
    def one(m):
        if m.group(1).startswith("x"):
            return chr(int(m.group(1)[1:], 16))
        return ESC.get(m.group(1), m.group(0))
    return re.sub(r"\\(x[0-9a-fA-F]{2}|.)", one, s)


class Screen:
    """A tiny terminal: enough of VT100 for a line editor's redraws."""

    def __init__(self, cols=80):
        self.cols, self.lines, self.row, self.col = cols, [[]], 0, 0
        self.pending = b""

    def _put(self, ch):
        line = self.lines[self.row]
        while len(line) < self.col:
            line.append(" ")
        if self.col < len(line):
            line[self.col] = ch
        else:
            line.append(ch)
        self.col += 1
        if self.col >= self.cols:
            self._newline()
            self.col = 0

    def _newline(self):
        self.row += 1
        while len(self.lines) <= self.row:
            self.lines.append([])

    def feed(self, data):
        data = self.pending + data
        self.pending = b""
        text = data.decode("utf-8", "replace")
        i = 0
        while i < len(text):
            c = text[i]
            if c == "\x1b":
                m = re.match(r"\x1b\[([0-9;?]*)([A-Za-z@])", text[i:])
                if not m:
                    if len(text) - i < 8:
                        self.pending = text[i:].encode()
                        return
                    i += 2
                    continue
                arg, op = m.group(1), m.group(2)
                n = int(arg) if arg.isdigit() else 1
                if op == "K":
                    del self.lines[self.row][self.col:]
                elif op == "J":
                    del self.lines[self.row][self.col:]
                    del self.lines[self.row + 1:]
                elif op == "C":
                    self.col += n
                elif op == "D":
                    self.col = max(0, self.col - n)
                elif op == "A":
                    self.row = max(0, self.row - n)
                elif op == "B":
                    for _ in range(n):
                        self._newline()
                elif op == "G":
                    self.col = max(0, n - 1)
                elif op == "P":
                    del self.lines[self.row][self.col:self.col + n]
                elif op == "@":
                    self.lines[self.row][self.col:self.col] = [" "] * n
                i += len(m.group(0))
                continue
            if c == "\r":
                self.col = 0
            elif c == "\n":
                self._newline()
                self.col = 0
            elif c == "\b":
                self.col = max(0, self.col - 1)
            elif c == "\x07":
                pass
            elif c >= " ":
                self._put(c)
            i += 1

    def cursor_line(self):
        return "".join(self.lines[self.row]).rstrip()

    def text(self):
        return "\n".join("".join(l).rstrip() for l in self.lines)


def main():
    args = sys.argv[1:]
    timeout = 10.0
    if args[:1] == ["--timeout"]:
        timeout = float(args[1])
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    script = sys.stdin.read().splitlines()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.setdefault("TERM", "vt100")
        try:
            os.execvp(args[0], args)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    os.set_blocking(fd, False)
    screen = Screen()
    seen = ""        # output since the last match, ANSI removed
    raw = b""
    status = None
    last_output = [time.monotonic()]

    def pump(wait):
        nonlocal seen, raw, status
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            if status is None:
                _, st = os.waitpid(pid, 0)
                status = os.waitstatus_to_exitcode(st)
            return
        raw = raw[-65536:] + data
        screen.feed(data)
        seen += plain(data)
        last_output[0] = time.monotonic()

    def fail(why):
        print("harness: " + why, file=sys.stderr)
        print("harness: output since the last match:\n" + seen[-2000:], file=sys.stderr)
        print("harness: screen:\n" + screen.text()[-2000:], file=sys.stderr)
        print("harness: raw tail: %r" % raw[-600:], file=sys.stderr)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        sys.exit(1)

    for n, line in enumerate(script, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cmd, _, arg = line.partition(" ")
        if cmd == "send":
            os.write(fd, unescape(arg).encode("utf-8"))
            last_output[0] = time.monotonic()
        elif cmd in ("expect", "screen"):
            rx = re.compile(unescape(arg), re.M)
            end = time.monotonic() + timeout
            while True:
                if cmd == "expect":
                    m = rx.search(seen)
                    if m:
                        seen = seen[m.end():]
                        break
                elif (rx.search(screen.cursor_line())
                      and time.monotonic() - last_output[0] > QUIET):
                    break
                if status is not None or time.monotonic() > end:
                    fail("line %d: %s /%s/ not seen%s" % (
                        n, cmd, arg, " (the program exited)" if status is not None else ""))
                pump(0.05)
        elif cmd == "record":
            path, _, arg = arg.partition(" ")
            rx = re.compile(unescape(arg), re.M)
            end = time.monotonic() + timeout
            while True:
                m = rx.search(seen)
                if m:
                    seen = seen[m.end():]
                    break
                if status is not None or time.monotonic() > end:
                    fail("line %d: record /%s/ not seen" % (n, arg))
                pump(0.05)
            with open(path, "a") as f:
                f.write(m.group(1) + "\n")
        elif cmd == "stats":
            rss = 0
            with open("/proc/%d/status" % pid) as f:
                for st_line in f:
                    if st_line.startswith("VmRSS:"):
                        rss = int(st_line.split()[1])
            fds = len(os.listdir("/proc/%d/fd" % pid))
            with open(arg, "a") as f:
                f.write("%d %d\n" % (rss, fds))
        elif cmd == "raw":
            rx = re.compile(unescape(arg).encode("utf-8"))
            end = time.monotonic() + timeout
            while not rx.search(raw):
                if status is not None or time.monotonic() > end:
                    fail("line %d: raw /%s/ not seen" % (n, arg))
                pump(0.05)
        elif cmd == "absent":
            pump(0.05)
            if re.search(unescape(arg), seen, re.M):
                fail("line %d: /%s/ was seen" % (n, arg))
        elif cmd == "sleep":
            end = time.monotonic() + float(arg) / 1000
            while time.monotonic() < end:
                pump(max(0, min(0.05, end - time.monotonic())))
        elif cmd == "resize":
            rows, cols = (int(x) for x in arg.split())
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            screen.cols = cols
        elif cmd == "signal":
            os.kill(pid, getattr(signal, "SIG" + arg))
        elif cmd == "eof":
            end = time.monotonic() + timeout
            while status is None:
                if time.monotonic() > end:
                    fail("line %d: the program did not exit" % n)
                pump(0.05)
        elif cmd == "status":
            if status != int(arg):
                fail("line %d: exit status %s, expected %s" % (n, status, arg))
        else:
            fail("line %d: unknown command %r" % (n, cmd))
    if os.environ.get("HARNESS_DEBUG"):
        print("raw: %r" % raw, file=sys.stderr)
        print("screen:\n" + screen.text(), file=sys.stderr)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    sys.exit(0)


if __name__ == "__main__":
    main()
