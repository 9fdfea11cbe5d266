"""StriderNET's policy network (Bihani et al., ICML 2023), plain PyTorch, batched by index scatter.

Follows the paper's Sec. 3.1 and 3.3 and App. L (the authors' JAX ``Pol_Net``, M3RG-IITD/StriderNET),
with these choices where paper and code differ, all recorded in :class:`PolicyConfig`:

* **Graph.** Rebuilt from the positions after every step: directed edges (s -> r), both directions,
  for 0 < r_sr < r_c,graph(type_s, type_r) under the minimum image. Cutoffs per system (the code's ``Systems.py``): KA-LJ
  1.5 / 1.25 / 2.0 (AA/AB/BB), C-S-H 75 A, SW 3.77118 A. Pairs come from the atomistic neighbour
  lists (:func:`gmbench.physics.neighbors.pair_list`: dense minimum-image pairs for small
  boxes, the batched cell list for large ones), computed without gradient; the edge vectors are then
  recomputed from the positions so they stay differentiable.
* **Node features** (paper Eq. 3): species one-hot ∥ U_i ∥ SUM_i ∥ MEAN_i, with U_i the per-atom
  energy (half of every pair term; three-body terms on the vertex), SUM_i = Σ_{j∈N(i)} U_j and
  MEAN_i = SUM_i / deg_i. The JAX code omits the species feature and divides both sums by N; the
  first layer normalises every feature with the graph's own statistics, so constant factors do not
  change the network's output.
* **Edge features** (paper): the minimum-image vector R_s − R_r (3) and the stretch r_eq − r_sr with
  the potential's equilibrium distance r_eq = 2^{1/6} σ_ab (LJ and SW; for SW this is 2.352 A, the Si
  bond) or 2^{1/14} σ (Mie 28-14, C-S-H). The code uses r − σ (opposite sign, σ itself).
* **Layers** (code = paper Table 5): f_a = norm → leaky → Dense(48) → leaky → Dense(48);
  f_b = Dense(48) → leaky → Dense(48); one message-passing step, nodes first:
  f_v([h_i ∥ mean_{in} e ∥ mean_{out} e]), then edges f_e([e_sr ∥ h_s ∥ h_r]) with the updated h,
  each Dense(48) → leaky → Dense(48); the displacement head MLP2 on [h_i ∥ mean_{out} e' ∥ mean_{in} e']
  is 4 × (Dense(48), leaky) then Dense(3) and a leaky ReLU on the output (as the code). Leaky slope
  0.01 throughout. The code's node "probability" head MLP1 is not used by its loss and is omitted.
* **Normalisation.** The code's BatchNorm never updates its running statistics, so it always
  normalises with the statistics of the current batched graph. Here the statistics are those of each
  structure's own graph (learned scale and bias as flax's BatchNorm): a structure's displacements do
  not depend on which other structures share its batch, so training on minibatches, adapting one
  target and transferring to other sizes all apply the same function.
* **Displacements.** μ = 0.01 · s · out (s = 2 for LJ and SW, 5 for C-S-H); the mean of μ is removed
  **per structure** (the code removes the mean over the whole batched graph); then μ is clipped
  component-wise to ±clip (the LJ run: 0.05 σ; C-S-H: 5 A; SW: 0.1 A, ours).
* **Policy.** a = μ + std · ε, ε ~ N(0, I) per component, fixed std. The paper's α = 1e-5 is read as
  the standard deviation (its Table 15 deviation grows linearly with α); the code uses 1e-6.

**Model batching.** Every weight carries a leading "model" axis M. Training uses one model (M = 1);
adaptation runs M independent copies (targets × seeds) in one tensor program: each structure in the
batch names its model, and every dense layer is a batched matmul over rows grouped by model (rows are
packed into an (M, K, ·) tensor by index, never by a Python loop). With M = 1 this is a plain matmul.

Positions are float64 (energies), the network float32.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from gmbench.physics.neighbors import pair_list
from gmbench.physics.space import Free, Periodic

LEAKY = 0.01


@dataclass
class SystemSpec:
    """Per-system constants of the graph and the displacement head."""

    graph_cutoff: list[list[float]]  # S x S (species pairs)
    r_eq: list[list[float]]  # S x S equilibrium distances for the stretch feature
    scale: float  # displacement scaling s (mu = 0.01 s out)
    clip: float | None  # component-wise clip of mu
    n_species: int


_KA_SIGMA = [[1.0, 0.8], [0.8, 0.88]]
SYSTEMS: dict[str, SystemSpec] = {
    "ka-lj": SystemSpec([[1.5, 1.25], [1.25, 2.0]], [[2 ** (1 / 6) * s for s in row] for row in _KA_SIGMA],
                        2.0, 0.05, 2),
    "sw-silicon": SystemSpec([[3.77118]], [[2 ** (1 / 6) * 2.0951]], 2.0, 0.1, 1),
    "csh": SystemSpec([[75.0]], [[2 ** (1 / 14) * 50.0]], 5.0, 5.0, 1),
}


@dataclass
class PolicyConfig:
    """Hyper-parameters of the policy network (defaults: the paper's Table 5 and the LJ code)."""

    system: str = "ka-lj"
    width: int = 48
    head_layers: int = 4
    std: float = 1e-5
    scale: float | None = None  # None: the system's s
    clip: float | None = field(default=-1.0)  # -1: the system's clip; None: no clip
    output_activation: bool = True  # the code's leaky ReLU on the head's output

    def spec(self) -> SystemSpec:
        return SYSTEMS[self.system]

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# graphs
# ---------------------------------------------------------------------------------------------


@dataclass
class Graph:
    """A batch of B structures of N atoms each as one disjoint graph (flat node ids b*N + i)."""

    B: int
    N: int
    src: Tensor  # (E,) sender
    dst: Tensor  # (E,) receiver
    edge_graph: Tensor  # (E,) structure index of each edge (sorted)
    vec: Tensor  # (E, 3) R_src - R_dst, minimum image (float64, differentiable)
    dist: Tensor  # (E,)
    etype: Tensor  # (E,) species-pair index s_src * S + s_dst
    deg: Tensor  # (B*N,) in-degree (= out-degree)


def _space(box: float | None):
    return Periodic(box) if box is not None else Free()


def build_graph(r: Tensor, species: Tensor | None, box: float | None, cutoff: Tensor) -> Graph:
    """The StriderNET graph of positions ``r`` (B, N, 3) for an S x S cutoff matrix.

    The candidate pairs (closer than the largest cutoff) come from :func:`pair_list` without gradient
    (dense minimum image for small N, the batched cell list for N >= 256 where the box allows); the
    species cutoff then selects the edges, and the vectors are recomputed from ``r`` (differentiable).
    """
    B, N, _ = r.shape
    space = _space(box)
    S = cutoff.shape[0]
    rc_max = float(cutoff.max())
    pl = pair_list(r.detach(), space, rc_max, "auto")
    i, j = pl.i, pl.j
    rf = r.reshape(B * N, 3)
    sp = torch.zeros(N, dtype=torch.long, device=r.device) if species is None else species.to(r.device)
    t = sp[i % N] * S + sp[j % N]
    d = space.displacement(rf[i], rf[j])
    dist2 = (d * d).sum(-1)
    rc = cutoff.to(r.device, r.dtype).reshape(-1)[t]
    keep = (dist2 < rc * rc) & (dist2 > 0)
    i, j, d, t = i[keep], j[keep], d[keep], t[keep]
    src = torch.cat([i, j])
    dst = torch.cat([j, i])
    vec = torch.cat([d, -d])  # R_i - R_j for the edge i -> j, and R_j - R_i for j -> i
    et = torch.cat([t, sp[j % N] * S + sp[i % N]])
    order = torch.argsort(src // N, stable=True)  # edges grouped by structure (for model batching)
    src, dst, vec, et = src[order], dst[order], vec[order], et[order]
    dist = torch.sqrt((vec * vec).sum(-1))
    deg = torch.bincount(dst, minlength=B * N)
    return Graph(B, N, src, dst, src // N, vec, dist, et, deg)


# ---------------------------------------------------------------------------------------------
# model-batched layers
# ---------------------------------------------------------------------------------------------


class Groups:
    """Rows (nodes or edges) grouped by model: row k belongs to model ``gid[k]`` (non-decreasing)."""

    def __init__(self, gid: Tensor, M: int):
        self.M = M
        self.gid = gid
        if M > 1:
            counts = torch.bincount(gid, minlength=M)
            starts = torch.cumsum(counts, 0) - counts
            self.rank = torch.arange(gid.numel(), device=gid.device) - starts[gid]
            self.K = int(counts.max()) if gid.numel() else 0


def grouped_linear(x: Tensor, w: Tensor, b: Tensor, g: Groups) -> Tensor:
    """y_k = x_k W[m_k] + b[m_k] for rows ``x`` (R, i), weights (M, i, o), biases (M, o)."""
    if g.M == 1:
        return torch.addmm(b[0], x, w[0])
    packed = x.new_zeros(g.M, g.K, x.shape[1]).index_put((g.gid, g.rank), x)
    return torch.baddbmm(b[:, None, :], packed, w)[g.gid, g.rank]


class MLP(nn.Module):
    """Dense layers with leaky ReLU between them (none after the last), one weight set per model."""

    def __init__(self, sizes: list[int], n_models: int = 1):
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            w = torch.empty(n_models, a, b)
            std = 1.0 / math.sqrt(a)  # flax's default kernel init (lecun normal, truncated), zero bias
            nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(n_models, b)))

    def forward(self, x: Tensor, g: Groups) -> Tensor:
        n = len(self.weights)
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = grouped_linear(x, w, b, g)
            if k < n - 1:
                x = nn.functional.leaky_relu(x, LEAKY)
        return x


def _segment_mean(values: Tensor, index: Tensor, n: int, count: Tensor) -> Tensor:
    out = values.new_zeros(n, values.shape[1]).index_add(0, index, values)
    return out / count.clamp_min(1).to(values.dtype)[:, None]


class StriderNet(nn.Module):
    """The policy network; ``n_models`` independent copies of every weight (see the module doc)."""

    def __init__(self, config: PolicyConfig | None = None, n_models: int = 1):
        super().__init__()
        self.config = config or PolicyConfig()
        c, spec = self.config, self.config.spec()
        W = c.width
        self.n_models = n_models
        n_node_in = spec.n_species + 3
        self.register_buffer("cutoff", torch.tensor(spec.graph_cutoff, dtype=torch.float64))
        self.register_buffer("r_eq", torch.tensor(spec.r_eq, dtype=torch.float64))
        self.norm_scale = nn.Parameter(torch.ones(n_models, n_node_in))
        self.norm_bias = nn.Parameter(torch.zeros(n_models, n_node_in))
        self.f_a = MLP([n_node_in, W, W], n_models)
        self.f_b = MLP([4, W, W], n_models)
        self.f_v = MLP([3 * W, W, W], n_models)
        self.f_e = MLP([3 * W, W, W], n_models)
        self.head = MLP([3 * W] + [W] * c.head_layers + [3], n_models)
        self.scale = spec.scale if c.scale is None else c.scale
        self.clip = spec.clip if c.clip == -1.0 else c.clip

    # ---- model copies -------------------------------------------------------------------------
    def replicate(self, n_models: int) -> "StriderNet":
        """A new network with ``n_models`` copies of this (single-model) network's weights."""
        if self.n_models != 1:
            raise ValueError("replicate() needs a single-model network")
        out = StriderNet(self.config, n_models)
        with torch.no_grad():
            for (_, p_out), (_, p) in zip(out.named_parameters(), self.named_parameters()):
                p_out.copy_(p.expand_as(p_out))
        return out.to(self.cutoff.device)

    def select(self, m: int) -> "StriderNet":
        """Model ``m`` of a multi-model network as a single-model network."""
        out = StriderNet(self.config, 1)
        with torch.no_grad():
            for (_, p_out), (_, p) in zip(out.named_parameters(), self.named_parameters()):
                p_out.copy_(p[m:m + 1])
        return out.to(self.cutoff.device)

    # ---- features ------------------------------------------------------------------------------
    def features(self, r: Tensor, atom_e: Tensor, species: Tensor | None, box: float | None) -> tuple[Graph, Tensor, Tensor]:
        """Graph, node features (B*N, S+3) and edge features (E, 4) for positions (B, N, 3) and per-atom
        energies (B, N)."""
        B, N, _ = r.shape
        g = build_graph(r, species, box, self.cutoff)
        S = self.cutoff.shape[0]
        sp = torch.zeros(N, dtype=torch.long, device=r.device) if species is None else species.to(r.device)
        onehot = nn.functional.one_hot(sp, S).to(torch.float32).repeat(B, 1)
        u = atom_e.reshape(B * N).to(torch.float32)
        ssum = u.new_zeros(B * N).index_add(0, g.dst, u[g.src])
        smean = ssum / g.deg.clamp_min(1).to(u.dtype)
        x = torch.cat([onehot, u[:, None], ssum[:, None], smean[:, None]], dim=1)
        stretch = self.r_eq.reshape(-1)[g.etype] - g.dist
        e = torch.cat([g.vec, stretch[:, None]], dim=1).to(torch.float32)
        return g, x, e

    # ---- forward -------------------------------------------------------------------------------
    def forward(self, r: Tensor, atom_e: Tensor, species: Tensor | None = None, box: float | None = None,
                model_of: Tensor | None = None) -> Tensor:
        """Mean displacements μ (B, N, 3) in the dtype of ``r``.

        ``model_of``: (B,) model index of each structure, non-decreasing (default: all model 0, or
        structure b -> model b // (B / M) when M divides B).
        """
        B, N, _ = r.shape
        M = self.n_models
        if model_of is None:
            if B % M:
                raise ValueError(f"{B} structures cannot be split evenly over {M} models")
            model_of = torch.arange(M, device=r.device).repeat_interleave(B // M)
        g, x, e = self.features(r, atom_e, species, box)
        node_model = model_of.repeat_interleave(N)
        gn = Groups(node_model, M)
        ge = Groups(model_of[g.edge_graph], M)
        # per-structure normalisation of the node features (the code's batch-statistics BatchNorm)
        xs = x.reshape(B, N, -1)
        mu = xs.mean(1, keepdim=True)
        var = xs.var(1, unbiased=False, keepdim=True)
        xs = (xs - mu) / torch.sqrt(var + 1e-5)
        x = xs.reshape(B * N, -1) * self.norm_scale[node_model] + self.norm_bias[node_model]
        h = self.f_a(nn.functional.leaky_relu(x, LEAKY), gn)
        ee = self.f_b(e, ge)
        n_nodes = B * N
        agg_in = _segment_mean(ee, g.dst, n_nodes, g.deg)
        agg_out = _segment_mean(ee, g.src, n_nodes, g.deg)
        h = self.f_v(torch.cat([h, agg_in, agg_out], 1), gn)
        ee = self.f_e(torch.cat([ee, h[g.src], h[g.dst]], 1), ge)
        out_s = _segment_mean(ee, g.src, n_nodes, g.deg)
        in_s = _segment_mean(ee, g.dst, n_nodes, g.deg)
        out = self.head(torch.cat([h, out_s, in_s], 1), gn)
        if self.config.output_activation:
            out = nn.functional.leaky_relu(out, LEAKY)
        mu = (0.01 * self.scale) * out.reshape(B, N, 3).to(r.dtype)
        mu = mu - mu.mean(1, keepdim=True)  # no net translation, per structure
        if self.clip is not None:
            mu = mu.clamp(-self.clip, self.clip)
        return mu
