"""Development tools: the demo, a local AWS (moto) and a local Lambda runner. Never shipped in the Lambda layer."""
