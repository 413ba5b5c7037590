"""The blocking client against a real `codegym serve`."""

from __future__ import annotations

import pytest

from codegym import (
    BadRequestError,
    Client,
    CodeGymError,
    NotFoundError,
    StepResult,
    TooManySessionsError,
    TransportError,
)

from .conftest import start_server
from .helpers import parse_task, play


def test_envs_lists_the_real_environments(client: Client) -> None:
    assert client.health() == {"status": "ok"}
    envs = {env["name"]: env for env in client.envs()}
    assert len(envs) >= 10
    assert envs["binary-search"]["category"] == "searching"
    info = client.env_info("binary-search")
    assert len(info["hash"]) == 64
    tools = {tool["name"]: tool for tool in info["tools"]}
    assert {"Length", "Get", "Midpoint", "Observe", "Done"} <= set(tools)
    assert tools["Get"]["parameters"]["required"] == ["index"]
    assert "/v1/step" in client.openapi()["paths"]
    with pytest.raises(NotFoundError) as error:
        client.env_info("no-such-env")
    assert error.value.status == 404


def test_make_reset_and_step_with_tool_calls(client: Client) -> None:
    with client.make("binary-search", seed=1) as env:
        observation, info = env.reset()
        assert observation == env.task and "hidden" in observation
        assert info["session_id"] == env.id and info["seed"] == 1
        assert "Get" in {tool["name"] for tool in info["tools"]}
        length, target = parse_task(observation)

        result = env.step({"name": "Length", "arguments": {}})
        assert isinstance(result, StepResult)
        observation, reward, terminated, truncated, info = result
        assert (observation, reward, terminated, truncated) == (str(length), 0.0, False, False)
        assert info["steps"] == 1 and info["session_id"] == env.id

        # CodeGym's own spelling, arguments as JSON text, and an OpenAI tool call.
        assert env.step({"name": "Midpoint", "parameters": {"low": 0, "high": 10}}).observation == "5"
        assert env.step({"name": "Midpoint", "arguments": '{"low": 2, "high": 4}'}).observation == "3"
        call = {"type": "function", "function": {"name": "Observe", "arguments": "{}"}}
        assert str(target) in env.step(call).observation
        assert env.steps == 4 and not env.done
        assert [c["name"] for c in env.log()["log"]["calls"]] == ["Length", "Midpoint", "Midpoint", "Observe"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_hand_written_binary_search_solves_episodes(client: Client, seed: int) -> None:
    with client.make("binary-search", seed=seed) as env:
        task, _ = env.reset()
        observation, reward, terminated, truncated, info = play(env, task)
        assert (reward, terminated, truncated) == (1.0, True, False), observation
        assert info["outcome"] == "solved" and env.done and env.outcome == "solved"
        assert "correct" in observation
        # The episode is over: further calls are refused as an observation.
        late = env.step({"name": "Observe"})
        assert late.observation.startswith("Error:") and late.terminated and late.info["outcome"] == "solved"
        assert env.log()["status"] == "done"


def test_a_wrong_answer_terminates_and_the_step_limit_truncates(client: Client) -> None:
    with client.make("binary-search", seed=5) as env:
        result = env.step({"name": "Done", "arguments": {"answer": -12345}})
        assert (result.reward, result.terminated, result.truncated) == (0.0, True, False)
        assert result.info["outcome"] == "wrong_answer"
    with client.make("binary-search", seed=5, limits={"max_steps": 2}) as env:
        first = env.step({"name": "Length"})
        assert not first.done
        second = env.step({"name": "Length"})
        assert (second.reward, second.terminated, second.truncated) == (0.0, False, True)
        assert second.info["outcome"] == "step_limit" and env.outcome == "step_limit"
        assert env.log()["limits"]["max_steps"] == 2


def test_raw_text_actions_in_each_format(client: Client) -> None:
    with client.make("binary-search", seed=7) as env:
        expected = env.step({"name": "Observe", "arguments": {}}).observation
        texts = {
            "codegym": 'Let me look. <|FunctionCallBegin|>[{"name":"Observe","parameters":{}}]<|FunctionCallEnd|>',
            "hermes": '<tool_call>{"name": "Observe", "arguments": {}}</tool_call>',
            "openai-tools": '{"tool_calls":[{"type":"function","function":{"name":"Observe","arguments":"{}"}}]}',
        }
        for steps, (format, text) in enumerate(texts.items(), start=2):
            result = env.step(text, format=format)
            # "Elements read so far" is unchanged by Observe, so every observation is the same.
            assert (result.observation, result.info["parse_error"], result.info["steps"]) == (expected, False, steps)
    # The session's own format applies when none is given.
    with client.make("binary-search", seed=7, format="hermes") as env:
        assert env.step(texts["hermes"]).observation == expected


def test_malformed_text_is_an_observation_not_an_exception(client: Client) -> None:
    with client.make("binary-search", seed=8) as env:
        env.step({"name": "Length"})
        for text, format in [('<tool_call>{"name": "Obs', "hermes"), ("I think the answer is 4.", "codegym")]:
            observation, reward, terminated, truncated, info = env.step(text, format=format)
            assert observation.startswith("Error:"), observation
            assert (reward, terminated, truncated, info["parse_error"]) == (0.0, False, False, True)
            assert info["steps"] == 1, "the episode never saw it"


def test_an_unknown_tool_or_bad_argument_is_an_error_observation(client: Client) -> None:
    with client.make("binary-search", seed=9) as env:
        result = env.step({"name": "Teleport", "arguments": {}})
        assert result.observation.startswith("Error:") and "Teleport" in result.observation
        assert not result.done
        bad = env.step({"name": "Get", "arguments": {"index": "three"}})
        assert bad.observation.startswith("Error:") and not bad.done


def test_errors_carry_the_servers_status_and_message(client: Client) -> None:
    with pytest.raises(NotFoundError) as error:
        client.step("0000000000000000", {"name": "Observe"})
    assert error.value.status == 404 and "unknown session" in error.value.message
    assert error.value.session_id == "0000000000000000"
    assert isinstance(error.value, CodeGymError)
    with pytest.raises(NotFoundError):
        client.get_session("0000000000000000")
    with pytest.raises(NotFoundError, match="no-such-env"):
        client.make("no-such-env")
    with pytest.raises(BadRequestError) as error:
        client.make("binary-search", difficulty=101)
    assert error.value.status == 400 and "difficulty" in error.value.message
    with pytest.raises(BadRequestError, match="unknown limit"):
        client.make("binary-search", limits={"max_stepz": 3})
    with pytest.raises(BadRequestError) as error:
        client.create_session("binary-search", config={"len": 0, "first": 0, "seed": 0, "target": 0})
    assert error.value.status == 400
    with pytest.raises(TypeError):
        client.step("0000000000000000", 42)  # type: ignore[arg-type]


def test_a_fork_is_independent_of_its_parent(client: Client) -> None:
    with client.make("binary-search", seed=11) as parent:
        parent.step({"name": "Get", "arguments": {"index": 0}})
        with parent.fork() as fork:
            assert fork.id != parent.id and fork.steps == 1 and fork.task == parent.task
            done = fork.step({"name": "Done", "arguments": {"answer": 0}})
            assert done.done and fork.done
            again = parent.step({"name": "Observe"})
            assert not again.done and again.info["steps"] == 2
            assert "Elements read so far: 1" in again.observation
            assert parent.log()["status"] == "active" and fork.log()["status"] == "done"


def test_reset_starts_a_fresh_session_and_deletes_the_old_one(client: Client) -> None:
    env = client.make("binary-search", seed=20)
    first_id = env.id
    task, info = env.reset()
    assert env.id == first_id, "the first reset returns the session make created"
    env.step({"name": "Length"})
    task2, info2 = env.reset()
    assert env.id != first_id and info2["seed"] == 21 and env.steps == 0
    with pytest.raises(NotFoundError):
        client.get_session(first_id)  # type: ignore[arg-type]
    task3, info3 = env.reset(seed=20)
    assert task3 == task and info3["seed"] == 20
    _, info4 = env.reset(options={"difficulty": 0})
    length, _ = parse_task(env.task)
    assert info4["difficulty"] == 0 and length < 64
    env.close()
    assert env.id is None
    with pytest.raises(CodeGymError, match="closed"):
        env.step({"name": "Length"})
    env.close()  # twice is fine


def test_the_context_managers_delete_the_session(server_url: str) -> None:
    with Client(server_url) as client:
        with client.make("binary-search") as env:
            session_id = env.id
            assert client.get_session(session_id)["status"] == "active"  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            client.get_session(session_id)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        client.envs()  # the client is closed


def test_sync_step_many_reports_failures_per_item(client: Client) -> None:
    sessions = [client.make("binary-search", seed=seed) for seed in range(3)]
    try:
        items = [(s, {"name": "Length"}) for s in sessions]
        items.insert(1, ("0000000000000000", {"name": "Length"}))
        items.append((sessions[0].id, '<tool_call>{"name": "Observe"}</tool_call>'))  # type: ignore[arg-type]
        results = client.step_many(items, format="hermes")
        assert isinstance(results[1], NotFoundError) and results[1].session_id == "0000000000000000"
        for session, result in zip(sessions, [results[0], *results[2:4]]):
            assert isinstance(result, StepResult) and result.session_id == session.id
            assert result.observation == str(parse_task(session.task)[0])
        assert isinstance(results[4], StepResult) and results[4].info["steps"] == 2
        assert sessions[0].log()["steps"] == 2, "a bare id does not update the Session object"
    finally:
        for session in sessions:
            session.close()


def test_too_many_sessions_is_429(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with start_server("--max-sessions", "2", log_dir=tmp_path) as url, Client(url) as client:
        a, b = client.make("binary-search"), client.make("binary-search")
        with pytest.raises(TooManySessionsError) as error:
            client.make("binary-search")
        assert error.value.status == 429
        a.close()
        client.make("binary-search").close()
        b.close()


def test_a_server_that_is_not_there_is_a_transport_error() -> None:
    with Client("http://127.0.0.1:9", retries=1, timeout=2) as client:
        with pytest.raises(TransportError) as error:
            client.envs()
        assert error.value.status is None
