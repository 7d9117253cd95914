"""Amazon SP-API client (Multi-Channel Fulfillment and FBA Inventory)."""
