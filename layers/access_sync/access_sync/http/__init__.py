"""The HTTP layer every connector uses: httpx plus retries, rate limits and credential hygiene."""
