"""All SQL: table models, sessions and migrations, and the queries every other package calls.
Imports core types and settings only."""
