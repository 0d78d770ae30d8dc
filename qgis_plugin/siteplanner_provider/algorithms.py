"""The algorithms: Validate, Plan and Review init, each on a scenario file (``.toml``).

Each runs the siteplanner command line (:mod:`.runner`), shows its log lines and progress in
the Processing dialog (or ``qgis_process``'s output), stops it when the user cancels, and
raises its one-line error as a :class:`QgsProcessingException`.
"""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
)

from . import runner

_HELP_COMMAND = (
    "<p>The algorithm runs the <code>siteplanner</code> command line, installed in a Python of "
    "its own: on PATH, or set the environment variable <code>SITEPLANNER_COMMAND</code> "
    "(e.g. <code>/path/to/venv/bin/python -m siteplanner.cli</code>) before starting QGIS.</p>"
)


class _SiteplannerAlgorithm(QgsProcessingAlgorithm):
    """What the three algorithms share: the scenario parameter and running the command."""

    SCENARIO = "SCENARIO"
    _steps: tuple[str, ...] = ()

    def createInstance(self):  # noqa: N802 - the names QGIS calls
        return type(self)()

    def group(self):
        return "Plan"

    def groupId(self):  # noqa: N802
        return "plan"

    def _add_scenario(self):
        self.addParameter(
            QgsProcessingParameterFile(
                self.SCENARIO,
                "Scenario file (.toml)",
                behavior=QgsProcessingParameterFile.File,
                extension="toml",
            )
        )

    def _scenario(self, parameters, context) -> str:
        path = self.parameterAsFile(parameters, self.SCENARIO, context)
        if not path or not os.path.isfile(path):
            raise QgsProcessingException(f"{path or '(none)'}: no such scenario file")
        return os.path.abspath(path)

    def _run(self, args, scenario, feedback) -> runner.Outcome:
        """Run ``siteplanner ARGS`` from the scenario's folder; raise its error."""
        feedback.pushInfo("siteplanner " + " ".join(args))

        failed = []

        def on_line(line: str) -> None:
            done = runner.progress(line, self._steps) if self._steps else None
            if done is not None:
                feedback.setProgress(done)
            if line.startswith("error:"):
                failed.append(line)  # raised below, once
            elif line.startswith("WARNING: "):
                feedback.pushWarning(line.removeprefix("WARNING: "))
            elif not failed:
                feedback.pushInfo(line)

        try:
            out = runner.run(
                args,
                cwd=os.path.dirname(scenario),
                on_line=on_line,
                cancelled=feedback.isCanceled,
            )
        except (runner.CommandNotFound, OSError) as exc:
            raise QgsProcessingException(str(exc)) from exc
        if out.cancelled:
            raise QgsProcessingException("cancelled: siteplanner was stopped")
        if not out.ok:
            raise QgsProcessingException(runner.error_message(out.lines, out.returncode))
        feedback.setProgress(100)
        return out


class ValidateAlgorithm(_SiteplannerAlgorithm):
    """``siteplanner validate``: every check that does not need the coverage computation."""

    MESSAGE = "MESSAGE"

    def name(self):
        return "validate"

    def displayName(self):  # noqa: N802
        return "Validate a scenario"

    def shortHelpString(self):  # noqa: N802
        return (
            "<p>Checks a scenario and its input files without the coverage computation: file "
            "formats, boundary, incident rows, patrol start, cable trench ends, the number of "
            "sites against the candidates. A problem stops the algorithm with one message "
            "naming the file, the row and what is accepted.</p>" + _HELP_COMMAND
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self._add_scenario()
        self.addOutput(QgsProcessingOutputString(self.MESSAGE, "What siteplanner said"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        scenario = self._scenario(parameters, context)
        out = self._run(["validate", scenario], scenario, feedback)
        return {self.MESSAGE: out.lines[-1] if out.lines else ""}


class PlanAlgorithm(_SiteplannerAlgorithm):
    """``siteplanner run``: the next camera phase, the patrols and every output file."""

    OUTPUT = "OUTPUT"
    PROJECT = "PROJECT"
    GEOPACKAGE = "GEOPACKAGE"
    REPORT = "REPORT"
    _steps = runner.STEPS

    def name(self):
        return "plan"

    def displayName(self):  # noqa: N802
        return "Plan cameras and patrols"

    def shortHelpString(self):  # noqa: N802
        return (
            "<p>Plans the next phase of video-protection cameras and the police patrols of a "
            "scenario and writes the outputs into the output folder: <code>plan.qgz</code> "
            "(open it: every layer styled, and a print layout), <code>plan.gpkg</code>, "
            "<code>report.html</code>, <code>map.html</code>, <code>prefecture.csv</code>…</p>"
            + _HELP_COMMAND
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self._add_scenario()
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, "Output folder"))
        self.addOutput(QgsProcessingOutputFile(self.PROJECT, "QGIS project (plan.qgz)"))
        self.addOutput(QgsProcessingOutputFile(self.GEOPACKAGE, "GeoPackage (plan.gpkg)"))
        self.addOutput(QgsProcessingOutputFile(self.REPORT, "Report (report.html)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        scenario = self._scenario(parameters, context)
        folder = os.path.abspath(self.parameterAsString(parameters, self.OUTPUT, context))
        self._run(["run", scenario, "--out", folder], scenario, feedback)
        return {
            self.OUTPUT: folder,
            self.PROJECT: os.path.join(folder, "plan.qgz"),
            self.GEOPACKAGE: os.path.join(folder, "plan.gpkg"),
            self.REPORT: os.path.join(folder, "report.html"),
        }


class ReviewInitAlgorithm(_SiteplannerAlgorithm):
    """``siteplanner review init``: the référent sûreté's review file, one row per site."""

    FORCE = "FORCE"
    REVIEW = "REVIEW"
    _steps = runner.STEPS[:-1]  # no outputs step

    def name(self):
        return "review_init"

    def displayName(self):  # noqa: N802
        return "Start the référent sûreté's review"

    def shortHelpString(self):  # noqa: N802
        return (
            "<p>Writes the review file of the référent sûreté (<code>review.csv</code>): one "
            "pending row per proposed site, to accept, reject or move before the next run. "
            "An existing file is kept unless <i>Rewrite</i> is ticked (its decided rows are "
            "kept then too).</p>" + _HELP_COMMAND
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self._add_scenario()
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.FORCE, "Rewrite an existing review file (keeps its decided rows)", False
            )
        )
        self.addOutput(QgsProcessingOutputFile(self.REVIEW, "Review file"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        scenario = self._scenario(parameters, context)
        args = ["review", "init", scenario]
        if self.parameterAsBoolean(parameters, self.FORCE, context):
            args.append("--force")
        out = self._run(args, scenario, feedback)
        return {self.REVIEW: runner.written_review(out.lines, os.path.dirname(scenario)) or ""}
