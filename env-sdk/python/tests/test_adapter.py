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

import codegym_build  # noqa: E402  (before the adapter, whose sandbox refuses subprocess)
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


def with_solve(body, name):
    """A module of GYM_STYLE with `solve` (its last method) replaced by `body`."""
    head = GYM_STYLE[: GYM_STYLE.index("    def solve(self):\n")]
    return module_from_source(name, head + "    def solve(self):\n" + textwrap.indent(textwrap.dedent(body), " " * 8))


class OracleByReExecution(unittest.TestCase):
    """`solve()` is ordinary Python: every way of reaching `self.step` works."""

    PATTERNS = {
        "comprehension": """
            count = int(self.step('{"name": "Length", "parameters": {}}')[0])
            values = [int(self.step({"name": "Get", "parameters": {"index": i}})[0]) for i in range(count)]
            return self.step({"name": "Done", "parameters": {"answer": sum(values)}})
        """,
        "nested_function_and_alias": """
            step = self.step

            def get(index):
                return int(step({"name": "Get", "parameters": {"index": index}})[0])

            count = int(step('{"name": "Length", "parameters": {}}')[0])
            return step({"name": "Done", "parameters": {"answer": sum(map(get, range(count)))}})
        """,
        "recursion_and_lambda": """
            get = lambda i: int(self.step(action={"name": "Get", "parameters": {"index": i}})[0])

            def total(i, count):
                return 0 if i == count else get(i) + total(i + 1, count)

            count = int(self.step('{"name": "Length", "parameters": {}}')[0])
            return self.step({"name": "Done", "parameters": {"answer": total(0, count)}})
        """,
        "exceptions_caught_as_exception": """
            count = int(self.step('{"name": "Length", "parameters": {}}')[0])
            answer = 0
            for i in range(count + 2):
                try:
                    answer += int(self.step({"name": "Get", "parameters": {"index": i}})[0])
                except Exception:
                    pass  # past the end: "Error: ..." is not an int
            return self.step({"name": "Done", "parameters": {"answer": answer}})
        """,
        "global_random": """
            import random

            count = int(self.step('{"name": "Length", "parameters": {}}')[0])
            order = random.sample(range(count), count)
            values = [int(self.step({"name": "Get", "parameters": {"index": i}})[0]) for i in order]
            return self.step({"name": "Done", "parameters": {"answer": sum(values)}})
        """,
    }

    def test_every_pattern_solves(self):
        for name, body in self.PATTERNS.items():
            with self.subTest(pattern=name):
                adapter.load(with_solve(body, "pattern_" + name), "p")
                (observation, reward, done), calls = run_oracle(adapter.sample_config(4, 7))
                self.assertEqual((reward, done), (1.0, True), observation)
                extra = 2 if name == "exceptions_caught_as_exception" else 0
                self.assertEqual(calls, 1 + 3 + extra + 1)

    def test_the_oracle_sees_observations_only(self):
        adapter.load(with_solve("return self.step({'name': 'Done', 'parameters': {'answer': sum(self.values)}})", "peek"), "p")
        (observation, reward, done), calls = run_oracle(adapter.sample_config(4, 7))
        self.assertEqual((reward, calls), (0.0, 1), "the oracle's instance has no config")

    def failure(self, body, name):
        adapter.load(with_solve(body, name), "p")
        adapter.reset(adapter.sample_config(4, 7))
        adapter.oracle_start("")
        observation = ""
        with self.assertRaises(OracleError) as raised:
            for _ in range(10):
                call = adapter.oracle_next(observation)
                observation = adapter.step(*call)[0]
        self.assertIsNone(adapter.oracle_next(observation), "a failed oracle stays finished")
        return str(raised.exception)

    def test_a_swallowed_signal_is_an_error(self):
        message = self.failure(
            """
            for attempt in range(3):
                try:
                    return self.step({"name": "Done", "parameters": {"answer": 0}})
                except:  # noqa: E722
                    pass
            return "gave up"
            """,
            "bare_except",
        )
        self.assertIn("caught the oracle's signal", message)
        message = self.failure(
            """
            try:
                self.step('{"name": "Length", "parameters": {}}')
            except BaseException:
                return "gave up"
            """,
            "base_exception",
        )
        self.assertIn("caught the oracle's signal at call 1 and returned", message)

    def test_an_oracle_that_changes_its_mind_is_an_error(self):
        adapter.load(with_solve("pass", "placeholder"), "p")
        message = self.failure(
            """
            self.runs = getattr(type(self), "runs", 0) + 1
            type(self).runs = self.runs
            self.step({"name": "Get", "parameters": {"index": self.runs % 2}})
            self.step({"name": "Get", "parameters": {"index": 0}})
            """,
            "fickle",
        )
        self.assertIn("not a function of its observations: call 1", message)

    def test_an_exception_in_solve_is_an_error(self):
        message = self.failure("self.step('{\"name\": \"Length\", \"parameters\": {}}')\nraise KeyError('oops')", "raises")
        self.assertIn("solve() raised KeyError", message)
        message = self.failure("self.step(42)", "not_a_call")
        self.assertIn("not a tool call", message)


CODEGYM = os.path.join(ROOT, "tests", "envs-py", "codegym")


