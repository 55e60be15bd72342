"""Third-party plugins for the tests: one good, one that fails, two invalid."""

from collector.plugin import Collected, Context, Plugin
from collector.spec import CommandSpec, FileSpec


class Example(Plugin):
    name = "example"
    description = "Example product shipped outside pa-collect"
    paths = ("/opt/example/etc/example.conf",)

    def specs(self, ctx: Context):
        return [
            FileSpec(path="/opt/example/etc/example.conf"),
            CommandSpec(name="version", argv=("example-version",)),
        ]

    def facts(self, collected: Collected):
        text = collected.text("version") or ""
        return {"version": text.strip()}


class BrokenSpecs(Plugin):
    name = "broken_specs"
    always = True

    def specs(self, ctx: Context):
        raise RuntimeError("cannot list specs")


class NotAPlugin:
    name = "not_a_plugin"
