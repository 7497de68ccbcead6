"""The peer a user would otherwise write: word_count on the official Python SDK's FastMCP (mcp<2).

Same behaviour as mcp-local's word_count (words split on Unicode whitespace,
characters as code points), used only by bench/stdio_bench.py.
"""

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("fastmcp-word-count")


@mcp.tool()
def word_count(text: str) -> dict[str, int]:
    """Count words and characters. A read-only tool: it computes, it does not mutate."""
    return {"words": len(text.split()), "characters": len(text)}


if __name__ == "__main__":
    mcp.run(transport="stdio")
