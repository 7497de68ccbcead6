"""Starts moto's server with the test-side extensions loaded.

Usage: python run_moto.py PORT   (binds 127.0.0.1 only)
"""

import sys

import mcp_moto.lambda_url  # noqa: F401 - registers AWS::Lambda::Url before any stack is parsed
import mcp_moto.dynamodb  # noqa: F401 - atomic conditional writes and a table's TTL, as on AWS
import mcp_moto.agentcore_gateway  # noqa: F401 - AWS::BedrockAgentCore::Gateway and GatewayTarget
import mcp_moto.internet  # noqa: F401 - the API Gateway stage and the WAFv2 web ACL, IP sets, association
import mcp_moto.change_sets  # noqa: F401 - outputs of stacks made or updated through change sets, as on AWS
import mcp_moto.cloudwatch  # noqa: F401 - AWS::CloudWatch::Alarm (moto models the dashboard already)
import mcp_moto.secretsmanager  # noqa: F401 - AWS::SecretsManager::Secret with a generated value
from moto.server import main

if __name__ == "__main__":
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
