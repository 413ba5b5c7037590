"""Search Insert Position (LeetCode 35) as a CodeGym-style environment."""

import ast
import json
import random

import gymnasium

CATEGORY = "searching"
DESCRIPTION = "Find where a target belongs in a hidden sorted array of distinct integers (LeetCode 35)."


def sample_config(seed, difficulty):
    """A task configuration from a seed and a difficulty in 0..=100."""
    rng = random.Random(seed * 1000 + difficulty)
    n = 8 + (600 - 8) * difficulty // 100
    values = sorted(rng.sample(range(-5 * n, 5 * n), n))
    if rng.random() < 0.5:
        target = rng.choice(values)
    else:
        target = rng.randrange(-5 * n - 2, 5 * n + 2)
    return {"nums": values, "target": target}


class SearchInsertPositionEnv(gymnasium.Env):
    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_LENGTH = 0
        self.GET_ELEMENT = 1
        self.GET_TARGET = 2
        self.COMPARE = 3
        self.OBSERVE = 4
        self.DONE = 5

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetLength": self.GET_LENGTH,
            "GetElement": self.GET_ELEMENT,
            "GetTarget": self.GET_TARGET,
            "Compare": self.COMPARE,
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
        prefix = "SearchInsertPositionEnv@"
        if not env_str.startswith(prefix):
            return None
        return SearchInsertPositionEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.nums = options.get("nums", [])
        self.target = options.get("target", 0)
        self._reward = 0
        self._done = False
        self.step_count = 0
        return (
            f"A sorted array of {len(self.nums)} distinct integers and a target are hidden. Find "
            "the index of the target, or the index where it would be inserted to keep the array "
            "sorted, and answer with Done."
        )

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        low, high = 0, len(self.nums)
        while low < high:
            mid = (low + high) // 2
            if self.nums[mid] < self.target:
                low = mid + 1
            else:
                high = mid
        return low

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

            if action_code == self.GET_LENGTH:
                msg = self.GetLength()
            elif action_code == self.GET_ELEMENT:
                if "index" in params:
                    msg = self.GetElement(params["index"])
                else:
                    msg = "Error: 'index' parameter is missing for GET_ELEMENT action."
            elif action_code == self.GET_TARGET:
                msg = self.GetTarget()
            elif action_code == self.COMPARE:
                if "a" in params and "b" in params:
                    msg = self.Compare(params["a"], params["b"])
                else:
                    msg = "Error: 'a' or 'b' parameter is missing for COMPARE action."
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
    def GetLength(self):
        r"""

        Return the number of elements in the hidden array.

        Args:
            None

        Returns:
            str: The length of the array.

        Example Output:
            "12"
        """
        return str(len(self.nums))

    def GetElement(self, index: int):
        r"""

        Return the element of the hidden array at the given index.

        Args:
            index (int): The index of the element, from 0.

        Returns:
            str: The element at that index.

        Example Output:
            "nums[3] = 17"
        """
        if not isinstance(index, int) or isinstance(index, bool):
            return "Error: index must be an integer"
        if index < 0 or index >= len(self.nums):
            return f"Error: index {index} is out of range"
        return f"nums[{index}] = {self.nums[index]}"

    def GetTarget(self):
        r"""

        Return the target value.

        Args:
            None

        Returns:
            str: The target.

        Example Output:
            "target = 5"
        """
        return f"target = {self.target}"

    def Compare(self, a: int, b: int):
        r"""

        Compare two integers.

        Args:
            a (int): The first integer.
            b (int): The second integer.

        Returns:
            str: "less", "equal" or "greater": how a compares to b.

        Example Output:
            "less"
        """
        if a < b:
            return "less"
        if a > b:
            return "greater"
        return "equal"

    def Observe(self):
        r"""

        Return what may be seen of the task: the array's length.

        Args:
            None

        Returns:
            str: A description of the hidden array.

        Example Output:
            "A sorted array of 12 distinct integers is hidden."
        """
        return f"A sorted array of {len(self.nums)} distinct integers is hidden."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (int): The insert position submitted by the user.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: 3, Reference answer: 3, Result: Correct, reward=1"
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
        n = int(self.step(json.dumps({"name": "GetLength", "parameters": {}}))[1])
        target = int(self.step(json.dumps({"name": "GetTarget", "parameters": {}}))[1].split("=")[1])
        low, high = 0, n
        while low < high:
            mid = (low + high) // 2
            value = int(self.step(json.dumps({"name": "GetElement", "parameters": {"index": mid}}))[1].split("=")[1])
            order = self.step(json.dumps({"name": "Compare", "parameters": {"a": value, "b": target}}))[1]
            if order == "less":
                low = mid + 1
            else:
                high = mid
        return self.step(json.dumps({"name": "Done", "parameters": {"answer": low}}))[1]


# Test the environment
if __name__ == "__main__":
    for seed in range(3):
        env = SearchInsertPositionEnv.from_env_str(f"SearchInsertPositionEnv@{sample_config(seed, 50)}")
        print(env.solve())
        print("step count:", env.step_count)
