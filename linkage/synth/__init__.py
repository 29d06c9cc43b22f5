"""Synthetic worlds: a resident register, bank and insurance records linked to My
Numbers, injected linkage errors of every kind, and the ground truth.

>>> from linkage.synth import generate_world, write_world
>>> world = generate_world(households=1000, seed=42)
>>> paths = write_world(world, Path("out/world"))      # doctest: +SKIP
"""
from .rates import DEFAULT_RATES, EXPECTED, resolve_rates
from .world import World, generate_world, write_world

__all__ = ["DEFAULT_RATES", "EXPECTED", "World", "generate_world", "resolve_rates", "write_world"]
