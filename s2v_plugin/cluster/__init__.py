"""Running the engine on a Dask cluster (an embedded ``LocalCluster`` or a remote scheduler).

Dask is optional: nothing in the plugin imports this package unless a scheduler is asked for,
and :func:`s2v_plugin.cluster.client.import_distributed` says how to install it when missing.
"""
