"""One collection, start to finish: discover -> plan -> run -> archive.

This module only wires the stages together; each stage lives in its own module.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from collector.archive import QUEUE_LIMIT, BundleWriter, bundle_name, check_free_space
from collector.boundary import guarded
from collector.capture import file_sha256
from collector.case import Case
from collector.discovery import Discovered, discover_plugins
from collector.errors import BadInput, NoBundle
from collector.host import Host
from collector.lock import run_lock
from collector.manifest import RunInfo, build_manifest, manifest_bytes
from collector.obfuscate import Obfuscator
from collector.pack import Packer
from collector.plan import PluginPlan, follow_up_hook, plan_plugin, plan_specs
from collector.plugin import Applicability, Collected, Context, Plugin
from collector.profile import Profile
from collector.redact import BASELINE_RULES, PEM_RULE, Rule, redact_bytes, redact_text
from collector.runner import OK, Limits, PluginRun, Progress, Runner
from collector.schema import has_schema, schema_errors
from collector.spec import Spec

# Room kept free beyond the estimate, for the manifest and file-system overhead.
SPACE_MARGIN = 32 * 1024 * 1024


@dataclass(frozen=True)
class CollectRequest:
    products: tuple[str, ...]
    profile: Profile
    case: Case
    output: Path
    limits: Limits = field(default_factory=Limits)
    since: datetime | None = None
    selection: dict[str, str] = field(default_factory=dict)
    password: str | None = None
    level: int = 1
    kind: str = "collection"  # or "snapshot": the light profile (collector.plan.HOOKS)
    command_line: tuple[str, ...] = ()
    # The caller holds a lock of its own (a snapshot locks its folder), so the
    # user's one-collection-at-a-time lock is not taken.
    locked_by_caller: bool = False
    # Opt-in obfuscation (collector.obfuscate): kinds of `--obfuscate`, the
    # keywords of --keyword/--keyword-file, and --map (None: the user's default
    # map in the state folder). Nothing is obfuscated when both are empty.
    obfuscate: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    obfuscation_map: Path | None = None


@dataclass(frozen=True)
class CollectResult:
    bundle: Path
    manifest: dict[str, Any]
    bundle_size: int
    bundle_sha256: str


def choose_plugins(discovered: Discovered, products: tuple[str, ...]) -> list[Plugin]:
    """Every always-on plugin plus the requested product plugins (asking for an
    always-on one, as in `--product os`, is allowed and changes nothing)."""
    unknown = [p for p in products if p not in discovered.plugins]
    if unknown:
        known = ", ".join(sorted(discovered.plugins)) or "none installed"
        raise BadInput(f"unknown product {unknown[0]!r} (available: {known})")
    always = [p for p in discovered.plugins.values() if p.always]
    return always + [discovered.plugins[n] for n in products if not discovered.plugins[n].always]


def applicability(plugin: Plugin, host: Host) -> Applicability:
    answer, error = guarded(lambda: plugin.applies(host))
    if answer is None:
        return Applicability(False, f"detection failed: {error}")
    return answer


def make_plans(plugins: list[Plugin], ctx: Context) -> list[PluginPlan]:
    plans = []
    for plugin in plugins:
        applies = applicability(plugin, ctx.host)
        if applies.applies:
            plans.append(plan_plugin(plugin, applies, ctx))
        else:
            plans.append(PluginPlan(plugin, applies))
    return plans


def plan_request(
    request: CollectRequest, host: Host
) -> tuple[Discovered, Context, list[PluginPlan]]:
    discovered = discover_plugins()
    plugins = choose_plugins(discovered, request.products)
    ctx = Context(host=host, since=request.since, selection=request.selection, kind=request.kind)
    return discovered, ctx, make_plans(plugins, ctx)


def entitlement(profile: Profile, products: tuple[str, ...], today: datetime) -> dict[str, Any]:
    """Is the card's service period current, and are the products on it? Only
    warnings: support decides, and the collection still runs."""
    warnings = []
    start, end = profile.service_dates()
    active = None
    if start or end:
        active = (start is None or start <= today.date()) and (end is None or today.date() <= end)
        if not active:
            warnings.append(
                f"the service period on the customer card ({start or '?'} to {end or '?'}) "
                f"does not cover today, {today.date()}"
            )
    # A card without a product list says nothing either way: None, not False.
    on_card = {p: (p in profile.products) if profile.products else None for p in products}
    for product, entitled in on_card.items():
        if entitled is False:
            warnings.append(f"product {product!r} is not on the customer card's product list")
    return {"service_active": active, "products": on_card, "warnings": warnings}


def collect(request: CollectRequest, host: Host, progress: Progress | None = None) -> CollectResult:
    created = host.now()
    discovered, ctx, plans = plan_request(request, host)
    obfuscator = make_obfuscator(request, host)
    ident = host.identity()
    shown_host = obfuscator.text(ident["hostname"]) if obfuscator else ident["hostname"]
    name = bundle_name(_name_prefix(request), request.products, shown_host, created)
    destination = request.output / name
    _check_output(request.output)
    product_names = tuple(p.plugin.name for p in plans if not p.plugin.always)
    rights = entitlement(request.profile, product_names, created)
    with _run_lock(request, host), _staging(request.output) as staging:
        check_free_space(request.output, space_needed(plans, request.limits))
        rules = redaction_rules(plans)
        writer = BundleWriter(destination, password=request.password, level=request.level)
        packer = Packer(writer, staging, rules, obfuscator)
        try:
            with writer:
                runner = Runner(
                    host,
                    staging,
                    request.limits,
                    rules,
                    progress,
                    request.since,
                    on_item=packer.item,
                    on_stream=packer.stream if packer.streams else None,
                )
                runs = runner.run(plans)
                follow_up(runner, runs, ctx, staging)
                facts = gather_facts(runs, staging)
                _release_staging(writer, staging)
                manifest = build_manifest(
                    _run_info(request, created, rights, ident, discovered, rules, plans),
                    runs,
                    facts,
                )
                manifest = packer.manifest(manifest)
                writer.finish(manifest_bytes(manifest))
        finally:
            # What the run learned is kept even when it fails: the next run of
            # the case must give the same names the same replacements.
            if obfuscator is not None:
                obfuscator.save()
    size, digest = destination.stat().st_size, file_sha256(destination)
    return CollectResult(destination, manifest, size, digest)


def make_obfuscator(request: CollectRequest, host: Host) -> Obfuscator | None:
    """The run's obfuscator, or None when nothing is to be obfuscated."""
    if not request.obfuscate and not request.keywords:
        return None
    return Obfuscator.from_options(
        host, request.obfuscate, request.keywords, request.obfuscation_map
    )


