"""Infrastructure tests: assertions on template.yaml and its offline SAM transform."""
