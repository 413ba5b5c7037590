"""`solve()` driven one tool call at a time, by re-execution.

CodeGym's oracle is ordinary code that acts through `self.step(action)` and reads the
returned observations, from anywhere: nested functions, lambdas, recursion, helper methods,
an alias `step = self.step`. The component has no threads or continuations to suspend it
with, so each `oracle-next` runs `solve()` again from the start, on a fresh private
instance whose `step` answers the calls made so far with their recorded observations and,
at the first call past them, raises a private `BaseException` carrying the action out of
`solve()`. That action is the next tool call; when `solve()` returns, the oracle is done.

For n calls this runs `solve()`'s own code O(n²) times (n ≤ 256, the host's step limit);
the tools themselves never run in the oracle's instance. Each run starts from the same
state of the global `random`, so a `solve()` that draws from it replays alike; one that
still asks for a different action than last time, or catches the signal (a bare `except:`
or `except BaseException:` around `self.step`), is an `OracleError`, never a wrong call.
"""

import random


class OracleError(RuntimeError):
    """`solve()` cannot be driven: it is not a function of its observations, or it
    swallowed the oracle's signal, or it raised."""


class _Suspend(BaseException):
    """Carries the action of the first unanswered `self.step` call out of `solve()`."""


class Oracle:
    """The oracle of one episode: `next(observation)` is its next action (what `solve`
    passed to `self.step`), or None once `solve()` has returned."""

    def __init__(self, instance, shape):
        # `instance()`: a fresh private instance (no config); `shape(text)`: an observation
        # as the class's own `step` returns it.
        self.instance = instance
        self.shape = shape
        self.actions = []
        self.observations = []
        self.random_state = random.getstate()
        self.finished = False

    def next(self, last_observation):
        if self.finished:
            return None
        if self.actions:
            self.observations.append(self.shape(last_observation))
        action = _Run(self).action()
        if action is _DONE:
            self.finished = True
            return None
        self.actions.append(action)
        return action


_DONE = object()


class _Run:
    """One execution of `solve()` against the recorded calls."""

    def __init__(self, oracle):
        self.oracle = oracle
        self.calls = 0
        self.suspended = False
        self.action_out = None
        self.failure = None

    def step(self, action=None, *args, **kwargs):
        if "action" in kwargs:
            action = kwargs["action"]
        oracle = self.oracle
        if self.suspended:
            self.failure = (
                f"solve() went on after call {self.calls} instead of stopping there: it caught the "
                "oracle's signal (a bare `except:` or `except BaseException:` around self.step); "
                "catch Exception instead"
            )
            raise _Suspend()
        index = self.calls
        self.calls += 1
        if index < len(oracle.observations):
            if action != oracle.actions[index]:
                self.failure = (
                    f"solve() is not a function of its observations: call {index + 1} was "
                    f"{oracle.actions[index]!r}, and is now {action!r}"
                )
                raise _Suspend()
            return oracle.observations[index]
        self.suspended = True
        self.action_out = action
        raise _Suspend()

    def action(self):
        oracle = self.oracle
        instance = oracle.instance()
        instance.step = self.step
        random.setstate(oracle.random_state)
        error = None
        escaped = False
        try:
            instance.solve()
        except _Suspend:
            escaped = True
        except BaseException as raised:
            error = raised
        if self.failure is not None:
            raise OracleError(self.failure)
        if self.suspended:
            if not escaped:
                outcome = "returned" if error is None else f"raised {type(error).__name__}: {error}"
                raise OracleError(
                    f"solve() caught the oracle's signal at call {self.calls} and {outcome} (a bare "
                    "`except:` or `except BaseException:` around self.step); catch Exception instead"
                )
            return self.action_out
        if error is not None:
            raise OracleError(f"solve() raised {type(error).__name__}: {error}") from error
        return _DONE
