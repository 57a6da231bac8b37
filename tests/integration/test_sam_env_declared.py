"""Waiting for template.yaml to declare ``AWS_ENDPOINT_URL_DYNAMODB`` (empty) in its Globals:
rename this file to test_sam_env_declared.py then.

``sam local`` passes a function only the variables its template declares, whatever the
``--env-vars`` file says (samcli/local/lambdafn/env_vars.py, ``EnvironmentVariables.resolve``):
until the template declares the endpoint, env.json cannot point the functions at a local
DynamoDB, and ``sam local`` would reach the real one of the caller's account. An empty value
is the SDK's default endpoint, so the deployed stack is unchanged."""

from __future__ import annotations

from tests.support.sam_local import env_file, template_functions


def test_env_json_sets_only_variables_the_template_declares() -> None:
    functions = template_functions()
    undeclared = {
        function: sorted(set(variables) - set(functions[function].variables))
        for function, variables in env_file().items()
    }
    assert {function: names for function, names in undeclared.items() if names} == {}
