"""The adapter's semantics, natively (no component): run by `cargo xtask test` with the
build venv's Python, `python -m unittest discover -s env-sdk/python/tests`.

What only a component can show (the sandbox's seal, faults, the WIT types) is tested in
the host (`host/tests/all/python.rs`); here, everything the adapter decides in Python."""

import importlib.util
import json
import os
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))

import codegym_adapter as adapter  # noqa: E402
from codegym_adapter.oracle import OracleError  # noqa: E402


def module_from_source(name, source):
    """A module from source text, written to a file (the oracle rewrite reads the source)."""
    directory = tempfile.mkdtemp(prefix="codegym-adapter-test-")
    path = os.path.join(directory, name + ".py")
    with open(path, "w") as file:
        file.write(textwrap.dedent(source))
    return module_from_file(name, path)


def module_from_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_oracle(config):
    """Drive `solve` against `step`, as the host does; the last step and the call count."""
    task = adapter.reset(config)
    adapter.oracle_start(task)
    observation, calls, last = "", 0, None
    while True:
        call = adapter.oracle_next(observation)
        if call is None:
            return last, calls
        calls += 1
        last = adapter.step(*call)
        observation = last[0]
        if last[2]:
            return last, calls


class ShippedEnvironments(unittest.TestCase):
    """Every `envs-py/*.py`: tools with schemas, configs deterministic, the oracle solves."""

    def test_each_oracle_solves_its_tasks(self):
        directory = os.path.join(ROOT, "envs-py")
        files = sorted(f for f in os.listdir(directory) if f.endswith(".py") and not f.startswith("_"))
        self.assertGreaterEqual(len(files), 5)
        for file in files:
            name = file[:-3]
            with self.subTest(env=name):
                module = module_from_file("env_" + name.replace("-", "_"), os.path.join(directory, file))
                adapter.load(module, name)
                env_name, _, description, category, tools = adapter.info()
                self.assertEqual(env_name, name)
                self.assertTrue(description and category)
                names = [tool[0] for tool in tools]
                self.assertIn("Observe", names)
                self.assertIn("Done", names)
                for _, _, schema in tools:
                    self.assertEqual(json.loads(schema)["type"], "object")
                for seed in range(3):
                    config = adapter.sample_config(seed, 50)
                    self.assertEqual(config, adapter.sample_config(seed, 50))
                    (observation, reward, done), calls = run_oracle(config)
                    self.assertEqual((reward, done), (1.0, True), observation)
                    self.assertTrue(10 <= calls <= 256, calls)
                    reference = adapter.reference_answer()
                    adapter.reset(config)
                    wrong = json.dumps({"answer": "certainly wrong"})
                    self.assertEqual(adapter.step("Done", wrong)[1:], (0.0, True), reference)


GYM_STYLE = textwrap.dedent('''
    """A gymnasium-style file: no func_mapping, no step of its own (the shim dispatches),
    a 5-tuple from step, type hints, and a solve() with a helper that calls step."""
    from typing import List, Optional

    import gymnasium

    CATEGORY = "arrays"


    def sample_config(seed, difficulty):
        return {"values": [seed, difficulty, 3]}


    class SumEnv(gymnasium.Env):
        """Sum a hidden list of integers."""

        def reset(self, options={}):
            self.values = options.get("values", [])
            self.done = False
            self.won = 0.0
            return None, {}

        def step(self, action):
            _, observation = super().step(action)
            return observation, self.won, self.done, False, {}

        def get_ref_answer(self):
            return sum(self.values)

        def Length(self) -> str:
            """The number of values."""
            return str(len(self.values))

        def Get(self, index: int) -> str:
            """One value.

            Args:
                index: which one, from 0.
            """
            return str(self.values[index])

        def AddAll(self, numbers: List[int], start: Optional[int] = 0) -> str:
            """Add numbers.

            Args:
                numbers (list[int]): The numbers to add, which may be
                    spread over two lines.
                start (int): Where to start.
            """
            return str(sum(numbers) + start)

        def Observe(self):
            """What may be seen."""
            return f"{len(self.values)} values"

        def Done(self, answer: int):
            """Submit the sum."""
            self.done = True
            self.won = 1.0 if answer == self.get_ref_answer() else -1.0
            return f"answer {answer}, reference {self.get_ref_answer()}"

        def read_all(self, count):
            values = []
            for index in range(count):
                observation, _, _, _, _ = self.step({"name": "Get", "parameters": {"index": index}})
                values.append(int(observation))
            return values

        def solve(self):
            count = int(self.step('{"name": "Length", "parameters": {}}')[0])
            values = self.read_all(count)
            total = int(self.step({"name": "AddAll", "parameters": {"numbers": values}})[0])
            return self.step({"name": "Done", "parameters": {"answer": total}})
''')


