#!/usr/bin/env python3
"""A stand-in Lambda function for the fronts' tests: a provided.al2023
bootstrap (the Runtime API loop, standard library only) whose every answer
is a 401 carrying `WWW-Authenticate`, in the response shape of whichever
front invoked it (payload format 1.0 for API Gateway REST, 2.0 for a
Function URL; both accept `statusCode`, `headers` and `body`)."""

import json
import os
import urllib.request

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
ANSWER = json.dumps({
    "statusCode": 401,
    "headers": {"WWW-Authenticate": 'Bearer resource_metadata="https://stand-in.example.com/meta"',
                "Content-Type": "application/json", "X-Stand-In": "yes"},
    "body": json.dumps({"error": "stand-in"}),
}).encode()

while True:
    with urllib.request.urlopen(f"{API}/next") as invocation:
        request_id = invocation.headers["Lambda-Runtime-Aws-Request-Id"]
        invocation.read()
    urllib.request.urlopen(urllib.request.Request(f"{API}/{request_id}/response", ANSWER, method="POST")).read()
