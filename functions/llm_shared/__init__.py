"""Shared LLM routing and cost package: catalog, exact cost maths, budgets, routing, usage contract.

Imported by both the cost-tracker Lambda and the gateway container, so prices and rules cannot
drift between them. No AWS or Pulumi imports here (a test enforces it).
"""