def _release_staging(writer: BundleWriter, staging: Path) -> None:
    """Once facts are gathered, nothing staged is needed: wait until all is
    packed, then free the disk before the manifest is written."""
    writer.drain()
    for child in staging.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def space_needed(plans: list[PluginPlan], limits: Limits) -> int:
    """Free space a collection needs at its peak: the bundle (at most what is
    collected, when stored), the non-log items staged until facts are gathered,
    and the logs in flight (waiting for the writer, or being captured by each
    job). Logs are never all staged at once: each goes once packed."""
    items = [item for plan in plans for item in plan.items]
    collected = min(sum(item.estimate for item in items), limits.max_total_size)
    logs = sum(item.estimate for item in items if item.kind == "log")
    kept = min(collected, sum(item.estimate for item in items if item.kind != "log"))
    in_flight = min(logs, QUEUE_LIMIT + limits.jobs * limits.max_file_size)
    return collected + kept + in_flight + SPACE_MARGIN


def _run_info(
    request: CollectRequest,
    created: datetime,
    rights: dict[str, Any],
    ident: dict[str, Any],
    discovered: Discovered,
    rules: tuple[Rule, ...],
    plans: list[PluginPlan],
) -> RunInfo:
    return RunInfo(
        kind=request.kind,
        created=created,
        customer=request.profile.as_document(),
        entitlement=rights,
        case=_redacted_case(request.case),
        host=ident,
        command_line=[redact_text(arg) for arg in request.command_line],
        products=list(request.products),
        options=_options(request),
        load_failures=[
            {"entry_point": f.entry_point, "error": f.error} for f in discovered.failures
        ],
        rule_names=sorted({r.name for r in rules} | {PEM_RULE}),
        warnings=rights["warnings"] + _plan_warnings(plans, request.products),
    )


def redaction_rules(plans: list[PluginPlan]) -> tuple[Rule, ...]:
    """The baseline rules plus every running plugin's own, applied to all items:
    a WebSphere-style secret can sit in an OS file too."""
    extra = [rule for plan in plans for rule in plan.plugin.redaction_rules]
    return (*BASELINE_RULES, *extra)


