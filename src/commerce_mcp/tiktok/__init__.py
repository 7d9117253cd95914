"""TikTok Shop Partner API client."""
