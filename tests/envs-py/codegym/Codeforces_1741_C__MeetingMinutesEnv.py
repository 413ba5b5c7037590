import ast
import json
from datetime import datetime

import gymnasium

TIME_FORMAT = "%Y-%m-%d %H:%M"


class MeetingMinutesEnv(gymnasium.Env):
    """Add up the minutes of a hidden list of meetings, each given by its start and end time."""

    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetMeetingCount": self.GetMeetingCount,
            "GetMeeting": self.GetMeeting,
            "MinutesBetween": self.MinutesBetween,
            "Add": self.Add,
            "Observe": self.Observe,
            "Done": self.Done,
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
        prefix = "MeetingMinutesEnv@"
        if not env_str.startswith(prefix):
            return None
        return MeetingMinutesEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.meetings = options.get("meetings", [])
        self._reward = 0
        self._done = False
        self.step_count = 0
        return "Environment has been reset."

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        total = 0
        for start, end in self.meetings:
            delta = datetime.strptime(end, TIME_FORMAT) - datetime.strptime(start, TIME_FORMAT)
            total += int(delta.total_seconds()) // 60
        return total

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
            if action_name not in self.func_mapping:
                raise ValueError(f"Invalid action: {action_name}")
            msg = self.func_mapping[action_name](**call_dict["parameters"])
        except Exception as e:
            msg = f"Error: {str(e)}"
        return True, msg

    # All the actions of the environment
    def GetMeetingCount(self):
        r"""

        Return how many meetings there are.

        Args:
            None

        Returns:
            str: The number of meetings.

        Example Output:
            "4"
        """
        return str(len(self.meetings))

    def GetMeeting(self, index: int):
        r"""

        Return the start and end time of one meeting.

        Args:
            index (int): The meeting's position in the list, from 0.

        Returns:
            str: The start and end, as "YYYY-MM-DD HH:MM -> YYYY-MM-DD HH:MM".

        Example Output:
            "2024-03-05 09:30 -> 2024-03-05 10:15"
        """
        if not isinstance(index, int) or index < 0 or index >= len(self.meetings):
            return f"Error: index {index} is out of range"
        start, end = self.meetings[index]
        return f"{start} -> {end}"

    def MinutesBetween(self, start: str, end: str):
        r"""

        The number of minutes from one time to another.

        Args:
            start (str): The first time, as "YYYY-MM-DD HH:MM".
            end (str): The second time, as "YYYY-MM-DD HH:MM".

        Returns:
            str: The minutes from start to end.

        Example Output:
            "45"
        """
        try:
            delta = datetime.strptime(end, TIME_FORMAT) - datetime.strptime(start, TIME_FORMAT)
        except ValueError as error:
            return f"Error: {error}"
        return str(int(delta.total_seconds()) // 60)

    def Add(self, a: int, b: int):
        r"""

        Add two integers.

        Args:
            a (int): The first integer.
            b (int): The second integer.

        Returns:
            str: The sum.

        Example Output:
            "105"
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
            "4 meetings are hidden; add up their minutes."
        """
        return f"{len(self.meetings)} meetings are hidden; add up their minutes."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (int): The total minutes of all meetings.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: 105, Reference answer: 105, Result: Correct, reward=1"
        """
        ref_answer = self.get_ref_answer()
        correct = answer == ref_answer
        self._reward = 1 if correct else 0
        self._done = True
        msg = f"Your answer: {answer}, Reference answer: {ref_answer}, Result: {'Correct' if correct else 'Incorrect'}"
        return msg + f", reward={self._reward}"

    def _minutes(self, meeting):
        start, end = meeting.split(" -> ")
        return int(self.step(json.dumps({"name": "MinutesBetween", "parameters": {"start": start, "end": end}}))[1])

    # Define the solve method of the environment
    def solve(self):
        r"""
        Automatically call all actions to complete the complete process, and submit the answer for verification.

        Returns:
            str: The result information of the final answer verification.
        """
        step = self.step
        count = int(step(json.dumps({"name": "GetMeetingCount", "parameters": {}}))[1])
        total, index = 0, 0
        while index < count:
            meeting = step(json.dumps({"name": "GetMeeting", "parameters": {"index": index}}))[1]
            minutes = self._minutes(meeting)
            total = int(step(json.dumps({"name": "Add", "parameters": {"a": total, "b": minutes}}))[1])
            index += 1
        return step(json.dumps({"name": "Done", "parameters": {"answer": total}}))[1]


if __name__ == "__main__":
    env = MeetingMinutesEnv.from_env_str(
        'MeetingMinutesEnv@{"meetings": [["2024-03-05 09:30", "2024-03-05 10:15"], ["2024-03-05 23:50", "2024-03-06 00:20"]]}'
    )
    print(env.solve())
    print("step count:", env.step_count)
