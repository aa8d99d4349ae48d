"""The causal graph: who waited on what, who woke whom, who held the Ps meanwhile, which
connections and descriptors exist, who owns and who closed them.

    from diagnose.graph import build_graph
    cg = build_graph(timelines)                 # CausalGraph; cg.g is a networkx.MultiDiGraph
    cg.explain_network_wait(goroutine_id, t_ns) # one slow network wait, explained
    cg.conns.nodes                              # connections / descriptors (conns.py)
    chains.wait_chain(cg, interval)             # a blocking chain (chains.py)
"""
from . import chains
from .causal import CausalGraph, WaitExplanation, build_graph
from .conns import ConnectionIndex, ConnNode

__all__ = ["CausalGraph", "ConnNode", "ConnectionIndex", "WaitExplanation", "build_graph", "chains"]
