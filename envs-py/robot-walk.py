"""Walking Robot Simulation (after LeetCode 874) as a CodeGym-style environment."""

import ast
import json
import random

import gymnasium

CATEGORY = "simulation"
DESCRIPTION = "Simulate a robot on a grid with hidden obstacles and report where it ends up (after LeetCode 874)."

# North, east, south, west.
DIRECTIONS = [(0, 1), (1, 0), (0, -1), (-1, 0)]
NAMES = ["north", "east", "south", "west"]


def sample_config(seed, difficulty):
    """A task configuration from a seed and a difficulty in 0..=100."""
    rng = random.Random(seed * 1000 + difficulty)
    count = 5 + (80 - 5) * difficulty // 100
    commands = [rng.choice(["L", "R", "F", "F", "F"]) for _ in range(count)]
    obstacles = set()
    for _ in range(count // 2 + 2):
        cell = (rng.randrange(-6, 7), rng.randrange(-6, 7))
        if cell != (0, 0):
            obstacles.add(cell)
    return {"commands": "".join(commands), "obstacles": sorted([x, y] for x, y in obstacles)}


class RobotWalkEnv(gymnasium.Env):
    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_COMMAND_COUNT = 0
        self.GET_COMMAND = 1
        self.TURN = 2
        self.FORWARD = 3
        self.OBSERVE = 4
        self.DONE = 5

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetCommandCount": self.GET_COMMAND_COUNT,
            "GetCommand": self.GET_COMMAND,
            "Turn": self.TURN,
            "Forward": self.FORWARD,
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
        prefix = "RobotWalkEnv@"
        if not env_str.startswith(prefix):
            return None
        return RobotWalkEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.commands = options.get("commands", "")
        self.obstacles = set(tuple(cell) for cell in options.get("obstacles", []))
        self._reward = 0
        self._done = False
        self.step_count = 0
        return (
            f"A robot stands at (0, 0) facing north on a grid with hidden obstacles, and must run "
            f"{len(self.commands)} hidden commands: L and R turn it 90 degrees, F moves it one cell "
            "forward unless an obstacle is there (then it stays). Find its final position and "
            "answer [x, y] with Done."
        )

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        x, y, facing = 0, 0, 0
        for command in self.commands:
            if command == "L":
                facing = (facing + 3) % 4
            elif command == "R":
                facing = (facing + 1) % 4
            else:
                dx, dy = DIRECTIONS[facing]
                if (x + dx, y + dy) not in self.obstacles:
                    x, y = x + dx, y + dy
        return [x, y]

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

            if action_code == self.GET_COMMAND_COUNT:
                msg = self.GetCommandCount()
            elif action_code == self.GET_COMMAND:
                if "index" in params:
                    msg = self.GetCommand(params["index"])
                else:
                    msg = "Error: 'index' parameter is missing for GET_COMMAND action."
            elif action_code == self.TURN:
                if "facing" in params and "side" in params:
                    msg = self.Turn(params["facing"], params["side"])
                else:
                    msg = "Error: 'facing' or 'side' parameter is missing for TURN action."
            elif action_code == self.FORWARD:
                if "x" in params and "y" in params and "facing" in params:
                    msg = self.Forward(params["x"], params["y"], params["facing"])
                else:
                    msg = "Error: 'x', 'y' or 'facing' parameter is missing for FORWARD action."
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
    def GetCommandCount(self):
        r"""

        Return the number of commands.

        Args:
            None

        Returns:
            str: The number of commands.

        Example Output:
            "12"
        """
        return str(len(self.commands))

    def GetCommand(self, index: int):
        r"""

        Return one command: L (turn left), R (turn right) or F (one cell forward).

        Args:
            index (int): The command's index, from 0.

        Returns:
            str: The command.

        Example Output:
            "command 3 = F"
        """
        if not isinstance(index, int) or isinstance(index, bool):
            return "Error: index must be an integer"
        if index < 0 or index >= len(self.commands):
            return f"Error: index {index} is out of range"
        return f"command {index} = {self.commands[index]}"

    def Turn(self, facing: str, side: str):
        r"""

        The direction after turning 90 degrees.

        Args:
            facing (str): The current direction: north, east, south or west.
            side (str): "L" or "R".

        Returns:
            str: The new direction.

        Example Output:
            "west"
        """
        if facing not in NAMES:
            return "Error: facing must be north, east, south or west"
        if side not in ("L", "R"):
            return "Error: side must be L or R"
        turn = 3 if side == "L" else 1
        return NAMES[(NAMES.index(facing) + turn) % 4]

    def Forward(self, x: int, y: int, facing: str):
        r"""

        Try to move one cell forward from (x, y); an obstacle there keeps the robot in place.

        Args:
            x (int): The current x.
            y (int): The current y.
            facing (str): The current direction: north, east, south or west.

        Returns:
            str: The position after the move, as "x y".

        Example Output:
            "1 2"
        """
        if facing not in NAMES:
            return "Error: facing must be north, east, south or west"
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (x, y)):
            return "Error: x and y must be integers"
        dx, dy = DIRECTIONS[NAMES.index(facing)]
        if (x + dx, y + dy) in self.obstacles:
            return f"{x} {y}"
        return f"{x + dx} {y + dy}"

    def Observe(self):
        r"""

        Return what may be seen of the task: the number of commands.

        Args:
            None

        Returns:
            str: A description of the task.

        Example Output:
            "12 commands; the robot starts at (0, 0) facing north."
        """
        return f"{len(self.commands)} commands; the robot starts at (0, 0) facing north."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (list[int]): The final position [x, y], submitted by the user.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: [1, 2], Reference answer: [1, 2], Result: Correct, reward=1"
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
        n = int(self.step(json.dumps({"name": "GetCommandCount", "parameters": {}}))[1])
        x, y, facing = 0, 0, "north"
        for index in range(n):
            command = self.step(json.dumps({"name": "GetCommand", "parameters": {"index": index}}))[1].split("=")[1].strip()
            if command == "F":
                moved = self.step(json.dumps({"name": "Forward", "parameters": {"x": x, "y": y, "facing": facing}}))[1]
                x, y = (int(v) for v in moved.split())
            else:
                facing = self.step(json.dumps({"name": "Turn", "parameters": {"facing": facing, "side": command}}))[1]
        return self.step(json.dumps({"name": "Done", "parameters": {"answer": [x, y]}}))[1]


# Test the environment
if __name__ == "__main__":
    for seed in range(3):
        env = RobotWalkEnv.from_env_str(f"RobotWalkEnv@{sample_config(seed, 50)}")
        print(env.solve())
        print("step count:", env.step_count)
