"""zhichao: overload control at freight source points (源头科技治超).

The station runs a weighbridge lane; the platform runs at county, city and
province tiers. Layers, lowest first: rules, protocols, transports, lane,
station, platform, reports, sim. A lower layer never imports a higher one.
"""

__version__ = "0.1.0"
