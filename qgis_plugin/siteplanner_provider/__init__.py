"""siteplanner's QGIS Processing provider: Validate, Plan and Review init on a scenario file.

QGIS loads this folder as a plugin (``QGIS_PLUGINPATH`` pointing at ``qgis_plugin/``, or a copy
in the profile's ``python/plugins``). The algorithms run the siteplanner command line in a
subprocess: siteplanner lives in its own Python, not QGIS's.
"""


def classFactory(iface):  # noqa: N802 - the name QGIS calls
    """The plugin object (``iface`` is None under ``qgis_process``)."""
    from .plugin import SiteplannerPlugin

    return SiteplannerPlugin(iface)
