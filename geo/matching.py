"""Matching needs to providers (精准匹配): who serves whom, within reach and capacity, most urgent first.

The model
---------
*Needs* ``n`` (one service item each, an urgency ``u(n)`` in 1..3 and the need type of the
item: survival 生存型, care 关爱型, development 发展型) are matched to *offers* ``o`` (one
provider offering one item, with a monthly capacity ``c(o)``, a delivery and, for home
visits, a reach ``reach_m(o)``).

1. **Candidate arcs.** Need ``n`` may go to offer ``o`` only if ``o`` offers ``n``'s item and
   the reach rule of ``o``'s delivery holds:

   - 到站 ``onsite``: the walking distance from the household to the provider is within the
     settings' cutoff (``Settings.cutoff_m``: minutes x speed);
   - 上门 ``home``: the walking distance from the provider to the household is within
     ``reach_m(o)`` (:data:`DEFAULT_REACH_M` where the offer gives none);
   - 远程 ``remote``: always (no location needed; distance 0).

   Walking distances are those of the coverage engine (:mod:`geo.coverage`): the
   household's straight access leg to its nearest network vertex + the network distance
   (undirected walking network, integer centimetres) + the provider's access leg. A
   household more than ``Settings.max_access_m`` from the network is ``off_network`` and
   gets no onsite/home arc (as it is never counted as covered).
2. **Constraints.** Each need is matched to at most one offer; each offer serves at most
   ``c(o)`` needs.
3. **Objective, lexicographic.** First maximise ``U_survival`` = sum of ``u(n)`` over
   matched survival needs; with that at its optimum, maximise ``U_care``; then
   ``U_development``; finally minimise the total walking distance ``D`` (centimetres;
   remote matches count 0) of the matches.

The problem is one min-cost flow (a transportation problem): every need is a node with
supply 1 and two ways out, to each candidate offer (capacity 1, cost = walking cm) or to
"unmatched" (cost ``w_t x u(n)``); each offer node drains to the sink with capacity
``c(o)``. Minimising ``sum_unmatched w_t u(n) + D`` is the lexicographic objective when
the tier weights separate the tiers: with ``D_max`` the sum over needs of their longest
candidate arc and ``U_t`` the sum of urgencies of tier ``t``,
``w_development = D_max + 1``, ``w_care = w_development U_development + D_max + 1`` and
``w_survival = w_care U_care + w_development U_development + D_max + 1``: one unit of a
tier outweighs every possible gain of the tiers below and of the distance. The bounds are
taken per connected component of the flow graph (needs and offers linked by candidate
arcs), where tiers can compete at all; as each offer serves one item and each item has one
need type, a component holds one tier today and the weights stay small. Integer costs
keep the flow integral and the optimum exact. The solver is OR-Tools' ``SimpleMinCostFlow``;
costs that would overflow its int64 arithmetic raise :class:`core.errors.MatchingError`.

Every unmatched need gets a reason (:data:`core.vocab.MATCH_REASONS`), the first that
applies: ``no_offer`` (no offer of the item at all), ``no_location`` / ``off_network``
(the need has no usable location and no remote offer of the item), ``out_of_reach``
(offered, but no offer within reach), ``capacity`` (within reach of an offer whose
capacity went to more urgent needs, or to nearer ones of equal urgency). Needs left for
capacity name the nearest offer within reach: the one that could take them if its capacity
grew.

:class:`MatchingProblem` holds the candidate arcs (the distance part, computed once);
:meth:`MatchingProblem.solve` re-solves with capacity overrides in milliseconds.
:meth:`MatchingProblem.greedy` (most urgent first, nearest offer with capacity left) is a
baseline for the benchmark only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core.errors import MatchingError
from core.settings import Settings
from core.vocab import DELIVERIES, NEED_PRIORITY, NEED_TYPES, NEED_URGENCY_MAX, NEED_URGENCY_MIN
from geo.engine import cutoff_key
from geo.kernel import INF_KEY, LABEL_BITS, run_sources
from geo.snap import Snapper

log = logging.getLogger(__name__)

#: reach of a home-visit (上门) offer that gives none: 3 km of walking network
DEFAULT_REACH_M = 3000.0
#: the largest cost the solver may meet times its node count (OR-Tools scales costs by n + 1)
_COST_LIMIT = 1 << 62

NEED_COLUMNS = ("need_id", "household_id", "item_id", "urgency")
OFFER_COLUMNS = ("provider_id", "item_id", "capacity_per_month")
CATALOGUE_COLUMNS = ("item_id", "need_type", "delivery")
#: the first columns of :attr:`MatchingResult.needs`
RESULT_COLUMNS = (
    "need_id", "household_id", "item_id", "need_type", "urgency", "provider_id", "delivery",
    "walk_m", "matched", "reason", "nearest_provider_id", "nearest_walk_m",
)  # fmt: skip

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Objective:
    """The lexicographic objective of a matching: urgency sums per tier, then distance.

    Attributes
    ----------
    survival, care, development : int
        Sum of the urgencies of the matched needs of each need type.
    walk_cm : int
        Total walking distance of the matches in centimetres (remote matches count 0).
    """

    survival: int
    care: int
    development: int
    walk_cm: int

    def key(self) -> tuple[int, int, int, int]:
        """A tuple that sorts better matchings higher (``max(..., key=Objective.key)``)."""
        return (self.survival, self.care, self.development, -self.walk_cm)

    @property
    def walk_m(self) -> float:
        return self.walk_cm / 100.0


@dataclass(frozen=True)
class MatchingResult:
    """A matching in tidy tables.

    Attributes
    ----------
    needs : DataFrame
        One row per need, in input order: ``need_id, household_id, item_id, need_type``
        (code), ``urgency`` (1-3), ``provider_id`` (None when unmatched), ``delivery`` of the
        matched offer (code or None), ``walk_m`` (float; NaN when unmatched or remote),
        ``matched`` (bool), ``reason`` (a :data:`core.vocab.MATCH_REASONS` code; None when
        matched), ``nearest_provider_id`` and ``nearest_walk_m`` (for ``capacity``: the
        nearest offer within reach, the one that could take the need if its capacity grew).
    offers : DataFrame
        One row per offer: ``provider_id, item_id, delivery, capacity_per_month``
        (after overrides), ``assigned``, ``utilisation`` (assigned / capacity; NaN at 0
        capacity), ``in_reach`` (needs with an arc to the offer).
    providers : DataFrame
        ``provider_id, capacity_per_month, assigned, utilisation, n_items``: offers summed.
    objective : Objective
    method : str
        ``"min_cost_flow"`` or ``"greedy"``.
    solve_s : float
        Seconds spent in :meth:`MatchingProblem.solve` / ``greedy`` (distances excluded).
    """

    needs: pd.DataFrame
    offers: pd.DataFrame
    providers: pd.DataFrame
    objective: Objective
    method: str
    solve_s: float


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------


def _require(frame: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        msg = f"{what} lacks column(s): {', '.join(missing)} (have: {', '.join(map(str, frame.columns))})"
        raise MatchingError(msg)


def _int_column(frame: pd.DataFrame, col: str, what: str, lo: int, hi: int | None) -> IntArray:
    num = pd.to_numeric(frame[col], errors="coerce")
    ok = num.notna() & (num == np.floor(num)) & (num >= lo)
    if hi is not None:
        ok &= num <= hi
    if not ok.all():
        i = int(np.flatnonzero(~ok.to_numpy())[0])
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        msg = f"{what}: row {i + 1}: {col} {str(frame[col].iloc[i])!r} is not a whole number in {rng}"
        raise MatchingError(msg)
    return num.to_numpy(dtype=np.int64)


def _where(mask: pd.Series) -> str:
    """``row k`` (1-based) of the first True in ``mask``."""
    return f"row {int(np.flatnonzero(mask.to_numpy())[0]) + 1}"


def _unique_ids(ids: pd.Series, what: str) -> None:
    dup = ids[ids.duplicated()]
    if len(dup):
        msg = f"{what}: duplicate {dup.name} {dup.iloc[0]!r}"
        raise MatchingError(msg)


@dataclass(frozen=True)
class _Located:
    node: IntArray  # -1: no location
    access_cm: IntArray
    off_network: npt.NDArray[np.bool_]


def _locate(frame: pd.DataFrame, snapper: Snapper, settings: Settings) -> _Located:
    if "lon" in frame.columns and "lat" in frame.columns:
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=np.float64)
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=np.float64)
    else:
        lon = lat = np.full(len(frame), np.nan)
    sn = snapper.snap(lon, lat)
    off = (sn.node >= 0) & (np.nan_to_num(sn.access_m, nan=0.0) > settings.max_access_m)
    return _Located(node=sn.node, access_cm=sn.access_cm, off_network=off)


# --------------------------------------------------------------------------------------
# candidate arcs on the walking network
# --------------------------------------------------------------------------------------


def candidate_arcs(
    snapper: Snapper,
    *,
    need_item: IntArray,
    need_node: IntArray,
    need_access_cm: IntArray,
    offer_provider: IntArray,
    offer_item: IntArray,
    offer_delivery: IntArray,
    offer_limit_cm: IntArray,
    provider_node: IntArray,
    provider_access_cm: IntArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """Every (need, offer) pair allowed by the reach rules, with its walking distance.

    Runs one bounded Dijkstra from each provider that has onsite or home offers, as far as
    the longest limit of its offers, on the walking network (integer centimetres, the
    kernel of :mod:`geo.kernel`), and reads the distances at the needs' nodes.

    Parameters
    ----------
    snapper : Snapper
        Its network is searched.
    need_item, offer_item : int arrays
        Item index of each need / offer.
    need_node, need_access_cm : int arrays
        Snapped node (``-1``: unusable for onsite/home) and access leg of each need.
    offer_provider : int array
        Provider index of each offer (into ``provider_node``).
    offer_delivery : int array
        Index into :data:`core.vocab.DELIVERIES` of each offer.
    offer_limit_cm : int array
        Largest walking distance of each onsite / home offer (ignored for remote).
    provider_node, provider_access_cm : int arrays
        Snapped node (``-1``: no location, only remote offers usable) and access leg.

    Returns
    -------
    (arc_need, arc_offer, arc_cm) : int arrays of equal length, sorted by need then
        distance. Remote arcs have distance 0.
    """
    net = snapper.network
    remote = DELIVERIES.index("remote")
    n_items = int(max(need_item.max(initial=-1), offer_item.max(initial=-1))) + 1
    order = np.argsort(need_item, kind="stable")
    bounds = np.searchsorted(need_item[order], np.arange(n_items + 1))
    by_item = [order[bounds[i] : bounds[i + 1]] for i in range(n_items)]
    located_by_item = [idx[need_node[idx] >= 0] for idx in by_item]
    parts_n: list[IntArray] = []
    parts_o: list[IntArray] = []
    parts_d: list[IntArray] = []
    for o in np.flatnonzero(offer_delivery == remote):
        idx = by_item[offer_item[o]]
        parts_n.append(idx)
        parts_o.append(np.full(idx.shape[0], o, dtype=np.int64))
        parts_d.append(np.zeros(idx.shape[0], dtype=np.int64))
    walked = np.flatnonzero((offer_delivery != remote) & (provider_node[offer_provider] >= 0))
    keys = np.empty(net.n_nodes, dtype=np.int64)
    for p in np.unique(offer_provider[walked]):
        offs = walked[offer_provider[walked] == p]
        if not any(located_by_item[offer_item[o]].size for o in offs):
            continue
        keys.fill(INF_KEY)
        src_key = np.array([int(provider_access_cm[p]) << LABEL_BITS], dtype=np.int64)
        run_sources(
            net.indptr,
            net.indices,
            net.weight_cm,
            keys,
            provider_node[p : p + 1].astype(np.int32),
            src_key,
            cutoff_key(int(offer_limit_cm[offs].max())),
        )
        for o in offs:
            idx = located_by_item[offer_item[o]]
            k = keys[need_node[idx]]
            d = np.where(k != INF_KEY, (k >> LABEL_BITS) + need_access_cm[idx], -1)
            ok = (d >= 0) & (d <= offer_limit_cm[o])
            parts_n.append(idx[ok])
            parts_o.append(np.full(int(ok.sum()), o, dtype=np.int64))
            parts_d.append(d[ok])
    if not parts_n:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    an, ao, ad = np.concatenate(parts_n), np.concatenate(parts_o), np.concatenate(parts_d)
    srt = np.lexsort((ao, ad, an))
    return an[srt].astype(np.int64), ao[srt].astype(np.int64), ad[srt].astype(np.int64)


# --------------------------------------------------------------------------------------
# the problem
# --------------------------------------------------------------------------------------


class MatchingProblem:
    """Needs, offers and their candidate arcs, built once; solved again per capacity change.

    Build it with :func:`matching_problem` (from tables and a network) or directly from a
    cost table (``arc_need, arc_offer, arc_cm``), the numeric core the tests use.

    Parameters
    ----------
    needs : DataFrame
        ``need_id, household_id, item_id, need_type`` (code), ``urgency`` (1-3) and
        ``location`` (``"ok"``, ``"no_location"`` or ``"off_network"``), one row per need.
    offers : DataFrame
        ``provider_id, item_id, delivery`` (code), ``capacity_per_month`` (int >= 0), one row
        per offer; (provider_id, item_id) unique.
    arc_need, arc_offer : int arrays
        Row positions into ``needs`` and ``offers`` of each candidate arc.
    arc_cm : int array
        Walking distance of each arc in centimetres (0 for remote offers).
    """

    def __init__(
        self,
        needs: pd.DataFrame,
        offers: pd.DataFrame,
        arc_need: npt.ArrayLike,
        arc_offer: npt.ArrayLike,
        arc_cm: npt.ArrayLike,
    ) -> None:
        _require(needs, (*NEED_COLUMNS, "need_type", "location"), "needs")
        _require(offers, (*OFFER_COLUMNS, "delivery"), "offers")
        self.needs = needs.reset_index(drop=True)
        self.offers = offers.reset_index(drop=True)
        _unique_ids(self.needs["need_id"], "needs")
        key = self.offers["provider_id"].astype(str) + "\x1f" + self.offers["item_id"].astype(str)
        if key.duplicated().any():
            i = int(np.flatnonzero(key.duplicated().to_numpy())[0])
            pid, item = self.offers["provider_id"].iloc[i], self.offers["item_id"].iloc[i]
            msg = f"offers: provider {pid!r} offers item {item!r} twice"
            raise MatchingError(msg)
        bad_type = ~self.needs["need_type"].isin(NEED_TYPES)
        if bad_type.any():
            msg = f"needs: unknown need_type {self.needs['need_type'][bad_type].iloc[0]!r}"
            raise MatchingError(msg)
        self.urgency = _int_column(self.needs, "urgency", "needs", NEED_URGENCY_MIN, NEED_URGENCY_MAX)
        self.tier = self.needs["need_type"].map(NEED_PRIORITY).to_numpy(dtype=np.int64)
        self.capacity = _int_column(self.offers, "capacity_per_month", "offers", 0, None)
        self.arc_need = np.asarray(arc_need, dtype=np.int64)
        self.arc_offer = np.asarray(arc_offer, dtype=np.int64)
        self.arc_cm = np.asarray(arc_cm, dtype=np.int64)
        n, m = len(self.needs), len(self.offers)
        if not (self.arc_need.shape == self.arc_offer.shape == self.arc_cm.shape):
            msg = "arc_need, arc_offer and arc_cm differ in length"
            raise MatchingError(msg)
        if self.arc_need.size and (
            self.arc_need.min() < 0 or self.arc_need.max() >= n or self.arc_offer.min() < 0 or self.arc_offer.max() >= m
        ):
            msg = "an arc points outside the needs or offers"
            raise MatchingError(msg)
        if self.arc_cm.size and self.arc_cm.min() < 0:
            msg = "arc distances must be >= 0"
            raise MatchingError(msg)
        if (self.needs["item_id"].to_numpy()[self.arc_need] != self.offers["item_id"].to_numpy()[self.arc_offer]).any():
            msg = "an arc joins a need to an offer of another item"
            raise MatchingError(msg)
        self._offer_index = {
            (str(p), str(i)): k for k, (p, i) in enumerate(zip(offers["provider_id"], offers["item_id"], strict=True))
        }
        self._context: _Context | None = None
        codes, uniques = pd.factorize(self.offers["provider_id"].astype(str), sort=False)
        self._provider_codes = (codes.astype(np.int64), np.asarray(uniques, dtype=object))
        self._reasons_without_arcs()
        self._weights()

    def with_offers(self, offers: pd.DataFrame) -> MatchingProblem:
        """A new problem with ``offers`` added (what-if: a provider takes on an item, a new provider).

        Only the new offers' arcs are computed (one bounded search per new provider
        location); the others are reused. To change an existing offer's capacity use
        ``solve(capacity_overrides=...)`` instead.

        Parameters
        ----------
        offers : DataFrame
            Like the ``offers`` of :func:`matching_problem` (``provider_id, item_id,
            capacity_per_month, lon, lat``, optional ``delivery, reach_m``).

        Raises
        ------
        MatchingError
            When the problem was built from a cost table (no network), an item is not in
            the catalogue, or a (provider, item) pair is offered already.
        """
        ctx = self._context
        if ctx is None:
            msg = "this problem was built from a cost table; build it with matching_problem to add offers"
            raise MatchingError(msg)
        of, delivery_idx, limit_cm = _prepare_offers(offers, ctx.catalogue, ctx.settings)
        an, ao, ad = _arcs_of_offers(ctx, of, delivery_idx, limit_cm)
        arc_need = np.concatenate([self.arc_need, an])
        arc_offer = np.concatenate([self.arc_offer, ao + len(self.offers)])
        arc_cm = np.concatenate([self.arc_cm, ad])
        srt = np.lexsort((arc_offer, arc_cm, arc_need))
        cols = ["provider_id", "item_id", "delivery", "capacity_per_month", "reach_m"]
        all_offers = pd.concat([self.offers[cols], of[cols]], ignore_index=True)
        problem = MatchingProblem(self.needs, all_offers, arc_need[srt], arc_offer[srt], arc_cm[srt])
        problem._context = ctx
        return problem

    # -- set-up -------------------------------------------------------------------
    def _reasons_without_arcs(self) -> None:
        n = len(self.needs)
        has_arc = np.zeros(n, dtype=bool)
        has_arc[self.arc_need] = True
        self.has_arc = has_arc
        offered = self.needs["item_id"].isin(set(self.offers["item_id"])).to_numpy()
        loc = self.needs["location"].to_numpy(dtype=object)
        remote_items = set(self.offers.loc[self.offers["delivery"] == "remote", "item_id"])
        has_remote = self.needs["item_id"].isin(remote_items).to_numpy()
        reason = np.full(n, None, dtype=object)
        reason[~has_arc] = "out_of_reach"
        for code in ("off_network", "no_location"):
            reason[~has_arc & (loc == code) & ~has_remote] = code
        reason[~has_arc & ~offered] = "no_offer"
        self._fixed_reason = reason
        # nearest offer within reach of each need (arcs are sorted by need, then distance)
        first = np.full(n, -1, dtype=np.int64)
        if self.arc_need.size:
            starts = np.r_[0, np.flatnonzero(np.diff(self.arc_need)) + 1]
            first[self.arc_need[starts]] = starts
        self._first_arc = first

    def _weights(self) -> None:
        """Tier weights per connected component of the flow graph (see the module docstring)."""
        n, m = len(self.needs), len(self.offers)
        if self.arc_need.size == 0:
            self.unmatched_cost = np.zeros(n, dtype=np.int64)
            return
        g = coo_matrix(
            (np.ones(self.arc_need.size, dtype=np.int8), (self.arc_need, n + self.arc_offer)), shape=(n + m, n + m)
        )
        _, comp = connected_components(g, directed=False)
        ncomp = int(comp.max()) + 1
        need_comp = comp[:n]
        longest = np.zeros(n, dtype=np.int64)
        np.maximum.at(longest, self.arc_need, self.arc_cm)
        d_max = np.bincount(need_comp[self.has_arc], weights=longest[self.has_arc], minlength=ncomp).astype(object)
        u = [
            np.bincount(
                need_comp[self.has_arc & (self.tier == t)],
                weights=self.urgency[self.has_arc & (self.tier == t)],
                minlength=ncomp,
            ).astype(object)
            for t in range(len(NEED_TYPES))
        ]
        # Python ints: exact, then checked against the solver's int64 range
        w: list[list[int]] = [[0] * ncomp for _ in NEED_TYPES]
        for c in range(ncomp):
            below = int(d_max[c])  # largest gain available below the current tier
            for t in reversed(range(len(NEED_TYPES))):
                w[t][c] = below + 1
                below += w[t][c] * int(u[t][c])
        cost = [
            w[int(self.tier[i])][int(need_comp[i])] * int(self.urgency[i]) if self.has_arc[i] else 0 for i in range(n)
        ]
        biggest = max(cost, default=0)
        total = sum(cost) + int(self.arc_cm.sum())
        if biggest * (n + m + 2) >= _COST_LIMIT or total >= _COST_LIMIT:
            msg = (
                f"the tier weights of this instance (largest cost {biggest}) overflow the solver's 64-bit "
                "arithmetic; split the instance (e.g. by town) or shorten the reach of home offers"
            )
            raise MatchingError(msg)
        self.unmatched_cost = np.asarray(cost, dtype=np.int64)

    def _capacities(self, capacity_overrides: Mapping[tuple[str, str], int] | None) -> IntArray:
        cap = self.capacity.copy()
        for (pid, item), value in (capacity_overrides or {}).items():
            k = self._offer_index.get((str(pid), str(item)))
            if k is None:
                msg = f"no offer of item {item!r} by provider {pid!r} to change"
                raise MatchingError(msg)
            if int(value) < 0:
                msg = f"capacity of {pid!r} for {item!r} must be >= 0, got {value}"
                raise MatchingError(msg)
            cap[k] = int(value)
        return cap

    # -- solving ------------------------------------------------------------------
    def solve(self, capacity_overrides: Mapping[tuple[str, str], int] | None = None) -> MatchingResult:
        """The lexicographic optimum (OR-Tools min-cost flow).

        Parameters
        ----------
        capacity_overrides : mapping ``(provider_id, item_id) -> capacity``, optional
            What-if capacities replacing those of the offers (the arcs are reused).

        Returns
        -------
        MatchingResult
        """
        from ortools.graph.python import min_cost_flow

        t0 = time.perf_counter()
        cap = self._capacities(capacity_overrides)
        n, m = len(self.needs), len(self.offers)
        active = np.flatnonzero(self.has_arc)
        assigned = np.full(n, -1, dtype=np.int64)
        if active.size:
            # nodes: needs with arcs 0..a-1, offers a..a+m-1, sink a+m
            a = active.size
            pos = np.full(n, -1, dtype=np.int64)
            pos[active] = np.arange(a)
            sink = a + m
            tails = np.concatenate([pos[self.arc_need], np.arange(a), a + np.arange(m)])
            heads = np.concatenate([a + self.arc_offer, np.full(a, sink), np.full(m, sink)])
            caps = np.concatenate([np.ones(self.arc_need.size + a, dtype=np.int64), cap])
            costs = np.concatenate([self.arc_cm, self.unmatched_cost[active], np.zeros(m, dtype=np.int64)])
            mcf = min_cost_flow.SimpleMinCostFlow()
            mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
            supplies = np.concatenate([np.ones(a, dtype=np.int64), np.zeros(m, dtype=np.int64), [-a]])
            mcf.set_nodes_supplies(np.arange(a + m + 1), supplies)
            status = mcf.solve()
            if status != mcf.OPTIMAL:
                msg = f"the min-cost flow solver stopped with status {status}"
                raise MatchingError(msg)
            flow = mcf.flows(np.arange(self.arc_need.size))
            used = np.flatnonzero(flow > 0)
            assigned[self.arc_need[used]] = used
        return self._result(assigned, cap, "min_cost_flow", time.perf_counter() - t0)

    def greedy(self, capacity_overrides: Mapping[tuple[str, str], int] | None = None) -> MatchingResult:
        """Baseline for the benchmark: most urgent first, each to its nearest offer with capacity left.

        Needs are taken by need type (survival first), then urgency (high first), then input
        order. Not optimal; use :meth:`solve`.
        """
        t0 = time.perf_counter()
        cap = self._capacities(capacity_overrides)
        left = cap.copy()
        n = len(self.needs)
        assigned = np.full(n, -1, dtype=np.int64)
        order = np.lexsort((np.arange(n), -self.urgency, self.tier))
        first = self._first_arc
        an, ao = self.arc_need, self.arc_offer
        na = an.size
        for i in order:
            k = int(first[i])
            if k < 0:
                continue
            while k < na and an[k] == i:
                o = ao[k]
                if left[o] > 0:
                    left[o] -= 1
                    assigned[i] = k
                    break
                k += 1
        return self._result(assigned, cap, "greedy", time.perf_counter() - t0)

    # -- results ------------------------------------------------------------------
    def objective_of(self, assigned_offer: npt.ArrayLike) -> Objective:
        """The objective of an assignment given as one offer position per need (``-1``: none).

        Raises :class:`MatchingError` if a pair is no candidate arc (the pair's distance is
        that arc's).
        """
        ao = np.asarray(assigned_offer, dtype=np.int64)
        lookup = {(int(i), int(o)): int(d) for i, o, d in zip(self.arc_need, self.arc_offer, self.arc_cm, strict=True)}
        walk = 0
        for i in np.flatnonzero(ao >= 0):
            d = lookup.get((int(i), int(ao[i])))
            if d is None:
                msg = f"need {i} cannot go to offer {ao[i]}"
                raise MatchingError(msg)
            walk += d
        got = ao >= 0
        sums = [int(self.urgency[got & (self.tier == t)].sum()) for t in range(len(NEED_TYPES))]
        return Objective(sums[0], sums[1], sums[2], walk)

    def _result(self, assigned_arc: IntArray, cap: IntArray, method: str, seconds: float) -> MatchingResult:
        n, m = len(self.needs), len(self.offers)
        got = assigned_arc >= 0
        offer = np.where(got, self.arc_offer[np.maximum(assigned_arc, 0)], -1)
        dist = np.where(got, self.arc_cm[np.maximum(assigned_arc, 0)], 0)
        delivery_of = self.offers["delivery"].to_numpy(dtype=object)
        pid_of = self.offers["provider_id"].to_numpy(dtype=object)
        is_remote = got & (delivery_of[np.maximum(offer, 0)] == "remote")
        reason = self._fixed_reason.copy()
        reason[got] = None
        reason[~got & self.has_arc] = "capacity"
        near = np.full(n, None, dtype=object)
        near_m = np.full(n, np.nan)
        cap_left = ~got & self.has_arc
        fa = self._first_arc[cap_left]
        near[cap_left] = pid_of[self.arc_offer[fa]]
        near_remote = delivery_of[self.arc_offer[fa]] == "remote"
        near_m[cap_left] = np.where(near_remote, np.nan, self.arc_cm[fa] / 100.0)
        provider = np.full(n, None, dtype=object)
        provider[got] = pid_of[offer[got]]
        delivery = np.full(n, None, dtype=object)
        delivery[got] = delivery_of[offer[got]]
        walk_m = np.where(got & ~is_remote, dist / 100.0, np.nan)
        needs = pd.DataFrame(
            {
                "need_id": self.needs["need_id"].to_numpy(dtype=object),
                "household_id": self.needs["household_id"].to_numpy(dtype=object),
                "item_id": self.needs["item_id"].to_numpy(dtype=object),
                "need_type": self.needs["need_type"].to_numpy(dtype=object),
                "urgency": self.urgency,
                "provider_id": pd.Series(provider, dtype=object),
                "delivery": pd.Series(delivery, dtype=object),
                "walk_m": walk_m,
                "matched": got,
                "reason": pd.Series(reason, dtype=object),
                "nearest_provider_id": pd.Series(near, dtype=object),
                "nearest_walk_m": near_m,
            }
        )
        n_assigned = np.bincount(offer[got], minlength=m).astype(np.int64)
        in_reach = np.bincount(self.arc_offer, minlength=m).astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(cap > 0, n_assigned / np.maximum(cap, 1), np.nan)
        offers = pd.DataFrame(
            {
                "provider_id": self.offers["provider_id"].to_numpy(dtype=object),
                "item_id": self.offers["item_id"].to_numpy(dtype=object),
                "delivery": delivery_of,
                "capacity_per_month": cap,
                "assigned": n_assigned,
                "utilisation": util,
                "in_reach": in_reach,
            }
        )
        code, names = self._provider_codes
        p_cap = np.bincount(code, weights=cap, minlength=names.shape[0]).astype(np.int64)
        p_got = np.bincount(code, weights=n_assigned, minlength=names.shape[0]).astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_util = np.where(p_cap > 0, p_got / np.maximum(p_cap, 1), np.nan)
        providers = pd.DataFrame(
            {
                "provider_id": names,
                "capacity_per_month": p_cap,
                "assigned": p_got,
                "utilisation": p_util,
                "n_items": np.bincount(code, minlength=names.shape[0]).astype(np.int64),
            }
        )
        sums = [int(self.urgency[got & (self.tier == t)].sum()) for t in range(len(NEED_TYPES))]
        objective = Objective(sums[0], sums[1], sums[2], int(dist[got & ~is_remote].sum()))
        return MatchingResult(needs, offers, providers, objective, method, seconds)


# --------------------------------------------------------------------------------------
# from tables
# --------------------------------------------------------------------------------------


def _prepare_offers(
    offers: pd.DataFrame, cat: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame, IntArray, IntArray]:
    """Offers with ids as text, delivery resolved (own or the item's), ``reach_m``; delivery index and limit (cm)."""
    _require(offers, OFFER_COLUMNS, "offers")
    item_index = set(cat["item_id"])
    of = offers.reset_index(drop=True).copy()
    of["provider_id"] = of["provider_id"].astype(str)
    of["item_id"] = of["item_id"].astype(str)
    unknown = ~of["item_id"].isin(item_index)
    if unknown.any():
        msg = f"offers: {_where(unknown)}: item {of['item_id'][unknown].iloc[0]!r} is not in the catalogue"
        raise MatchingError(msg)
    cat_delivery = dict(zip(cat["item_id"], cat["delivery"], strict=True))
    own = of["delivery"] if "delivery" in of.columns else pd.Series([None] * len(of), dtype=object)
    of["delivery"] = [
        cat_delivery[i] if pd.isna(d) or not str(d).strip() else str(d).strip()
        for d, i in zip(own, of["item_id"], strict=True)
    ]
    bad = ~of["delivery"].isin(DELIVERIES)
    if bad.any():
        msg = f"offers: {_where(bad)}: delivery {of['delivery'][bad].iloc[0]!r} (use {', '.join(DELIVERIES)})"
        raise MatchingError(msg)
    reach = (
        pd.to_numeric(of["reach_m"], errors="coerce") if "reach_m" in of.columns else pd.Series(np.nan, index=of.index)
    )
    if (reach < 0).any():
        msg = "offers: reach_m must be >= 0"
        raise MatchingError(msg)
    reach_m = reach.fillna(DEFAULT_REACH_M).to_numpy(dtype=np.float64)
    delivery_idx = np.asarray(of["delivery"].map({d: k for k, d in enumerate(DELIVERIES)}), dtype=np.int64)
    limit_cm = np.where(of["delivery"] == "home", np.rint(reach_m * 100.0), settings.cutoff_cm).astype(np.int64)
    of["reach_m"] = reach_m
    return of, delivery_idx, limit_cm


def matching_problem(
    needs: pd.DataFrame,
    offers: pd.DataFrame,
    catalogue: pd.DataFrame,
    *,
    snapper: Snapper,
    settings: Settings,
) -> MatchingProblem:
    """Build a :class:`MatchingProblem` from tables and the walking network (the distance part).

    Parameters
    ----------
    needs : DataFrame
        ``need_id, item_id, urgency`` (1-3), optional ``household_id``, and ``lon, lat``
        (WGS-84; NaN where unknown, as for remote-only needs).
    offers : DataFrame
        ``provider_id, item_id, capacity_per_month, lon, lat`` and optional ``delivery``
        (code; empty = the item's) and ``reach_m`` (home visits; empty = :data:`DEFAULT_REACH_M`).
    catalogue : DataFrame
        ``item_id, need_type, delivery`` (codes of :data:`core.vocab.NEED_TYPES` and
        :data:`core.vocab.DELIVERIES`).
    snapper : Snapper
        Snaps needs and providers onto the walking network.
    settings : Settings
        ``cutoff_m`` is the onsite reach, ``max_access_m`` the off-network limit.

    Returns
    -------
    MatchingProblem
    """
    _require(needs, ("need_id", "item_id", "urgency"), "needs")
    _require(offers, OFFER_COLUMNS, "offers")
    _require(catalogue, CATALOGUE_COLUMNS, "catalogue")
    cat = catalogue.assign(item_id=catalogue["item_id"].astype(str)).drop_duplicates("item_id", keep="last")
    for col, codes in (("need_type", NEED_TYPES), ("delivery", DELIVERIES)):
        bad = ~cat[col].isin(codes)
        if bad.any():
            item, value = cat["item_id"][bad].iloc[0], cat[col][bad].iloc[0]
            msg = f"catalogue: item {item!r} has {col} {value!r} (use {', '.join(codes)})"
            raise MatchingError(msg)
    item_index = {it: k for k, it in enumerate(cat["item_id"])}
    nd = needs.reset_index(drop=True).copy()
    nd["need_id"] = nd["need_id"].astype(str)
    nd["item_id"] = nd["item_id"].astype(str)
    if "household_id" not in nd.columns:
        nd["household_id"] = None
    unknown = ~nd["item_id"].isin(item_index)
    if unknown.any():
        msg = f"needs: {_where(unknown)}: item {nd['item_id'][unknown].iloc[0]!r} is not in the catalogue"
        raise MatchingError(msg)
    of, delivery_idx, limit_cm = _prepare_offers(offers, cat, settings)
    need_loc = _locate(nd, snapper, settings)
    usable = (need_loc.node >= 0) & ~need_loc.off_network
    nd["need_type"] = nd["item_id"].map(dict(zip(cat["item_id"], cat["need_type"], strict=True)))
    nd["location"] = np.where(need_loc.node < 0, "no_location", np.where(need_loc.off_network, "off_network", "ok"))
    # providers: one location per provider (its first row's)
    ctx = _Context(
        snapper=snapper,
        settings=settings,
        catalogue=cat,
        item_index=item_index,
        need_item=nd["item_id"].map(item_index).to_numpy(dtype=np.int64),
        need_node=np.where(usable, need_loc.node, -1),
        need_access_cm=need_loc.access_cm,
    )
    arc_need, arc_offer, arc_cm = _arcs_of_offers(ctx, of, delivery_idx, limit_cm)
    problem = MatchingProblem(
        nd[["need_id", "household_id", "item_id", "need_type", "urgency", "location"]],
        of[["provider_id", "item_id", "delivery", "capacity_per_month", "reach_m"]],
        arc_need,
        arc_offer,
        arc_cm,
    )
    problem._context = ctx
    return problem


@dataclass(frozen=True)
class _Context:
    """What :func:`matching_problem` knew of the network, kept for :meth:`MatchingProblem.with_offers`."""

    snapper: Snapper
    settings: Settings
    catalogue: pd.DataFrame
    item_index: dict[str, int]
    need_item: IntArray
    need_node: IntArray
    need_access_cm: IntArray


def _arcs_of_offers(
    ctx: _Context, of: pd.DataFrame, delivery_idx: IntArray, limit_cm: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    # providers: one location per provider (its first row's)
    prov_first = of.drop_duplicates("provider_id")
    prov_index = {p: k for k, p in enumerate(prov_first["provider_id"])}
    prov_loc = _locate(prov_first, ctx.snapper, ctx.settings)
    for pid in prov_first["provider_id"][prov_loc.off_network]:
        log.warning("provider %s is more than %.0f m from the walking network", pid, ctx.settings.max_access_m)
    return candidate_arcs(
        ctx.snapper,
        need_item=ctx.need_item,
        need_node=ctx.need_node,
        need_access_cm=ctx.need_access_cm,
        offer_provider=of["provider_id"].map(prov_index).to_numpy(dtype=np.int64),
        offer_item=np.asarray(of["item_id"].map(ctx.item_index), dtype=np.int64),
        offer_delivery=delivery_idx,
        offer_limit_cm=limit_cm,
        provider_node=prov_loc.node,
        provider_access_cm=prov_loc.access_cm,
    )
