import ast
import json
from functools import cmp_to_key

import gymnasium


class LargestNumberEnv(gymnasium.Env):
    """Arrange hidden non-negative integers so that, written one after another, they form the largest number."""

    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_COUNT = 0
        self.GET_NUMBER = 1
        self.COMPARE_ORDER = 2
        self.OBSERVE = 3
        self.DONE = 4

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetCount": self.GET_COUNT,
            "GetNumber": self.GET_NUMBER,
            "CompareOrder": self.COMPARE_ORDER,
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
        prefix = "LargestNumberEnv@"
        if not env_str.startswith(prefix):
            return None
        return LargestNumberEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.numbers = options.get("numbers", [])
        self._reward = 0
        self._done = False
        self.step_count = 0
        return "Environment has been reset."

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        texts = sorted((str(n) for n in self.numbers), key=cmp_to_key(lambda a, b: -1 if a + b > b + a else 1))
        joined = "".join(texts)
        return joined.lstrip("0") or "0"

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

            if action_code == self.GET_COUNT:
                msg = self.GetCount()
            elif action_code == self.GET_NUMBER:
                if "index" in params:
                    msg = self.GetNumber(params["index"])
                else:
                    msg = "Error: 'index' parameter is missing for GET_NUMBER action."
            elif action_code == self.COMPARE_ORDER:
                if "first" in params and "second" in params:
                    msg = self.CompareOrder(params["first"], params["second"])
                else:
                    msg = "Error: 'first' or 'second' parameter is missing for COMPARE_ORDER action."
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
    def GetCount(self):
        r"""

        Return how many numbers are hidden.

        Args:
            None

        Returns:
            str: The count of numbers.

        Example Output:
            "5"
        """
        return str(len(self.numbers))

    def GetNumber(self, index: int):
        r"""

        Return one hidden number.

        Args:
            index (int): The position of the number, from 0.

        Returns:
            str: The number at that position.

        Example Output:
            "34"
        """
        if not isinstance(index, int) or index < 0 or index >= len(self.numbers):
            return f"Error: index {index} is out of range"
        return str(self.numbers[index])

    def CompareOrder(self, first: str, second: str):
        r"""

        Tell which of two orders of two numbers, written one after the other, gives the larger number.

        Args:
            first (str): One number, as digits.
            second (str): Another number, as digits.

        Returns:
            str: "first" if first+second is at least second+first, else "second".

        Example Output:
            "first"
        """
        first, second = str(first), str(second)
        if not (first.isdigit() and second.isdigit()):
            return "Error: both numbers must be digits"
        return "first" if first + second >= second + first else "second"

    def Observe(self):
        r"""

        Return what may be seen of the task.

        Args:
            None

        Returns:
            str: A description of the task.

        Example Output:
            "5 numbers are hidden; arrange them into the largest number."
        """
        return f"{len(self.numbers)} numbers are hidden; arrange them into the largest number."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (str): The largest number, as digits without leading zeros.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: 9534330, Reference answer: 9534330, Result: Correct, reward=1"
        """
        ref_answer = self.get_ref_answer()
        correct = str(answer) == ref_answer
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
        count = int(self.step(json.dumps({"name": "GetCount", "parameters": {}}))[1])
        numbers = [self.step(json.dumps({"name": "GetNumber", "parameters": {"index": i}}))[1] for i in range(count)]

        def compare(a, b):
            order = self.step(json.dumps({"name": "CompareOrder", "parameters": {"first": a, "second": b}}))[1]
            return -1 if order == "first" else 1

        joined = "".join(sorted(numbers, key=cmp_to_key(compare)))
        answer = joined.lstrip("0") or "0"
        return self.step(json.dumps({"name": "Done", "parameters": {"answer": answer}}))[1]


if __name__ == "__main__":
    env = LargestNumberEnv.from_env_str('LargestNumberEnv@{"numbers": [3, 30, 34, 5, 9]}')
    print(env.solve())
    print("step count:", env.step_count)