def follow_up(runner: Runner, runs: list[PluginRun], ctx: Context, staging: Path) -> None:
    """The second round: items that plugins choose from what the first collected."""
    rounds = []
    for run in runs:
        plugin = run.plan.plugin
        hook = follow_up_hook(plugin, ctx)
        if not _ran(run) or hook is None:
            continue
        collected = _collected(run, staging)
        seen = {r.bundle_path for r in run.results if r.bundle_path}

        def more(
            hook: Callable[[Context, Collected], Iterable[Spec]] = hook,
            collected: Collected = collected,
        ) -> Iterable[Spec]:
            return hook(ctx, collected)

        rounds.append((run, plan_specs(plugin, run.plan.applicability, ctx, more, seen)))
    if not rounds:
        return
    for (run, plan), extra in zip(rounds, runner.run([plan for _, plan in rounds]), strict=True):
        run.results.extend(extra.results)
        run.duration += extra.duration
        run.plan.error = run.plan.error or plan.error


def _ran(run: PluginRun) -> bool:
    return run.plan.applicability.applies and run.plan.error is None


def _collected(run: PluginRun, staging: Path) -> Collected:
    """The plugin's staged items, logs excepted: a log's staged copy is gone
    once packed (collector.plugin.Collected: facts come from small outputs)."""
    staged: dict[str, dict[str, Path]] = {}
    for result in run.results:
        if result.outcome == OK and result.bundle_path and result.kind != "log":
            staged.setdefault(result.spec_name, {})[result.source] = staging / result.bundle_path
    return Collected(staged)


def gather_facts(runs: list[PluginRun], staging: Path) -> dict[str, Any]:
    """Ask each plugin that ran to parse its own collected items into facts."""
    facts: dict[str, Any] = {}
    for run in runs:
        if not _ran(run) or not run.results:
            continue  # nothing collected (a plugin without snapshot specs): nothing to parse
        plugin, collected = run.plan.plugin, _collected(run, staging)
        value, error = guarded(lambda p=plugin, c=collected: p.facts(c))  # type: ignore[misc]
        if error is not None or not isinstance(value, dict):
            run.plan.error = error or f"facts() returned {type(value).__name__}, not a dict"
            continue
        if not value:
            continue
        # Facts come from redacted items, but pass the stage once more: it is cheap.
        value = json.loads(redact_bytes(json.dumps(value, default=str).encode())[0])
        problems = (
            schema_errors(f"facts_{plugin.name}", value)
            if has_schema(f"facts_{plugin.name}")
            else []
        )
        if problems:
            # A parser surprised by a real host must not cost the whole bundle.
            run.plan.error = f"facts do not match their schema, left out: {problems[0]}"
            continue
        facts[plugin.name] = value
    return facts


def _redacted_case(case: Case) -> dict[str, Any]:
    """The customer's own words pass the redactor too: people paste passwords."""
    document = case.as_document()
    document["description"] = {k: redact_text(v) for k, v in case.description.items()}
    return document


def _plan_warnings(plans: list[PluginPlan], products: tuple[str, ...]) -> list[str]:
    warnings = []
    for plan in plans:
        if plan.plugin.name in products and not plan.applicability.applies:
            warnings.append(
                f"{plan.plugin.name} was not found on this host: {plan.applicability.reason}"
            )
        if plan.error:
            warnings.append(f"plugin {plan.plugin.name} failed: {plan.error}")
    return warnings


def _options(request: CollectRequest) -> dict[str, Any]:
    return {
        "since": request.since.isoformat() if request.since else None,
        "max_file_size": request.limits.max_file_size,
        "max_total_size": request.limits.max_total_size,
        "jobs": request.limits.jobs,
        "encrypted": request.password is not None,
        "command_timeout": request.limits.command_timeout,
    }


def _name_prefix(request: CollectRequest) -> str:
    """The first part of the bundle name: the case's, or `snapshot`, so that
    snapshot retention can tell its own bundles from everything else."""
    return "snapshot" if request.kind == "snapshot" else request.case.file_prefix


def _run_lock(request: CollectRequest, host: Host) -> AbstractContextManager[None]:
    if request.locked_by_caller:
        return nullcontext()
    return run_lock(host.state_dir / "collect.lock")


def _check_output(folder: Path) -> None:
    if not folder.is_dir():
        raise NoBundle(f"output folder {folder} does not exist")


@contextmanager
def _staging(output: Path) -> Iterator[Path]:
    """A private (0700) work folder beside the bundle, removed whatever happens."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=".pa-collect-staging-", dir=output))
    except OSError as error:
        raise NoBundle(f"cannot write in {output}: {error.strerror}") from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
