"""Pure computation: network, routing, coverage, hexes, service areas. No I/O formats, no UI."""
