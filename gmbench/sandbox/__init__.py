"""Sealed runs: a method in its own process that can reach nothing but its BlackBox.

``gmbench run --sealed`` (or ``sealed: true`` in a suite) runs each cell's method in a fresh child
process forked from a clean *zygote* (a process started with an empty environment, that imported torch
and the built-in methods and nothing of the run). The child receives only what a BlackBox exposes
(dimension, bounds, dtype, device, its generator's seed, the budget, the public structure of an
atomistic system) and the method's name and configuration; never the cell, the suite, its secret, the
problem or its parameters. Energy and gradient evaluations, starting structures and reported candidates
are requests to the parent (the harness), which evaluates them, charges the budget and records the
candidates: :mod:`gmbench.sandbox.protocol` is the wire format (fixed headers over a socket pair, the
batches in a shared memory buffer), :mod:`gmbench.sandbox.child` the child, :mod:`gmbench.run.sealed`
the parent, :mod:`gmbench.sandbox.confine` what the child may touch once it holds the method.

Nothing the child sends is unpickled: the parent reads fixed-size headers, bounded JSON and raw numbers.
"""
