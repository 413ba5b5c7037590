import ast
import json

import gymnasium


class DailyTemperaturesEnv(gymnasium.Env):
    """For each day of a hidden list of temperatures, find how many days until a warmer one (0 if none)."""

    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_LENGTH = 0
        self.GET_TEMPERATURE = 1
        self.OBSERVE = 2
        self.DONE = 3

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetLength": self.GET_LENGTH,
            "GetTemperature": self.GET_TEMPERATURE,
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
        prefix = "DailyTemperaturesEnv@"
        if not env_str.startswith(prefix):
            return None
        return DailyTemperaturesEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.temperatures = options.get("temperatures", [])
        self._reward = 0
        self._done = False
        self.step_count = 0
        return "Environment has been reset."

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        waits = [0] * len(self.temperatures)
        for day, temperature in enumerate(self.temperatures):
            for later in range(day + 1, len(self.temperatures)):
                if self.temperatures[later] > temperature:
                    waits[day] = later - day
                    break
        return waits

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
            elif action_code == self.GET_TEMPERATURE:
                if "day" in params:
                    msg = self.GetTemperature(params["day"])
                else:
                    msg = "Error: 'day' parameter is missing for GET_TEMPERATURE action."
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

        Return the number of days.

        Args:
            None

        Returns:
            str: The number of days.

        Example Output:
            "8"
        """
        return str(len(self.temperatures))

    def GetTemperature(self, day: int):
        r"""

        Return the temperature of one day.

        Args:
            day (int): The day, from 0.

        Returns:
            str: That day's temperature.

        Example Output:
            "73"
        """
        if not isinstance(day, int) or day < 0 or day >= len(self.temperatures):
            raise IndexError(f"day {day} is out of range")
        return str(self.temperatures[day])

    def Observe(self):
        r"""

        Return what may be seen of the task.

        Args:
            None

        Returns:
            str: A description of the task.

        Example Output:
            "Temperatures of 8 days are hidden."
        """
        import textwrap

        return textwrap.shorten(
            f"Temperatures of {len(self.temperatures)} days are hidden; for each day, answer how many days "
            "pass until a warmer one (0 if none comes).",
            width=120,
        )

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (list[int]): The days to wait after each day.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: [1, 1, 0], Reference answer: [1, 1, 0], Result: Correct, reward=1"
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
        call = lambda name, **parameters: self.step(json.dumps({"name": name, "parameters": parameters}))[1]
        days = int(call("GetLength"))
        temperature = lambda day: int(call("GetTemperature", day=day))
        waits, stack = [0] * days, []
        for day in reversed(range(days)):
            try:
                today = temperature(day)
            except ValueError:
                today = 0
            while stack and stack[-1][0] <= today:
                stack.pop()
            waits[day] = stack[-1][1] - day if stack else 0
            stack.append((today, day))
        return call("Done", answer=waits)


if __name__ == "__main__":
    env = DailyTemperaturesEnv.from_env_str('DailyTemperaturesEnv@{"temperatures": [73, 74, 75, 71, 69, 72, 76, 73]}')
    print(env.solve())
    print("step count:", env.step_count)
