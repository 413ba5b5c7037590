"""A deliberately misbehaving Python environment, for the host's tests: each tool breaks
a rule of the sandbox in its own way, and the host must turn each into a clear outcome
(an `Error:` observation or a rolled-back fault) without crashing.

`Count` and `Observe` behave, so tests can check that faults are rolled back; with the
config `{"raise": true}` every tool raises instead.
"""

import json
import time

import gymnasium

CATEGORY = "simulation"
DESCRIPTION = "Test fixture: tools that loop, allocate, recurse, raise, print, and reach for files, clocks and sockets."


def sample_config(seed, difficulty):
    return {"raise": False, "seed": seed, "difficulty": difficulty}


class HostilePyEnv(gymnasium.Env):
    def reset(self, options={}):
        self.count = 0
        self.always_raise = bool(options.get("raise", False))
        self._done = False
        self._reward = 0
        return "Count things, or break things."

    def get_ref_answer(self):
        return self.count

    def step(self, action):
        call = json.loads(action)
        if self.always_raise:
            raise RuntimeError(f"{call['name']} always raises")
        return super().step(action)

    @property
    def finished(self):
        return self._done

    @property
    def reward(self):
        return float(self._reward)

    def Count(self):
        """Add one to the counter."""
        self.count += 1
        return f"count = {self.count}"

    def Observe(self):
        """The counter."""
        return f"count = {self.count}"

    def Done(self, answer: int):
        """Submit the counter's value."""
        self._done = True
        self._reward = 1 if answer == self.count else -1
        return f"Your answer: {answer}, Reference answer: {self.count}"

    def Spin(self):
        """Loop forever (after changing the counter, which the rollback must undo)."""
        self.count += 100
        while True:
            pass

    def Grow(self):
        """Allocate until memory runs out."""
        self.count += 100
        hoard = []
        while True:
            hoard.append(bytearray(16 << 20))

    def Recurse(self, depth: int = 0):
        """Recurse without end."""
        return self.Recurse(depth + 1)

    def Big(self):
        """An observation of 1 MiB."""
        return "x" * (1 << 20)

    def Raise(self):
        """Raise an exception."""
        raise ValueError("this tool always fails")

    def Print(self):
        """Print to stdout and stderr, then return."""
        import sys

        print("to stdout " * 100)
        print("to stderr", file=sys.stderr)
        return "printed"

    def Socket(self):
        """Import socket."""
        import socket

        return str(socket)

    def ReadFile(self):
        """Open a file."""
        with open("/etc/passwd") as file:
            return file.read()

    def ListDir(self):
        """List a directory."""
        import os

        return str(os.listdir("/"))

    def Clock(self):
        """Read the clock."""
        return str(time.time())

    def LateImport(self):
        """Import a module the file did not import at its top."""
        import xml.dom.minidom

        return str(xml.dom.minidom)

    def Exit(self):
        """Call sys.exit."""
        import sys

        sys.exit(3)
