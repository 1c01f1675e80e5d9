"""Serving: query language, search, comparison, the API and the web page. Read-only."""
