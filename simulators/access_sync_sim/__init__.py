"""Simulated Guru and Gusto APIs for tests, the demo and the benchmark. Never shipped in the Lambda layer.

`guru` and `gusto` hold one simulator each, a module a job. What both share: `base` (the `Simulator`
base class: request counting, latency and faults), `faults`, `limits` (rate limiters), `serving`
(in-process transport and loopback server), `responses` and `seeds` (name pools).
"""
