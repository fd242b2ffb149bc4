"""The course's notebooks, the command that runs them (`python -m notebooks.run`), and the
exercises' checks with their solutions."""
