"""House Robber (LeetCode 198) as a CodeGym-style environment."""

import ast
import json
import random

import gymnasium

CATEGORY = "dynamic-programming"
DESCRIPTION = "Rob a hidden street of houses for the most money without robbing two neighbours (LeetCode 198)."


def sample_config(seed, difficulty):
    """A task configuration from a seed and a difficulty in 0..=100."""
    rng = random.Random(seed * 1000 + difficulty)
    n = 4 + (60 - 4) * difficulty // 100
    return {"money": [rng.randrange(0, 100) for _ in range(n)]}


class HouseRobberEnv(gymnasium.Env):
    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_HOUSE_COUNT = 0
        self.GET_MONEY = 1
        self.ADD = 2
        self.MAX = 3
        self.OBSERVE = 4
        self.DONE = 5

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetHouseCount": self.GET_HOUSE_COUNT,
            "GetMoney": self.GET_MONEY,
            "Add": self.ADD,
            "Max": self.MAX,
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
        prefix = "HouseRobberEnv@"
        if not env_str.startswith(prefix):
            return None
        return HouseRobberEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.money = options.get("money", [])
        self._reward = 0
        self._done = False
        self.step_count = 0
        return (
            f"A street of {len(self.money)} houses is hidden, each holding some money. Robbing two "
            "adjacent houses alerts the police. Find the most money you can rob and answer with Done."
        )

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        previous, best = 0, 0
        for amount in self.money:
            previous, best = best, max(best, previous + amount)
        return best

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

            if action_code == self.GET_HOUSE_COUNT:
                msg = self.GetHouseCount()
            elif action_code == self.GET_MONEY:
                if "index" in params:
                    msg = self.GetMoney(params["index"])
                else:
                    msg = "Error: 'index' parameter is missing for GET_MONEY action."
            elif action_code == self.ADD:
                if "a" in params and "b" in params:
                    msg = self.Add(params["a"], params["b"])
                else:
                    msg = "Error: 'a' or 'b' parameter is missing for ADD action."
            elif action_code == self.MAX:
                if "a" in params and "b" in params:
                    msg = self.Max(params["a"], params["b"])
                else:
                    msg = "Error: 'a' or 'b' parameter is missing for MAX action."
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
    def GetHouseCount(self):
        r"""

        Return the number of houses on the street.

        Args:
            None

        Returns:
            str: The number of houses.

        Example Output:
            "7"
        """
        return str(len(self.money))

    def GetMoney(self, index: int):
        r"""

        Return the money in one house.

        Args:
            index (int): The house's index, from 0.

        Returns:
            str: The money in that house.

        Example Output:
            "house 2 holds 41"
        """
        if not isinstance(index, int) or isinstance(index, bool):
            return "Error: index must be an integer"
        if index < 0 or index >= len(self.money):
            return f"Error: index {index} is out of range"
        return f"house {index} holds {self.money[index]}"

    def Add(self, a: int, b: int):
        r"""

        Add two integers.

        Args:
            a (int): The first integer.
            b (int): The second integer.

        Returns:
            str: The sum a + b.

        Example Output:
            "58"
        """
        return str(a + b)

    def Max(self, a: int, b: int):
        r"""

        The larger of two integers.

        Args:
            a (int): The first integer.
            b (int): The second integer.

        Returns:
            str: max(a, b).

        Example Output:
            "41"
        """
        return str(max(a, b))

    def Observe(self):
        r"""

        Return what may be seen of the task: the number of houses.

        Args:
            None

        Returns:
            str: A description of the street.

        Example Output:
            "A street of 7 houses."
        """
        return f"A street of {len(self.money)} houses."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (int): The most money that can be robbed, submitted by the user.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: 120, Reference answer: 120, Result: Correct, reward=1"
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
        n = int(self.step(json.dumps({"name": "GetHouseCount", "parameters": {}}))[1])
        previous, best = 0, 0
        for index in range(n):
            observation = self.step(json.dumps({"name": "GetMoney", "parameters": {"index": index}}))[1]
            amount = int(observation.split()[-1])
            robbed = int(self.step(json.dumps({"name": "Add", "parameters": {"a": previous, "b": amount}}))[1])
            new_best = int(self.step(json.dumps({"name": "Max", "parameters": {"a": best, "b": robbed}}))[1])
            previous, best = best, new_best
        return self.step(json.dumps({"name": "Done", "parameters": {"answer": best}}))[1]


# Test the environment
if __name__ == "__main__":
    for seed in range(3):
        env = HouseRobberEnv.from_env_str(f"HouseRobberEnv@{sample_config(seed, 50)}")
        print(env.solve())
        print("step count:", env.step_count)
