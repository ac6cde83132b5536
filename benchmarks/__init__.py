"""`make bench`: the Guru and Gusto syncs against loopback simulators, measured against what the APIs allow."""
