"""The plugin: registers the Processing provider (in QGIS and under ``qgis_process``)."""

from qgis.core import QgsApplication

from .provider import SiteplannerProvider


class SiteplannerPlugin:
    """Adds :class:`SiteplannerProvider` to the Processing registry."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 - the names QGIS calls
        self.provider = SiteplannerProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
