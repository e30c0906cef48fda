"""Customers (accounts) and their contacts: list, detail, create and edit pages, and their services."""
