"""Atomistic problems, one module per system, discovered by :mod:`gmbench.problems` (every module of
this package is imported, so a new system is one new file):

* :mod:`.lj_cluster` - ``lj-cluster`` (param n) and ``lj13`` ... ``lj150`` (the tabulated sizes);
* :mod:`.binary_lj` - ``binary-lj-cluster``, the action-functional paper's binary cluster;
* :mod:`.ka_lj` - ``ka-lj``, the periodic Kob-Andersen mixture (StriderNET);
* :mod:`.sw_silicon` - ``sw-silicon``, Stillinger-Weber silicon (StriderNET);
* :mod:`.csh` - ``csh``, the C-S-H colloidal gel (StriderNET).

Each holds its typed parameter dataclass, its energy (built from :mod:`gmbench.physics.potentials`),
its registration and its starting-structure protocol. What they share is in :mod:`.base`
(:class:`~.base.AtomsProblem`, samplers, :class:`~.base.MDProtocol`, :func:`~.base.register_system`);
the reference LJ minima are in :mod:`.structures`.
"""