class GymnasiumStyle(unittest.TestCase):
    def setUp(self):
        adapter.load(module_from_source("gym_style", GYM_STYLE), "sum-env")

    def test_tools_and_schemas_come_from_methods_hints_and_docstrings(self):
        name, _, description, category, tools = adapter.info()
        self.assertEqual((name, description, category), ("sum-env", "Sum a hidden list of integers.", "arrays"))
        self.assertEqual([t[0] for t in tools], ["Length", "Get", "AddAll", "Observe", "Done"])
        add = json.loads(tools[2][2])
        self.assertEqual(add["properties"]["numbers"]["type"], "array")
        self.assertEqual(add["properties"]["numbers"]["items"], {"type": "integer"})
        self.assertIn("spread over two lines", add["properties"]["numbers"]["description"])
        self.assertEqual(add["properties"]["start"], {"type": "integer", "description": "Where to start.", "default": 0})
        self.assertEqual(add["required"], ["numbers"])
        self.assertEqual(json.loads(tools[1][2])["properties"]["index"]["type"], "integer")

    def test_the_oracle_goes_through_a_helper_and_five_tuples(self):
        (observation, reward, done), calls = run_oracle(adapter.sample_config(4, 7))
        self.assertEqual((reward, done), (1.0, True), observation)
        self.assertEqual(calls, 1 + 3 + 1 + 1)

    def test_the_task_defaults_to_the_description_and_errors_are_observations(self):
        task = adapter.reset(adapter.sample_config(1, 1))
        self.assertTrue(task.startswith("Sum a hidden list of integers."), task)
        self.assertEqual(adapter.step("Get", '{"index": 9}'), ("Error: list index out of range", 0.0, False))
        self.assertTrue(adapter.step("Get", "[1]")[0].startswith("Error: the arguments must be a JSON object"))
        self.assertTrue(adapter.step("Get", "{oops")[0].startswith("Error: the arguments are not JSON"))
        self.assertEqual(adapter.step("Nope", "{}")[0], "Error: unknown tool 'Nope'")
        # The file scores a wrong answer -1; the host's rewards are 0 or 1.
        self.assertEqual(adapter.step("Done", '{"answer": 0}')[1:], (0.0, True))
        with self.assertRaises(adapter.ResetError):
            adapter.reset("[1, 2]")


class Refusals(unittest.TestCase):
    def test_step_inside_a_comprehension_cannot_be_an_oracle(self):
        source = GYM_STYLE.replace(
            "values = self.read_all(count)",
            "values = [int(self.step({'name': 'Get', 'parameters': {'index': i}})[0]) for i in range(count)]",
        )
        with self.assertRaises(OracleError):
            adapter.load(module_from_source("comprehension", source), "c")

    def test_a_file_without_sample_config_needs_configs(self):
        source = GYM_STYLE.replace("def sample_config(seed, difficulty):", "def other(seed, difficulty):")
        module = module_from_source("no_sampler", source)
        with self.assertRaises(RuntimeError):
            adapter.load(module, "n")
        path = os.path.join(tempfile.mkdtemp(), "configs.jsonl")
        with open(path, "w") as file:
            file.write('{"values": [1, 2]}\n\n{"values": [5]}\n')
        adapter.load(module, "n", adapter.read_configs(path))
        configs = {adapter.sample_config(seed, 50) for seed in range(10)}
        self.assertEqual(configs, {'{"values": [1, 2]}', '{"values": [5]}'})

    def test_a_file_with_two_environment_classes_must_choose(self):
        source = GYM_STYLE + "\n\nclass Other(SumEnv):\n    pass\n"
        with self.assertRaises(RuntimeError):
            adapter.load(module_from_source("two_classes", source), "t")
        chosen = module_from_source("chosen", source + "\nENV_CLASS = Other\n")
        adapter.load(chosen, "t")
        self.assertEqual(adapter.info()[0], "t")


if __name__ == "__main__":
    unittest.main()
