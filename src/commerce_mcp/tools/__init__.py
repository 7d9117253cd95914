"""The MCP tool surface: thin, typed, annotated. No HTTP here.

Each tool is a module-level function (one module per toolset: ``tiktok``, ``tiktok_analytics``,
``tiktok_writes``, ``amazon``, ``crosschannel``, plus ``status``); ``registry`` publishes them and
decides what a session sees (toolsets, writes on or off, a per-request visibility hook).
"""
