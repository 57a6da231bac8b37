#!/bin/bash
# Started by the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap), which proxies
# each invocation to this server and streams the response back through the function URL.
# /opt/python holds the core layer; the runtime dir holds the Lambda runtime's own packages.
export PATH="$PATH:$LAMBDA_TASK_ROOT/bin"
export PYTHONPATH="/opt/python:$LAMBDA_RUNTIME_DIR:$PYTHONPATH"
exec python -m uvicorn --host 127.0.0.1 --port "${AWS_LWA_PORT:-8080}" --no-access-log app:app
