"""Platform-agnostic resilience: rate limiting, retries, deadlines, single-flight, safe creation."""
