"""The send log's storage: its table, and the repository that seals and opens its rows."""
