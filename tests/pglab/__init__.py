"""Loopback lab of real PostgreSQL and PgBouncer for the pooler tests (see lab.py)."""
