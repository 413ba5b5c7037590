import ast
import json
import re

import gymnasium


class KthNotDivisibleEnv(gymnasium.Env):
    """Find the k-th positive integer that is not divisible by n, for hidden n and k."""

    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_N = 0
        self.GET_K = 1
        self.COUNT_UP_TO = 2
        self.OBSERVE = 3
        self.DONE = 4

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetN": self.GET_N,
            "GetK": self.GET_K,
            "CountUpTo": self.COUNT_UP_TO,
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

    @staticmethod
    def from_env_str(env_str: str):
        prefix = "KthNotDivisibleEnv@"
        if not env_str.startswith(prefix):
            return None
        return KthNotDivisibleEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.n = options.get("n", 2)
        self.k = options.get("k", 1)
        self._reward = 0
        self._done = False
        self.step_count = 0
        return "Environment has been reset."

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        return self.k + (self.k - 1) // (self.n - 1)

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

            if action_code == self.GET_N:
                msg = self.GetN()
            elif action_code == self.GET_K:
                msg = self.GetK()
            elif action_code == self.COUNT_UP_TO:
                if "x" in params:
                    msg = self.CountUpTo(params["x"])
                else:
                    msg = "Error: 'x' parameter is missing for COUNT_UP_TO action."
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
    def GetN(self):
        r"""

        Return the divisor n.

        Args:
            None

        Returns:
            str: "n = <value>".

        Example Output:
            "n = 3"
        """
        return f"n = {self.n}"

    def GetK(self):
        r"""

        Return the rank k.

        Args:
            None

        Returns:
            str: "k = <value>".

        Example Output:
            "k = 7"
        """
        return f"k = {self.k}"

    def CountUpTo(self, x: int):
        r"""

        Count the integers from 1 to x that are not divisible by n.

        Args:
            x (int): The upper bound, at least 0.

        Returns:
            str: The count.

        Example Output:
            "count(1..10) = 7"
        """
        if not isinstance(x, int) or x < 0:
            return "Error: x must be a non-negative integer"
        return f"count(1..{x}) = {x - x // self.n}"

    def Observe(self):
        r"""

        Return what may be seen of the task.

        Args:
            None

        Returns:
            str: A description of the task.

        Example Output:
            "Find the k-th positive integer not divisible by n."
        """
        return "Find the k-th positive integer not divisible by n (both are hidden)."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (int): The k-th positive integer not divisible by n.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: 10, Reference answer: 10, Result: Correct, reward=1"
        """
        ref_answer = self.get_ref_answer()
        correct = answer == ref_answer
        self._reward = 1 if correct else 0
        self._done = True
        msg = f"Your answer: {answer}, Reference answer: {ref_answer}, Result: {'Correct' if correct else 'Incorrect'}"
        return msg + f", reward={self._reward}"

    def _value(self, name, **parameters):
        observation = self.step(json.dumps({"name": name, "parameters": parameters}))[1]
        return int(re.search(r"= (\d+)$", observation).group(1))

    def _search(self, low, high, k):
        # The least x in [low, high] with at least k integers up to x not divisible by n.
        if low == high:
            return low
        middle = (low + high) // 2
        if self._value("CountUpTo", x=middle) >= k:
            return self._search(low, middle, k)
        return self._search(middle + 1, high, k)

    # Define the solve method of the environment
    def solve(self):
        r"""
        Automatically call all actions to complete the complete process, and submit the answer for verification.

        Returns:
            str: The result information of the final answer verification.
        """
        self._value("GetN")
        k = self._value("GetK")
        answer = self._search(1, 2 * k, k)
        return self.step(json.dumps({"name": "Done", "parameters": {"answer": answer}}))[1]


if __name__ == "__main__":
    env = KthNotDivisibleEnv.from_env_str('KthNotDivisibleEnv@{"n": 3, "k": 7}')
    print(env.solve())
    print("step count:", env.step_count)
