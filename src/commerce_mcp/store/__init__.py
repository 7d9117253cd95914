"""State that outlives a tool call: OAuth tokens, the order-intent ledger, cross-channel links."""
