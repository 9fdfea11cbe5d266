"""Optimiser kernels, each once, batched over rows (points or structures) from the first line.

Every kernel is an ``(init, step)`` pair in the style of jax-md's ``minimize``: ``init(x, ...) ->
state`` and ``step(state, e, g, ...) -> state`` with ``e``, ``g`` the energies and gradients at
``state.x`` (the caller evaluates them, so the same kernel runs against a budgeted BlackBox or a
plain energy function):

* :mod:`gmbench.optim.fire` - FIRE, ``flavour="ase"`` or ``"jax-md"`` (Bitzek et al. 2006);
* :mod:`gmbench.optim.adam` - Adam (Kingma & Ba 2015), with the one in-place update
  :func:`~gmbench.optim.adam.adam_update_`;
* :mod:`gmbench.optim.gd` - gradient descent;
* :mod:`gmbench.optim.lbfgs` - GMIN-style L-BFGS (Nocedal 1980; Liu & Nocedal 1989) and its batched
  driver with converged rows leaving the batch.

:mod:`gmbench.optim.relax` holds the relaxation drivers (``fire_relax``, ``lbfgs_relax``) and
:mod:`gmbench.optim.presets` the published settings (StriderNET's Table 6) the methods' presets use.
"""
