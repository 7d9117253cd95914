"""commerce-mcp: an MCP server for TikTok Shop and Amazon Multi-Channel Fulfillment sellers."""

__version__ = "0.1.0"
