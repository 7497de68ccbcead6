"""Test-side extensions of moto for mcp-deploy's tests (see lambda_url.py)."""
