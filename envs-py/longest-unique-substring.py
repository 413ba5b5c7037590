"""Longest Substring Without Repeating Characters (LeetCode 3) as a CodeGym-style environment."""

import ast
import json
import random

import gymnasium

CATEGORY = "strings"
DESCRIPTION = "Find the length of the longest substring without repeated characters in a hidden string (LeetCode 3)."


def sample_config(seed, difficulty):
    """A task configuration from a seed and a difficulty in 0..=100."""
    rng = random.Random(seed * 1000 + difficulty)
    n = 6 + (120 - 6) * difficulty // 100
    alphabet = "abcdefghijklmnopqrstuvwxyz"[: 4 + 22 * difficulty // 100]
    return {"s": "".join(rng.choice(alphabet) for _ in range(n))}


class LongestUniqueSubstringEnv(gymnasium.Env):
    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_LENGTH = 0
        self.GET_CHAR = 1
        self.LAST_SEEN = 2
        self.OBSERVE = 3
        self.DONE = 4

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetLength": self.GET_LENGTH,
            "GetChar": self.GET_CHAR,
            "LastSeen": self.LAST_SEEN,
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
        prefix = "LongestUniqueSubstringEnv@"
        if not env_str.startswith(prefix):
            return None
        return LongestUniqueSubstringEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.s = options.get("s", "")
        self._reward = 0
        self._done = False
        self.step_count = 0
        return (
            f"A string of {len(self.s)} lowercase letters is hidden. Find the length of its longest "
            "substring in which no character repeats, and answer with Done."
        )

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        last = {}
        start = 0
        best = 0
        for index, char in enumerate(self.s):
            if last.get(char, -1) >= start:
                start = last[char] + 1
            last[char] = index
            best = max(best, index - start + 1)
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

            if action_code == self.GET_LENGTH:
                msg = self.GetLength()
            elif action_code == self.GET_CHAR:
                if "index" in params:
                    msg = self.GetChar(params["index"])
                else:
                    msg = "Error: 'index' parameter is missing for GET_CHAR action."
            elif action_code == self.LAST_SEEN:
                if "char" in params and "before" in params:
                    msg = self.LastSeen(params["char"], params["before"])
                else:
                    msg = "Error: 'char' or 'before' parameter is missing for LAST_SEEN action."
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

        Return the length of the hidden string.

        Args:
            None

        Returns:
            str: The number of characters.

        Example Output:
            "14"
        """
        return str(len(self.s))

    def GetChar(self, index: int):
        r"""

        Return the character at an index of the hidden string.

        Args:
            index (int): The index, from 0.

        Returns:
            str: The character there.

        Example Output:
            "s[4] = 'c'"
        """
        if not isinstance(index, int) or isinstance(index, bool):
            return "Error: index must be an integer"
        if index < 0 or index >= len(self.s):
            return f"Error: index {index} is out of range"
        return f"s[{index}] = {self.s[index]!r}"

    def LastSeen(self, char: str, before: int):
        r"""

        Return the last index before a position where a character occurs in the hidden string.

        Args:
            char (str): The character to look for.
            before (int): Search indices strictly below this one.

        Returns:
            str: The index of its last occurrence, or -1 if there is none.

        Example Output:
            "2"
        """
        if not isinstance(char, str) or len(char) != 1:
            return "Error: char must be a single character"
        if not isinstance(before, int) or isinstance(before, bool):
            return "Error: before must be an integer"
        return str(self.s.rfind(char, 0, max(0, min(before, len(self.s)))))

    def Observe(self):
        r"""

        Return what may be seen of the task: the string's length.

        Args:
            None

        Returns:
            str: A description of the hidden string.

        Example Output:
            "A hidden string of 14 characters."
        """
        return f"A hidden string of {len(self.s)} characters."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (int): The length of the longest substring without repeats, submitted by the user.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: 5, Reference answer: 5, Result: Correct, reward=1"
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
        start = 0
        best = 0
        for index in range(n):
            char = self.step(json.dumps({"name": "GetChar", "parameters": {"index": index}}))[1].split("=")[1].strip()[1:-1]
            last = int(self.step(json.dumps({"name": "LastSeen", "parameters": {"char": char, "before": index}}))[1])
            if last >= start:
                start = last + 1
            best = max(best, index - start + 1)
        return self.step(json.dumps({"name": "Done", "parameters": {"answer": best}}))[1]


# Test the environment
if __name__ == "__main__":
    for seed in range(3):
        env = LongestUniqueSubstringEnv.from_env_str(f"LongestUniqueSubstringEnv@{sample_config(seed, 50)}")
        print(env.solve())
        print("step count:", env.step_count)
