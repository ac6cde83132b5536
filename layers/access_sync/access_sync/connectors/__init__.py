"""One folder per SaaS: `client.py` knows the API (auth, paging, errors), `syncer.py` maps it to records."""
