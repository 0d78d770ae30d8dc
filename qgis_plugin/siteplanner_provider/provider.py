"""The ``siteplanner`` Processing provider."""

from qgis.core import QgsProcessingProvider

from .algorithms import PlanAlgorithm, ReviewInitAlgorithm, ValidateAlgorithm


class SiteplannerProvider(QgsProcessingProvider):
    """Validate, Plan and Review init, under the id ``siteplanner``."""

    def loadAlgorithms(self):  # noqa: N802 - the names QGIS calls
        for alg in (ValidateAlgorithm(), PlanAlgorithm(), ReviewInitAlgorithm()):
            self.addAlgorithm(alg)

    def id(self):
        return "siteplanner"

    def name(self):
        return "siteplanner"

    def longName(self):  # noqa: N802
        return "siteplanner: video-protection cameras and police patrols"
