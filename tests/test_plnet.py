"""PLNet / BiLipNet: certified bounds, inverse (DYS), minimiser, gradients (reference plnet.md section 9)."""

from __future__ import annotations

import math

import pytest
import torch

from gmbench.models.plnet import BiLipNet, MonLipLayer, PLNet, cayley, default_tol

F64 = torch.float64


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(1234)


pytestmark = pytest.mark.usefixtures("one_thread")


def _stress(net: torch.nn.Module, a_range: tuple[float, float] = (0.3, 4.0)) -> torch.nn.Module:
    """Move a freshly built net away from its (nearly trivial) initialisation: rescale every Cayley
    scale parameter (``a``, ``fq``, ``fab``) by a random factor, so orthogonal factors are far from I."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            parts = name.split(".")
            if p.dim() == 0 and (parts[-1] in ("a", "fq") or parts[-2:-1] == ["fab"]):
                p.mul_(torch.empty(()).uniform_(*a_range).to(p.dtype))
    return net


def _bilip(dim, units, mu, nu, depth=2, dtype=F64, bias=0.5, **kw) -> BiLipNet:
    return _stress(BiLipNet(dim, units, depth, mu, nu, bias_init_std=bias, **kw).to(dtype))


def _plnet(dim, units, mu, nu, depth=2, dtype=F64, bias=0.5, **kw) -> PLNet:
    return _stress(PLNet(dim, units, depth, mu, nu, bias_init_std=bias, **kw).to(dtype))


# ---------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7, 7), (12, 5), (5, 12)])
def test_cayley_orthonormal(shape):
    W = 3.0 * torch.randn(*shape, dtype=F64)
    C = cayley(W)
    assert C.shape == shape
    m, k = shape
    eye = torch.eye(min(m, k), dtype=F64)
    gram = C.T @ C if m >= k else C @ C.T
    assert torch.allclose(gram, eye, atol=1e-13)
    if m == k:
        assert torch.linalg.det(C).item() == pytest.approx(1.0, abs=1e-12)  # SO(n), no reflections


@pytest.mark.parametrize("dim,units", [(10, [16, 16, 16]), (10, [32, 8, 4]), (30, [8, 8])])
def test_monlip_structure_lmi(dim, units):
    layer = _stress(MonLipLayer(dim, units, 0.5, 2.0, bias_init_std=0.5).double())
    w = layer.weights()
    for k, nz in enumerate(units):  # [A_k B_k] has orthonormal rows
        AB = torch.cat([w["AT"][k].T, w["BT"][k].T], dim=1)
        assert torch.allclose(AB @ AB.T, torch.eye(nz, dtype=F64), atol=1e-12)
    M = layer.ftn_matrices()
    S = M["S"]
    N = sum(units)
    V = torch.zeros(N, N, dtype=F64)
    off = [0]
    for nz in units:
        off.append(off[-1] + nz)
    for k in range(1, len(units)):
        V[off[k] : off[k + 1], off[k - 1] : off[k]] = M["Vt"][k].T
    lmi = 2 * torch.eye(N, dtype=F64) - V - V.T - 2 * S @ S.T
    assert torch.linalg.eigvalsh(lmi).min().item() >= -1e-12
    assert torch.linalg.matrix_norm(S, 2).item() <= math.sqrt(2) + 1e-12


@pytest.mark.parametrize("dim,units,agree", [(10, [16, 16], True), (12, [4, 4, 4], True), (40, [8, 8, 8], False)])
def test_ftn_vs_sandwich_form(dim, units, agree):
    """Pitfall P3: the two forms are the same function iff N >= dim. We use FTN (what DYS inverts)."""
    layer = MonLipLayer(dim, units, 0.5, 2.0, bias_init_std=0.5).double()
    x = 3 * torch.randn(64, dim, dtype=F64)
    diff = (layer(x) - layer.forward_sandwich(x)).abs().max().item()
    if agree:
        assert diff < 1e-12
    else:
        assert diff > 1e-3


@pytest.mark.parametrize("dim,units", [(10, [16, 16, 16]), (40, [8, 8, 8])])
def test_monlip_sector_bounds(dim, units):
    mu, nu = 0.3, 3.0
    layer = _stress(MonLipLayer(dim, units, mu, nu, bias_init_std=1.0).double())
    x = 2 * torch.randn(4000, dim, dtype=F64)
    d = torch.randn(4000, dim, dtype=F64) * torch.logspace(-4, 1, 4000, dtype=F64)[:, None]
    dF = layer(x + d) - layer(x)
    dd = (d * d).sum(-1)
    assert ((dF * d).sum(-1) / dd).min().item() >= mu * (1 - 1e-9)
    assert (dF.norm(dim=-1) / d.norm(dim=-1)).max().item() <= nu * (1 + 1e-9)


def test_monlip_inverse_certificate():
    """The returned residual bound really bounds |F(x) - y| / max(|y|, 1) at the returned x."""
    layer = _stress(MonLipLayer(12, [16, 16, 16], 0.4, 2.5, bias_init_std=0.5).double())
    y = 3 * torch.randn(32, 12, dtype=F64)
    for max_iter in (5, 40, 2000):
        x, it, ok, rel = layer.inverse(y, tol=1e-11, max_iter=max_iter)
        actual = ((layer(x) - y).norm(dim=-1) / y.norm(dim=-1).clamp(min=1)).max().item()
        assert actual <= rel * (1 + 1e-9) + 1e-15
        assert it <= max_iter and ok == (rel <= 1e-11)


# ---------------------------------------------------------------------------------------------
# BiLipNet: bounds and inverse
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dim,units,mu,nu,depth",
    [(8, [16, 16], 0.25, 4.0, 2), (20, [8, 8], 0.1, 10.0, 2), (12, [24, 24, 24], 0.5, 2.0, 3)],
)
def test_bilipschitz_ratios(dim, units, mu, nu, depth):
    G = _bilip(dim, units, mu, nu, depth, bias=1.0)
    mu_g, nu_g = (t.item() for t in G.bounds())
    assert mu_g == pytest.approx(mu) and nu_g == pytest.approx(nu)
    x = 3 * torch.randn(3000, dim, dtype=F64)
    y = torch.cat([3 * torch.randn(1500, dim, dtype=F64), x[1500:] + 1e-3 * torch.randn(1500, dim, dtype=F64)])
    ratio = (G(x) - G(y)).norm(dim=-1) / (x - y).norm(dim=-1)
    assert ratio.min().item() >= mu * (1 - 1e-9)
    assert ratio.max().item() <= nu * (1 + 1e-9)


def test_learn_nu_bounds_and_grad():
    G = _bilip(10, [16, 16], 0.2, 5.0, learn_nu=True)
    with torch.no_grad():
        G.mon[0].log_nu.add_(0.7)  # nu of layer 0 up by e^0.7, distortion fixed
    mu_g, nu_g = G.bounds()
    assert (nu_g / mu_g).item() == pytest.approx(25.0)
    assert nu_g.item() == pytest.approx(5.0 * math.exp(0.7))
    x, y = torch.randn(2000, 10, dtype=F64), torch.randn(2000, 10, dtype=F64)
    ratio = (G(x) - G(y)).norm(dim=-1) / (x - y).norm(dim=-1)
    assert mu_g.item() * (1 - 1e-9) <= ratio.min().item() and ratio.max().item() <= nu_g.item() * (1 + 1e-9)
    G(x).square().sum().backward()
    assert all(torch.isfinite(m.log_nu.grad) and m.log_nu.grad != 0 for m in G.mon)


@pytest.mark.parametrize(
    "dim,units,mu,nu",
    [
        (8, [16, 16, 16], 0.25, 4.0),  # N > D
        (16, [8, 8], 0.25, 4.0),  # N = D
        (40, [8, 8, 8], 0.25, 4.0),  # N < D (pitfall P3)
        (20, [32, 32], 0.1, 10.0),  # the authors' default distortion
    ],
)
def test_inverse_roundtrip_float64(dim, units, mu, nu):
    G = _bilip(dim, units, mu, nu)
    x = 3 * torch.randn(64, dim, dtype=F64)
    y = G(x)
    xr, info = G.inverse(y, tol=1e-11, max_iter=5000)
    assert info.all_converged, info
    assert len(info.iterations) == 2 and all(0 < i < 5000 for i in info.iterations)
    assert (xr - x).abs().max().item() < 1e-8
    assert info.residual.shape == (64,) and info.residual.max().item() < 1e-8
    assert not xr.requires_grad


def test_inverse_roundtrip_float32():
    G = _bilip(16, [32, 32, 32], 0.25, 4.0, dtype=torch.float32)
    x = 3 * torch.randn(128, 16)
    xr, info = G.inverse(G(x))  # default tol for float32
    assert info.tol == default_tol(torch.float32)
    assert info.all_converged
    assert xr.dtype == torch.float32
    assert (xr - x).abs().max().item() < 1e-3


def test_inverse_cap_and_tolerance_honoured():
    G = _bilip(10, [16, 16, 16], 0.25, 4.0)
    y = G(2 * torch.randn(32, 10, dtype=F64))
    _, capped = G.inverse(y, tol=1e-12, max_iter=3)
    assert capped.iterations == [3, 3] and capped.converged == [False, False] and not capped.all_converged
    _, zero = G.inverse(y, tol=1e-12, max_iter=0)
    assert zero.iterations == [0, 0] and not zero.all_converged
    _, loose = G.inverse(y, tol=1e-4, max_iter=5000)
    _, tight = G.inverse(y, tol=1e-10, max_iter=5000)
    for info, tol in ((loose, 1e-4), (tight, 1e-10)):
        assert info.all_converged and info.tol == tol
        assert all(r <= tol for r in info.layer_residuals)
    assert all(t > lo for t, lo in zip(tight.iterations, loose.iterations))
    assert tight.total_iterations == sum(tight.iterations)
    assert tight.residual.max() < loose.residual.max()


def test_inverse_builds_no_graph():
    G = _bilip(8, [16, 16], 0.25, 4.0)
    y = torch.randn(5, 8, dtype=F64, requires_grad=True)
    x, _ = G.inverse(y)
    assert not x.requires_grad and x.grad_fn is None
    with torch.no_grad():
        x2, _ = G.inverse(y)
    assert torch.equal(x, x2)
    x1, _ = G.inverse(y[0])  # unbatched (D,) input
    assert x1.shape == (8,) and torch.allclose(x1, x[0], atol=1e-9)


# ---------------------------------------------------------------------------------------------
# PLNet
# ---------------------------------------------------------------------------------------------


def test_plnet_shapes_and_c():
    net = _plnet(8, [16, 16], 0.25, 4.0)
    with torch.no_grad():
        net.c.fill_(-1.5)
    x = torch.randn(7, 8, dtype=F64)
    f = net(x)
    assert f.shape == (7,)
    assert torch.allclose(f, 0.5 * net.G(x).square().sum(-1) - 1.5)
    assert net.G(x).shape == (7, 8)


def test_minimizer_is_the_minimum():
    net = _plnet(10, [16, 16, 16], 0.25, 4.0)
    with torch.no_grad():
        net.c.fill_(0.7)
    xs, info = net.minimizer(tol=1e-12, max_iter=5000)
    assert xs.shape == (10,) and info.all_converged
    fs = net(xs[None])[0]
    assert abs(fs.item() - 0.7) < 1e-18 + 1e-12  # f(x*) - c ~ 0
    x = 4 * torch.randn(4096, 10, dtype=F64)
    fx = net(x)
    assert (fx >= fs).all()
    # quadratic growth (mu_G^2/2)|x - x*|^2 <= f - c <= (nu_G^2/2)|x - x*|^2
    d2 = (x - xs).square().sum(-1)
    assert ((fx - 0.7) >= 0.5 * 0.25**2 * d2 * (1 - 1e-9)).all()
    assert ((fx - 0.7) <= 0.5 * 4.0**2 * d2 * (1 + 1e-9)).all()
    xg = xs.clone().requires_grad_()
    (g,) = torch.autograd.grad(net(xg[None]).sum(), xg)
    assert g.norm().item() < 1e-9
    # PL inequality 1/2 |grad f|^2 >= mu_G^2 (f - c)
    xr = x[:256].clone().requires_grad_()
    (gr,) = torch.autograd.grad(net(xr).sum(), xr)
    assert (0.5 * gr.square().sum(-1) >= 0.25**2 * (net(x[:256]) - 0.7) * (1 - 1e-9)).all()


def test_gradient_descent_converges_to_minimizer():
    """Batched GD on f (step 1/nu_G^2) from 256 random starts reaches the extracted x*."""
    mu, nu = 0.25, 4.0
    net = _plnet(8, [16, 16], mu, nu)
    xs, info = net.minimizer(tol=1e-12, max_iter=5000)
    assert info.all_converged
    x = (6 * torch.rand(256, 8, dtype=F64) - 3).requires_grad_()
    step = 1.0 / nu**2
    with net.cached():
        for _ in range(1000):
            (g,) = torch.autograd.grad(net(x).sum(), x)
            with torch.no_grad():
                x -= step * g
    assert (x.detach() - xs).norm(dim=-1).max().item() < 1e-6


def test_gradients_finite():
    net = _plnet(12, [16, 16, 16], 0.1, 10.0, learn_nu=True)
    x = (10 * torch.randn(64, 12, dtype=F64)).requires_grad_()
    net(x).mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    # float32 as well, at a larger scale of inputs
    net32 = PLNet(12, [16, 16], mu=0.1, nu=10.0).float()
    x32 = (100 * torch.randn(64, 12)).requires_grad_()
    net32(x32).sum().backward()
    assert torch.isfinite(x32.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in net32.parameters())


def test_cached_matches_uncached():
    net = _plnet(9, [16, 16], 0.25, 4.0)
    x = torch.randn(20, 9, dtype=F64, requires_grad=True)
    f0 = net(x)
    (g0,) = torch.autograd.grad(f0.sum(), x)
    with net.cached():
        with net.cached():  # nesting is harmless
            f1 = net(x)
        f1.sum().backward()
        g1 = x.grad
        assert all(p.grad is None for p in net.G.parameters())  # (c is not part of G; it stays live)
    assert all(layer._cache is None for layer in net.G._layers())
    assert torch.allclose(f0, f1, atol=1e-13) and torch.allclose(g0, g1, atol=1e-12)


def test_default_init_minimizer_is_origin():
    """Reference init (all biases 0) gives G(0) = 0, so x* = 0 before any training; bias_init_std moves it."""
    xs, info = PLNet(6, [8, 8]).double().minimizer()
    assert info.iterations == [0, 0] and xs.abs().max().item() == 0.0
    xs2, info2 = PLNet(6, [8, 8], bias_init_std=1.0).double().minimizer()
    assert xs2.norm().item() > 0.1 and info2.all_converged


def test_d1000_forward_inverse_consistent():
    """D = 1000 with hidden width larger (default [256]*8, N = 2048) and smaller (N = 512) than D."""
    for units in (None, [128] * 4):
        kw = {} if units is None else {"units": units}
        net = PLNet(1000, bias_init_std=0.1, **kw)
        x = torch.randn(2, 1000)
        with net.cached(), torch.no_grad():  # build the 1000 x 1000 Cayley matrices once
            y = net.G(x)
            xr, info = net.G.inverse(y, max_iter=2000)
            assert info.all_converged, info
            assert (xr - x).abs().max().item() < 1e-3
            assert info.residual.max().item() < 1e-2
            if units is None:
                layer = net.G.mon[0]
                assert (layer(x) - layer.forward_sandwich(x)).abs().max().item() < 1e-4
