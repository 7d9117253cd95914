"""Workflows that join the channels: SKU mapping, MCF fulfilment of TikTok orders, tracking and stock sync."""
