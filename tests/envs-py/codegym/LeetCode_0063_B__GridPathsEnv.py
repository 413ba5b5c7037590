import ast
import json
from functools import lru_cache

import gymnasium


class GridPathsEnv(gymnasium.Env):
    """Count the paths through a hidden grid from its top-left to its bottom-right cell, moving only right or down around blocked cells."""

    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_SIZE = 0
        self.IS_BLOCKED = 1
        self.ADD = 2
        self.OBSERVE = 3
        self.DONE = 4

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetSize": self.GET_SIZE,
            "IsBlocked": self.IS_BLOCKED,
            "Add": self.ADD,
            "Observe": self.OBSERVE,
            "Done": self.DONE,
        }

        if env_str is not None:
            options = ast.literal_eval(env_str.split("@")[1])
            self.reset(options)
        else:
            self.reset()

    # [Required] Define the property and staticmethod of the environment
    @property
    def finished(self) -> bool:
        return self._done

    @property
    def reward(self):
        return float(self._reward)

    @classmethod
    def from_env_str(cls, env_str: str):
        prefix = "GridPathsEnv@"
        if not env_str.startswith(prefix):
            return None
        return cls(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.grid = options.get("grid", [[0]])
        self._reward = 0
        self._done = False
        self.step_count = 0
        return "Environment has been reset."

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        rows, cols = len(self.grid), len(self.grid[0])
        ways = [[0] * cols for _ in range(rows)]
        for r in range(rows):
            for c in range(cols):
                if self.grid[r][c]:
                    continue
                if r == 0 and c == 0:
                    ways[r][c] = 1
                else:
                    ways[r][c] = (ways[r - 1][c] if r else 0) + (ways[r][c - 1] if c else 0)
        return ways[rows - 1][cols - 1]

    # [Required] Define the step method of the environment
    def step(self, action: str):
        r"""
        Execute an action, and return the result information.

        Args:
            action (str): The JSON string of the action name and parameters.

        Returns:
            tuple[bool, str]: Whether the action is executed successfully, and the result information.
        """
        self.step_count += 1
        try:
            call_dict = json.loads(action)
            assert "name" in call_dict, "function call doesn't have `name`"
            assert "parameters" in call_dict, "function call doesn't have `parameters`"
            action_name = call_dict["name"]
            params = call_dict["parameters"]

            if action_name not in self.func_mapping:
                raise ValueError(f"Invalid action: {action_name}")

            action_code = self.func_mapping[action_name]

            if action_code == self.GET_SIZE:
                msg = self.GetSize()
            elif action_code == self.IS_BLOCKED:
                if "row" in params and "col" in params:
                    msg = self.IsBlocked(params["row"], params["col"])
                else:
                    msg = "Error: 'row' or 'col' parameter is missing for IS_BLOCKED action."
            elif action_code == self.ADD:
                if "a" in params and "b" in params:
                    msg = self.Add(params["a"], params["b"])
                else:
                    msg = "Error: 'a' or 'b' parameter is missing for ADD action."
            elif action_code == self.OBSERVE:
                msg = self.Observe()
            elif action_code == self.DONE:
                if "answer" in params:
                    msg = self.Done(params["answer"])
                else:
                    msg = "Error: 'answer' parameter is missing for DONE action."
        except Exception as e:
            msg = f"Error: {str(e)}"

        return True, msg

    # All the actions of the environment
    def GetSize(self):
        r"""

        Return the grid's number of rows and columns.

        Args:
            None

        Returns:
            str: "rows cols".

        Example Output:
            "3 4"
        """
        return f"{len(self.grid)} {len(self.grid[0])}"

    def IsBlocked(self, row: int, col: int):
        r"""

        Tell whether one cell is blocked.

        Args:
            row (int): The cell's row, from 0.
            col (int): The cell's column, from 0.

        Returns:
            str: "blocked" or "open".

        Example Output:
            "open"
        """
        if not (0 <= row < len(self.grid) and 0 <= col < len(self.grid[0])):
            return f"Error: cell ({row}, {col}) is outside the grid"
        return "blocked" if self.grid[row][col] else "open"

    def Add(self, a: int, b: int):
        r"""

        Add two integers.

        Args:
            a (int): The first integer.
            b (int): The second integer.

        Returns:
            str: The sum.

        Example Output:
            "7"
        """
        return str(a + b)

    def Observe(self):
        r"""

        Return what may be seen of the task.

        Args:
            None

        Returns:
            str: A description of the task.

        Example Output:
            "A 3 x 4 grid; count the paths from (0, 0) to (2, 3)."
        """
        rows, cols = len(self.grid), len(self.grid[0])
        return f"A {rows} x {cols} grid; count the paths from (0, 0) to ({rows - 1}, {cols - 1})."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (int): The number of paths.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: 6, Reference answer: 6, Result: Correct, reward=1"
        """
        ref_answer = self.get_ref_answer()
        correct = answer == ref_answer
        self._reward = 1 if correct else 0
        self._done = True
        msg = f"Your answer: {answer}, Reference answer: {ref_answer}, Result: {'Correct' if correct else 'Incorrect'}"
        return msg + f", reward={self._reward}"

    # Define the solve method of the environment
    def solve(self):
        r"""
        Automatically call all actions to complete the complete process, and submit the answer for verification.

        Returns:
            str: The result information of the final answer verification.
        """
        rows, cols = map(int, self.step(json.dumps({"name": "GetSize", "parameters": {}}))[1].split())

        @lru_cache(maxsize=None)
        def paths(r, c):
            # Paths from (r, c) to the bottom-right cell, by recursion.
            if r >= rows or c >= cols:
                return 0
            if self.step(json.dumps({"name": "IsBlocked", "parameters": {"row": r, "col": c}}))[1] == "blocked":
                return 0
            if (r, c) == (rows - 1, cols - 1):
                return 1
            down, right = paths(r + 1, c), paths(r, c + 1)
            return int(self.step(json.dumps({"name": "Add", "parameters": {"a": down, "b": right}}))[1])

        return self.step(json.dumps({"name": "Done", "parameters": {"answer": paths(0, 0)}}))[1]


if __name__ == "__main__":
    env = GridPathsEnv.from_env_str('GridPathsEnv@{"grid": [[0, 0, 0], [0, 1, 0], [0, 0, 0]]}')
    print(env.solve())
    print("step count:", env.step_count)
