"""The MCP tool surface: thin, typed, annotated. No HTTP here."""
