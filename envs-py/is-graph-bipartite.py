"""Is Graph Bipartite? (LeetCode 785) as a CodeGym-style environment."""

import ast
import json
import random
from collections import deque

import gymnasium

CATEGORY = "graphs"
DESCRIPTION = "Decide whether a hidden undirected graph can be two-coloured (LeetCode 785)."


def sample_config(seed, difficulty):
    """A task configuration from a seed and a difficulty in 0..=100: a random bipartite graph,
    made odd-cycled half the time by one edge inside a side."""
    rng = random.Random(seed * 1000 + difficulty)
    n = 5 + (60 - 5) * difficulty // 100
    side = [rng.randrange(2) for _ in range(n)]
    edges = set()
    for node in range(1, n):
        # Keep it mostly connected: each node joins an earlier one of the other side if any.
        others = [m for m in range(node) if side[m] != side[node]]
        if others:
            edges.add((rng.choice(others), node))
    for _ in range(n // 2):
        a, b = rng.randrange(n), rng.randrange(n)
        if side[a] != side[b]:
            edges.add((min(a, b), max(a, b)))
    if rng.random() < 0.5:
        same = [(a, b) for a in range(n) for b in range(a + 1, n) if side[a] == side[b] and (a, b) not in edges]
        if same:
            edges.add(rng.choice(same))
    graph = [[] for _ in range(n)]
    for a, b in sorted(edges):
        graph[a].append(b)
        graph[b].append(a)
    return {"graph": [sorted(neighbours) for neighbours in graph]}


class IsGraphBipartiteEnv(gymnasium.Env):
    def __init__(self, env_str: str = None):
        super().__init__()

        # [Required] Define the action names
        self.GET_NODE_COUNT = 0
        self.GET_NEIGHBORS = 1
        self.OPPOSITE_COLOR = 2
        self.OBSERVE = 3
        self.DONE = 4

        # [Required] Define the action mapping
        self.func_mapping = {
            "GetNodeCount": self.GET_NODE_COUNT,
            "GetNeighbors": self.GET_NEIGHBORS,
            "OppositeColor": self.OPPOSITE_COLOR,
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
        prefix = "IsGraphBipartiteEnv@"
        if not env_str.startswith(prefix):
            return None
        return IsGraphBipartiteEnv(env_str=env_str)

    # [Required] Define the reset method of the environment
    def reset(self, options={}):
        self.graph = options.get("graph", [])
        self._reward = 0
        self._done = False
        self.step_count = 0
        return (
            f"An undirected graph of {len(self.graph)} nodes (0 to {len(self.graph) - 1}) is hidden. "
            "Decide whether its nodes can be coloured with two colours so that every edge joins "
            "different colours, and answer true or false with Done."
        )

    # [Required] Get the reference answer of the environment
    def get_ref_answer(self):
        r"""
        Use the information in the environment to get the reference answer.
        """
        color = [None] * len(self.graph)
        for start in range(len(self.graph)):
            if color[start] is not None:
                continue
            color[start] = 0
            queue = deque([start])
            while queue:
                node = queue.popleft()
                for neighbour in self.graph[node]:
                    if color[neighbour] is None:
                        color[neighbour] = 1 - color[node]
                        queue.append(neighbour)
                    elif color[neighbour] == color[node]:
                        return False
        return True

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

            if action_code == self.GET_NODE_COUNT:
                msg = self.GetNodeCount()
            elif action_code == self.GET_NEIGHBORS:
                if "node" in params:
                    msg = self.GetNeighbors(params["node"])
                else:
                    msg = "Error: 'node' parameter is missing for GET_NEIGHBORS action."
            elif action_code == self.OPPOSITE_COLOR:
                if "color" in params:
                    msg = self.OppositeColor(params["color"])
                else:
                    msg = "Error: 'color' parameter is missing for OPPOSITE_COLOR action."
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
    def GetNodeCount(self):
        r"""

        Return the number of nodes in the graph.

        Args:
            None

        Returns:
            str: The number of nodes.

        Example Output:
            "9"
        """
        return str(len(self.graph))

    def GetNeighbors(self, node: int):
        r"""

        Return the neighbours of a node.

        Args:
            node (int): The node, from 0.

        Returns:
            str: The node's neighbours as a JSON list.

        Example Output:
            "[1, 4, 6]"
        """
        if not isinstance(node, int) or isinstance(node, bool):
            return "Error: node must be an integer"
        if node < 0 or node >= len(self.graph):
            return f"Error: node {node} does not exist"
        return json.dumps(self.graph[node])

    def OppositeColor(self, color: int):
        r"""

        The other of the two colours 0 and 1.

        Args:
            color (int): A colour, 0 or 1.

        Returns:
            str: The opposite colour.

        Example Output:
            "1"
        """
        if color not in (0, 1):
            return "Error: color must be 0 or 1"
        return str(1 - color)

    def Observe(self):
        r"""

        Return what may be seen of the task: the number of nodes.

        Args:
            None

        Returns:
            str: A description of the graph.

        Example Output:
            "An undirected graph of 9 nodes."
        """
        return f"An undirected graph of {len(self.graph)} nodes."

    def Done(self, answer):
        r"""

        Verify whether the final answer is correct and return the result information.

        Args:
            answer (bool): Whether the graph is bipartite, submitted by the user.

        Returns:
            str: Result information, including correctness and reward details.

        Example Output:
            "Your answer: True, Reference answer: True, Result: Correct, reward=1"
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
        n = int(self.step(json.dumps({"name": "GetNodeCount", "parameters": {}}))[1])
        color = [None] * n
        bipartite = True
        for start in range(n):
            if color[start] is not None:
                continue
            color[start] = 0
            queue = deque([start])
            while queue:
                node = queue.popleft()
                neighbours = json.loads(self.step(json.dumps({"name": "GetNeighbors", "parameters": {"node": node}}))[1])
                other = None
                for neighbour in neighbours:
                    if color[neighbour] is None:
                        if other is None:
                            other = int(self.step(json.dumps({"name": "OppositeColor", "parameters": {"color": color[node]}}))[1])
                        color[neighbour] = other
                        queue.append(neighbour)
                    elif color[neighbour] == color[node]:
                        bipartite = False
        return self.step(json.dumps({"name": "Done", "parameters": {"answer": bipartite}}))[1]


# Test the environment
if __name__ == "__main__":
    for seed in range(4):
        env = IsGraphBipartiteEnv.from_env_str(f"IsGraphBipartiteEnv@{sample_config(seed, 50)}")
        print(env.solve())
        print("step count:", env.step_count)
