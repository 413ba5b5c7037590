"""The `gymnasium.spaces` names CodeGym-style environments declare (they never sample
from them): each class just keeps its arguments."""

__all__ = ["Space", "Discrete", "Box", "Text", "Dict", "Tuple", "MultiDiscrete", "MultiBinary"]


class Space:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs

    def contains(self, x):
        return True

    def __contains__(self, x):
        return self.contains(x)


class Discrete(Space):
    def __init__(self, n, *args, **kwargs):
        super().__init__(n, *args, **kwargs)
        self.n = n

    def contains(self, x):
        return isinstance(x, int) and 0 <= x < self.n


class Box(Space):
    pass


class Text(Space):
    pass


class Dict(Space):
    pass


class Tuple(Space):
    pass


class MultiDiscrete(Space):
    pass


class MultiBinary(Space):
    pass
