"""Nearest-hub walking distances on a :class:`~geo.graph.WalkNetwork`, with what-if edits.

The engine holds, for every network node, the walking distance to its nearest hub and
that hub's slot, up to a cutoff. Hubs live in stable *slots*; ``add_hub``,
``remove_hub`` and ``move_hub`` repair only the part of the network that changes and
give exactly the result of :meth:`CoverageEngine.recompute` (ties go to the lower slot).

The full search runs on the network with its degree-2 chains contracted
(:mod:`geo.contract`); the edits run the full-graph kernels of :mod:`geo.kernel` on the
same keys, which the contracted search reproduces bit for bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.errors import HubError
from geo.contract import contracted_keys, contraction_of
from geo.graph import WalkNetwork
from geo.kernel import INF_KEY, LABEL_BITS, LABEL_MASK, MAX_SLOTS, remove_label, run_sources

NO_HUB = -1


def cutoff_key(cutoff_cm: int) -> int:
    """The largest key whose distance is within ``cutoff_cm``."""
    return (int(cutoff_cm) << LABEL_BITS) | LABEL_MASK


def source_keys(offset_cm: npt.ArrayLike, slots: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Pack hub access legs (cm) and slots into kernel keys."""
    off = np.asarray(offset_cm, dtype=np.int64)
    sl = np.asarray(slots, dtype=np.int64)
    if off.size and (off.min() < 0 or off.max() >= (1 << (62 - LABEL_BITS))):
        msg = "hub access legs must be non-negative and finite"
        raise HubError(msg)
    return (off << LABEL_BITS) | sl


def multi_source_keys(
    network: WalkNetwork,
    hub_nodes: npt.ArrayLike,
    hub_offset_cm: npt.ArrayLike,
    *,
    cutoff_cm: int,
    slots: npt.ArrayLike | None = None,
) -> npt.NDArray[np.int64]:
    """Full bounded multi-source search; returns one packed key per node (``INF_KEY`` if unreached).

    Runs on ``contraction_of(network)`` (built once per network); the keys equal those of
    :func:`geo.kernel.run_sources` on the full network, bit for bit.
    """
    nodes = np.asarray(hub_nodes, dtype=np.int32)
    sl = np.arange(nodes.shape[0]) if slots is None else np.asarray(slots)
    if nodes.size and (nodes.min() < 0 or nodes.max() >= network.n_nodes):
        msg = "hub node outside the network"
        raise HubError(msg)
    return contracted_keys(contraction_of(network), nodes, source_keys(hub_offset_cm, sl), cutoff_key(cutoff_cm))


