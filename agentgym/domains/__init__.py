"""Domains beyond the built-in SGD one: each a folder with its tools, data access, users and reward."""
