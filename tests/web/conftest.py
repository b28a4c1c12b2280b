"""The pages' tests reuse the gateway tests' linked population and server helpers."""

from tests.gateway.conftest import linked_population, people

__all__ = ["linked_population", "people"]