def keys_to_dist_label(keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Split packed keys into ``(dist_cm, slot)``; unreached nodes get ``-1`` for both."""
    reached = keys != INF_KEY
    dist = np.where(reached, keys >> LABEL_BITS, -1)
    label = np.where(reached, keys & LABEL_MASK, NO_HUB)
    return dist, label


def nearest_hub_cm(
    network: WalkNetwork,
    hub_nodes: npt.ArrayLike,
    hub_offset_cm: npt.ArrayLike,
    slots: npt.ArrayLike,
    cutoff_cm: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per node, the distance (cm) to the nearest of the hubs and that hub's slot; ``-1`` if none in reach."""
    return keys_to_dist_label(multi_source_keys(network, hub_nodes, hub_offset_cm, cutoff_cm=cutoff_cm, slots=slots))


class CoverageEngine:
    """Bounded nearest-hub search with incremental add / remove / move.

    Parameters
    ----------
    network : WalkNetwork
        The walking network (shared, never modified).
    cutoff_cm : int
        Search bound in centimetres (``Settings.cutoff_cm``).
    """

    def __init__(self, network: WalkNetwork, *, cutoff_cm: int) -> None:
        self.network = network
        self.cutoff_cm = int(cutoff_cm)
        self._ckey = cutoff_key(self.cutoff_cm)
        self.keys = np.full(network.n_nodes, INF_KEY, dtype=np.int64)
        self.hub_node = np.zeros(0, dtype=np.int32)
        self.hub_offset_cm = np.zeros(0, dtype=np.int64)
        self.hub_active = np.zeros(0, dtype=bool)
        self._mark = np.zeros(network.n_nodes, dtype=np.bool_)

    # -- whole sets ---------------------------------------------------------------
    def set_hubs(self, hub_nodes: npt.ArrayLike, hub_offset_cm: npt.ArrayLike) -> None:
        """Replace all hubs (slots 0..n-1) and run the full search."""
        nodes = np.asarray(hub_nodes, dtype=np.int32)
        off = np.asarray(hub_offset_cm, dtype=np.int64)
        if nodes.shape != off.shape:
            msg = "hub_nodes and hub_offset_cm differ in length"
            raise HubError(msg)
        if nodes.shape[0] > MAX_SLOTS:
            msg = f"at most {MAX_SLOTS} hubs are supported"
            raise HubError(msg)
        self._check_nodes(nodes)
        self.hub_node = nodes.copy()
        self.hub_offset_cm = off.copy()
        self.hub_active = np.ones(nodes.shape[0], dtype=bool)
        self.recompute()

    def recompute(self) -> None:
        """Full bounded multi-source search over the active hubs."""
        act = np.flatnonzero(self.hub_active)
        self.keys = multi_source_keys(
            self.network, self.hub_node[act], self.hub_offset_cm[act], cutoff_cm=self.cutoff_cm, slots=act
        )

    # -- edits --------------------------------------------------------------------
    def add_hub(self, node: int, offset_cm: int = 0) -> int:
        """Add a hub at network node ``node``; returns its slot."""
        self._check_nodes(np.array([node]))
        slot = int(self.hub_node.shape[0])
        if slot >= MAX_SLOTS:
            msg = f"at most {MAX_SLOTS} hub slots are supported"
            raise HubError(msg)
        self.hub_node = np.append(self.hub_node, np.int32(node))
        self.hub_offset_cm = np.append(self.hub_offset_cm, np.int64(offset_cm))
        self.hub_active = np.append(self.hub_active, True)
        self._seed(slot)
        return slot

    def remove_hub(self, slot: int) -> int:
        """Deactivate hub ``slot``; returns the number of nodes repaired."""
        self._check_slot(slot)
        self.hub_active[slot] = False
        act = np.flatnonzero(self.hub_active)
        return int(
            remove_label(
                self.network.indptr,
                self.network.indices,
                self.network.weight_cm,
                self.keys,
                np.int64(slot),
                np.int32(self.hub_node[slot]),
                self.hub_node[act],
                source_keys(self.hub_offset_cm[act], act),
                self._mark,
                self._ckey,
            )
        )

    def move_hub(self, slot: int, node: int, offset_cm: int = 0) -> None:
        """Move hub ``slot`` to ``node`` (keeps its slot)."""
        self._check_nodes(np.array([node]))
        self.remove_hub(slot)
        self.hub_node[slot] = node
        self.hub_offset_cm[slot] = offset_cm
        self.hub_active[slot] = True
        self._seed(slot)

    def restore_hub(self, slot: int) -> None:
        """Re-activate a removed hub at its last position."""
        if self.hub_active[slot]:
            return
        self.hub_active[slot] = True
        self._seed(slot)

    def copy(self) -> CoverageEngine:
        """An independent engine with the same state (the network is shared)."""
        other = CoverageEngine.__new__(CoverageEngine)
        other.network = self.network
        other.cutoff_cm = self.cutoff_cm
        other._ckey = self._ckey
        other.keys = self.keys.copy()
        other.hub_node = self.hub_node.copy()
        other.hub_offset_cm = self.hub_offset_cm.copy()
        other.hub_active = self.hub_active.copy()
        other._mark = np.zeros(self.network.n_nodes, dtype=np.bool_)
        return other

    # -- results ------------------------------------------------------------------
    @property
    def dist_cm(self) -> npt.NDArray[np.int64]:
        """Walking distance of each node to its nearest hub in cm (``-1`` beyond the cutoff)."""
        return keys_to_dist_label(self.keys)[0]

    @property
    def label(self) -> npt.NDArray[np.int64]:
        """Slot of each node's nearest hub (``-1`` beyond the cutoff)."""
        return keys_to_dist_label(self.keys)[1]

    # -- internals ----------------------------------------------------------------
    def _seed(self, slot: int) -> None:
        run_sources(
            self.network.indptr,
            self.network.indices,
            self.network.weight_cm,
            self.keys,
            self.hub_node[slot : slot + 1],
            source_keys(self.hub_offset_cm[slot : slot + 1], [slot]),
            self._ckey,
        )

    def _check_nodes(self, nodes: npt.NDArray[np.int32] | npt.NDArray[np.int64]) -> None:
        if nodes.size and (nodes.min() < 0 or nodes.max() >= self.network.n_nodes):
            msg = "hub node outside the network"
            raise HubError(msg)

    def _check_slot(self, slot: int) -> None:
        if not (0 <= slot < self.hub_active.shape[0]) or not self.hub_active[slot]:
            msg = f"no active hub in slot {slot}"
            raise HubError(msg)