class CodeGymFiles(unittest.TestCase):
    """The fixtures in CodeGym's own style (`tests/envs-py/codegym`): no `sample_config`,
    configs from their JSONL files; the oracle solves every one."""

    def test_each_oracle_solves_every_config(self):
        files = sorted(f for f in os.listdir(CODEGYM) if f.endswith(".py"))
        self.assertGreaterEqual(len(files), 5)
        for file in files:
            with self.subTest(file=file):
                module = module_from_file("codegym_" + file[:-3].lower(), os.path.join(CODEGYM, file))
                self.assertFalse(hasattr(module, "sample_config"))
                configs = codegym_build.read_configs(os.path.join(CODEGYM, file[:-3] + ".jsonl"))
                adapter.load(module, "x", configs)
                seen = set()
                for seed in range(len(configs)):
                    config = adapter.sample_config(seed, 50)
                    seen.add(config)
                    (observation, reward, done), calls = run_oracle(config)
                    self.assertEqual((reward, done), (1.0, True), observation)
                    adapter.reset(config)
                    self.assertEqual(adapter.step("Done", json.dumps({"answer": "wrong"}))[1:], (0.0, True))
                self.assertEqual(seen, set(configs), "seeds 0..n pick every config")


class Configs(unittest.TestCase):
    def write(self, text):
        path = os.path.join(tempfile.mkdtemp(), "configs.jsonl")
        with open(path, "w") as file:
            file.write(text)
        return path

    def test_a_file_without_sample_config_needs_configs(self):
        source = GYM_STYLE.replace("def sample_config(seed, difficulty):", "def other(seed, difficulty):")
        module = module_from_source("no_sampler", source)
        with self.assertRaises(RuntimeError):
            adapter.load(module, "n")
        configs = codegym_build.read_configs(self.write('{"values": [1, 2]}\n\n{"values": [5]}\n'))
        adapter.load(module, "n", configs)
        configs = {adapter.sample_config(seed, 50) for seed in range(10)}
        self.assertEqual(configs, {'{"values":[1,2]}', '{"values":[5]}'})

    def test_bad_configs_files_are_clear_errors(self):
        cases = [
            ('{"a": 1}\n{"a": \n', ":2: not JSON"),
            ('{"a": 1}\n[1, 2]\n', ":2: a config must be a JSON object, not list"),
            ("\n  \n", "no configs"),
        ]
        for text, expected in cases:
            with self.subTest(expected=expected):
                with self.assertRaises(codegym_build.BuildError) as raised:
                    codegym_build.read_configs(self.write(text))
                self.assertIn(expected, str(raised.exception))
        with self.assertRaises(codegym_build.BuildError) as raised:
            codegym_build.read_configs("/no/such/configs.jsonl")
        self.assertIn("cannot read the configs file /no/such/configs.jsonl", str(raised.exception))


class Refusals(unittest.TestCase):

    def test_a_file_with_two_environment_classes_must_choose(self):
        source = GYM_STYLE + "\n\nclass Other(SumEnv):\n    pass\n"
        with self.assertRaises(RuntimeError):
            adapter.load(module_from_source("two_classes", source), "t")
        chosen = module_from_source("chosen", source + "\nENV_CLASS = Other\n")
        adapter.load(chosen, "t")
        self.assertEqual(adapter.info()[0], "t")


class SharedRuntime(unittest.TestCase):
    """`prepare` then `load_prepared`, as the shared runtime runs them: an environment as data
    behaves as the same file loaded directly."""

    def setUp(self):
        adapter._SPEC = None

    def fresh(self):
        """What a new instance of the runtime is: no environment yet (the module's state is
        per instance in the component; here the test resets it)."""
        adapter._SPEC = None

    def test_a_prepared_file_behaves_as_the_file(self):
        path = os.path.join(ROOT, "envs-py", "house-robber.py")
        with open(path) as file:
            source = file.read()
        info, spec, code = adapter.prepare("house-robber", "house-robber.py", source, False)
        learnt = json.loads(info)
        self.assertEqual(learnt["name"], "house-robber")
        self.assertIn("Observe", [tool["name"] for tool in learnt["tools"]])
        direct = module_from_file("direct_house_robber", path)
        adapter._SPEC = None
        adapter.load(direct, "house-robber")
        expected = adapter.info()
        config = adapter.sample_config(3, 50)
        (observation, reward, done), calls = run_oracle(config)
        self.fresh()
        adapter.load_prepared(info, spec, code)
        self.assertEqual(run_oracle(config), ((observation, reward, done), calls))
        self.assertEqual(adapter.info(), expected)
        self.assertEqual(adapter.sample_config(3, 50), config)
        with self.assertRaises(adapter.PrepareError) as raised:
            adapter.load_prepared(info, spec, code)
        self.assertIn("already holds", str(raised.exception))

    def test_a_codegym_file_is_prepared_without_configs_of_its_own(self):
        file = "LeetCode_0739_A__DailyTemperaturesEnv.py"
        with open(os.path.join(CODEGYM, file)) as handle:
            source = handle.read()
        with self.assertRaises(adapter.PrepareError) as raised:
            adapter.prepare("daily", file, source, False)
        self.assertIn("no `sample_config", str(raised.exception))
        self.fresh()
        info, spec, code = adapter.prepare("daily", file, source, True)
        self.fresh()
        adapter.load_prepared(info, spec, code)
        configs = codegym_build.read_configs(os.path.join(CODEGYM, file[:-3] + ".jsonl"))
        with self.assertRaises(RuntimeError):
            adapter.sample_config(0, 50)  # the host serves a package's configs
        (_, reward, done), _ = run_oracle(configs[0])
        self.assertEqual((reward, done), (1.0, True))

    def test_broken_sources_are_clear_errors(self):
        cases = [
            ("def broken(:\n", "broken.py:1:"),
            ("raise ValueError('at import')\n", "ValueError: at import"),
            ("x = 1\n", "want exactly one environment class"),
        ]
        for source, expected in cases:
            with self.subTest(expected=expected):
                self.fresh()
                with self.assertRaises(adapter.PrepareError) as raised:
                    adapter.prepare("broken", "broken.py", source, True)
                self.assertIn(expected, str(raised.exception))


if __name__ == "__main__":
    unittest.main()
