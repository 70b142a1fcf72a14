"""Progress of any DAG or steps template (workflows/runs/argo.py `progress`), from node statuses
shaped as Argo's controller writes them: nodes keyed by id with `children` ids, loop items named
`<parent>(<index>:<item>)`, steps groups `<steps>[<i>]`, the spec in storedWorkflowTemplateSpec."""

from __future__ import annotations

import json
from typing import Any

from workflows.runs import argo

WF = "job-abc12"
POD = {"container": {"image": "busybox"}}


def run(spec: dict[str, Any], nodes: list[dict[str, Any]], phase: str = "Running") -> dict:
    return {
        "metadata": {"name": WF},
        "status": {
            "phase": phase,
            "nodes": {node["name"]: node for node in nodes},
            "storedWorkflowTemplateSpec": spec,
        },
    }


def node(name: str, kind: str, phase: str = "Running", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "phase": phase, **fields}


def test_hello_world_counts_its_one_pod():
    spec = {"entrypoint": "hello", "templates": [{"name": "hello", **POD}]}
    assert argo.progress(run(spec, [])).describe() == "Running: steps 0/1 done"
    done = run(spec, [node(WF, "Pod", "Succeeded")], "Succeeded")
    assert argo.progress(done).describe() == "Succeeded: steps 1/1 done"


def test_a_dag_diamond_counts_the_pods_it_plans_before_they_exist():
    tasks = [
        {"name": "A", "template": "echo"},
        {"name": "B", "template": "echo", "depends": "A"},
        {"name": "C", "template": "echo", "depends": "A"},
        {"name": "D", "template": "echo", "depends": "B && C"},
    ]
    spec = {
        "entrypoint": "diamond",
        "templates": [{"name": "diamond", "dag": {"tasks": tasks}}, {"name": "echo", **POD}],
    }
    nodes = [
        node(WF, "DAG", templateName="diamond"),
        # A was retried: its Retry node counts once, not its two attempts.
        node(f"{WF}.A", "Retry", "Succeeded", children=[f"{WF}.A(0)", f"{WF}.A(1)"]),
        node(f"{WF}.A(0)", "Pod", "Failed"),
        node(f"{WF}.A(1)", "Pod", "Succeeded"),
        node(f"{WF}.B", "Pod", "Succeeded"),
        node(f"{WF}.C", "Pod"),
    ]
    assert argo.progress(run(spec, nodes)) == argo.Progress("Running", 2, 4, "steps")


def test_steps_with_sequence_know_their_width_before_expanding():
    spec = {
        "entrypoint": "loops",
        "templates": [
            {
                "name": "loops",
                "steps": [[{"name": "echo", "template": "echo", "withSequence": {"count": "5"}}]],
            },
            {"name": "echo", **POD},
        ],
    }
    assert argo.progress(run(spec, [node(WF, "Steps", templateName="loops")])).describe() == (
        "Running: shards 0/5 done"
    )
    items = [f"{WF}[0].echo({index}:{index + 1})" for index in range(5)]
    nodes = [
        node(WF, "Steps", templateName="loops", children=[f"{WF}[0]"]),
        node(f"{WF}[0]", "StepGroup", children=items),
        *(node(item, "Pod", "Succeeded" if i < 3 else "Running") for i, item in enumerate(items)),
    ]
    assert argo.progress(run(spec, nodes)).describe() == "Running: shards 3/5 done"


def test_with_param_width_comes_from_its_source_not_the_items_created_so_far():
    """Parallelism 2: the controller has created only two of the five items."""
    spec = {
        "entrypoint": "main",
        "templates": [
            {
                "name": "main",
                "parallelism": 2,
                "steps": [
                    [{"name": "gen", "template": "gen"}],
                    [
                        {
                            "name": "work",
                            "template": "work",
                            "withParam": "{{steps.gen.outputs.parameters.ids}}",
                        }
                    ],
                ],
            },
            {"name": "gen", **POD},
            {"name": "work", **POD},
        ],
    }
    ids = {"parameters": [{"name": "ids", "value": json.dumps(list("abcde"))}]}
    items = [f"{WF}[1].work(0:a)", f"{WF}[1].work(1:b)"]
    nodes = [
        node(WF, "Steps", templateName="main"),
        node(f"{WF}[0]", "StepGroup", "Succeeded", children=[f"{WF}[0].gen"]),
        node(f"{WF}[0].gen", "Pod", "Succeeded", outputs=ids),
        node(f"{WF}[1]", "StepGroup", children=items),
        node(items[0], "Pod", "Succeeded"),
        node(items[1], "Pod"),
    ]
    assert argo.progress(run(spec, nodes)) == argo.Progress("Running", 1, 5)


def test_without_a_stored_spec_the_expanded_items_are_counted():
    items = [f"{WF}.map(0:x)", f"{WF}.map(1:y)"]
    nodes = [
        node(WF, "DAG"),
        node(f"{WF}.map", "TaskGroup", children=items),
        node(items[0], "Pod", "Succeeded"),
        node(items[1], "Pod"),
    ]
    workflow = run({}, nodes)
    del workflow["status"]["storedWorkflowTemplateSpec"]
    assert argo.progress(workflow).describe() == "Running: shards 1/2 done"
