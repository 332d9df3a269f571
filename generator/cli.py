"""The command line: thin wrappers over the pipeline. Only typer and the stdlib load at
import time; jinja2, questionary and cookiecutter load inside the commands that use them."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import List, Optional

import typer

from generator import __version__
from generator.errors import SidecarError

# add_completion: --install-completion/--show-completion (bash, zsh, fish); typer builds those
# two options from modules it has loaded anyway, so start-up does not change.
app = typer.Typer(add_completion=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Scaffold a service's compose.yaml, Kubernetes base and sidecar configs "
                       "from a catalog of vetted sidecar templates.")
_state = {"debug": False}
_CATALOG_HELP = ("Catalog: a folder, git URL, .zip file or abbreviation such as gh:org/repo "
                 "[default: $SIDECAR_NEW_CATALOG, else built-in].")
_CATALOGS_HELP = _CATALOG_HELP + " Repeat to stack catalogs, searched in order (--catalog team --catalog builtin)."
_CHECKOUT_HELP = "Branch, tag or commit to check out of a git/hg --catalog."
_DIRECTORY_HELP = "Subfolder of the --catalog that holds catalog.yaml."
_OFFLINE_HELP = "Use only the cached copy of a remote catalog (~/.cache/sidecar-new); never fetch."
_SET_HELP = ("Set one answer, dotted.path=VALUE (VALUE is YAML), after --answers and the other flags "
             "(repeatable): app.replicas=3, sidecars.envoy.listen_port=9000.")


def _template_names(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Shell completion of template names (--with, show): from the --catalog typed so far, else
    $SIDECAR_NEW_CATALOG, else the built-in catalog, if it is on this machine (a remote catalog
    is not fetched for a key press). Runs only when the shell asks, never at start-up."""
    from generator.catalog.fetch import BUILTIN, load_sources, resolve_sources

    try:
        given = ctx.params.get("catalog")
        sources = resolve_sources([given] if isinstance(given, str) else given, None, ctx.params.get("directory"))
        if any(s.location != BUILTIN and not Path(s.location).expanduser().is_dir() for s in sources):
            return []
        templates = load_sources(sources).templates
    except SidecarError:
        return []
    return [(t.name, " ".join(t.summary.split())) for t in templates if t.name.startswith(incomplete)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sidecar-new {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context,
         version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit."),
         debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors.")) -> None:
    """Without a command: the wizard (same as `sidecar-new new`)."""
    _state["debug"] = debug
    if ctx.invoked_subcommand is None:
        ctx.invoke(ctx.command.get_command(ctx, "new"))  # the click command fills in defaults


@app.command()
def new(
    answers: Optional[Path] = typer.Option(None, "--answers", help="Answers file (YAML); a recorded .sidecar-new.yaml replays."),
    name: Optional[str] = typer.Option(None, "--name", help="App name (DNS-1123 label)."),
    image: Optional[str] = typer.Option(None, "--image", help="App image, pinned: tag and/or @sha256 digest."),
    port: Optional[int] = typer.Option(None, "--port", help="Port the app listens on [default: 8080]."),
    health_path: Optional[str] = typer.Option(None, "--health-path", help="App health endpoint [default: /healthz]."),
    log_dir: Optional[str] = typer.Option(None, "--log-dir", help="Folder the app writes log files to (shared with a log shipper)."),
    metrics_path: Optional[str] = typer.Option(None, "--metrics-path", help="Path the app serves metrics on."),
    replicas: Optional[int] = typer.Option(None, "--replicas", help="Kubernetes replicas, 1 to 100 [default: 2]."),
    sidecars: Optional[List[str]] = typer.Option(None, "--with", help="Add a sidecar from the catalog (repeatable).",
                                                 autocompletion=_template_names),
    target: Optional[str] = typer.Option(None, "--target", help="compose, kubernetes, helm, both or all, or a comma list (kubernetes,helm) [default: both]."),
    kubernetes_version: Optional[str] = typer.Option(None, "--kubernetes-version", help="Target Kubernetes version, 1.25 to 1.37 [default: 1.33]."),
    namespace: Optional[str] = typer.Option(None, "--namespace", help="Kubernetes namespace [default: the app name]."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder [default: ./<app name>]."),
    catalog: Optional[List[str]] = typer.Option(None, "--catalog", help=_CATALOGS_HELP),
    checkout: Optional[str] = typer.Option(None, "--checkout", help=_CHECKOUT_HELP),
    directory: Optional[str] = typer.Option(None, "--directory", help=_DIRECTORY_HELP),
    trust: bool = typer.Option(False, "--trust", help="Run the catalog's hooks/post_render after writing."),
    no_input: bool = typer.Option(False, "--no-input", help="Never prompt: defaults for what is missing."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the files that would be written; write nothing."),
    show_diff: bool = typer.Option(False, "--diff", help="Show what would change in the output folder; write nothing."),
    force: bool = typer.Option(False, "--force", help="Replace generated files in an existing output folder."),
    allow_unpinned: bool = typer.Option(False, "--allow-unpinned", help="Accept an untagged or :latest app image."),
    ask_all: bool = typer.Option(False, "--ask-all", help="Wizard: ask every question, also those --answers fills in."),
    save_answers: Optional[Path] = typer.Option(None, "--save-answers", help="Write the answers used to FILE, for replay with --answers (also with --dry-run)."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help=_SET_HELP),
    offline: bool = typer.Option(False, "--offline", help=_OFFLINE_HELP),
    strict: bool = typer.Option(False, "--strict", help="Sidecars over the catalog's overhead budget are an error, not a warning."),
) -> None:
    """Render an app and its sidecars into compose.yaml, k8s/ and config/. With --diff the
    exit status is 1 when the folder differs from the render, 0 when not (a drift check).
    Sidecars whose requests pass the catalog's overhead budget are a warning (--strict: an error)."""
    _state["written"] = None
    with _errors():
        recorded = None if catalog else _recorded_catalog(answers)
        if recorded is not None:  # a record replays with the catalog it names, at its commit
            loaded = _load_recorded(recorded, answers, checkout, offline)
        else:
            loaded = _load_catalog(catalog, checkout, directory, offline)
        app_flags = {"name": name, "image": image, "port": port, "health_path": health_path,
                     "log_dir": log_dir, "metrics_path": metrics_path, "replicas": replicas}
        raw, output = _gather(loaded, answers, app_flags, sidecars, target,
                              {"version": kubernetes_version, "namespace": namespace}, no_input=no_input,
                              ask_all=ask_all, allow_unpinned=allow_unpinned, output=output, force=force,
                              preview=dry_run or show_diff, save_answers=save_answers, sets=sets or [],
                              is_record=_is_record(answers) or recorded is not None)
        spec, pod, files = _build(raw, loaded, allow_unpinned)
        _overhead(pod, strict=strict, table=dry_run)
        _deliver(files, raw, loaded, output or _default_output(answers, spec.app.name), spec, output,
                 dry_run=dry_run, show_diff=show_diff, force=force, trust=trust, save_answers=save_answers)


def _gather(loaded, answers: Optional[Path], app_flags: dict, sidecars: Optional[List[str]],
            target: Optional[str], kube_flags: dict, *, no_input: bool, ask_all: bool,
            allow_unpinned: bool, output: Optional[Path], force: bool, preview: bool,
            save_answers: Optional[Path], sets: List[str], is_record: bool) -> tuple[dict, Optional[Path]]:
    """The answers (the file, overlaid with the flags and each --set, then the wizard on a
    terminal) and the output folder (--output, else the one a saved answers file names)."""
    from generator.input.answers import apply_flags, load_answers
    from generator.input.overrides import apply_sets
    from generator.input.spec import ANSWER_KEYS

    given = load_answers(answers)
    saved_output = _saved_output(given.pop("output", None))  # popped always: not a Spec key
    output = output or saved_output
    raw = apply_flags(given, app=app_flags, sidecars=sidecars, target=target, kubernetes=kube_flags)
    raw = apply_sets(raw, sets, ANSWER_KEYS)
    if save_answers is not None:
        from generator.output.writer import check_answers_target

        check_answers_target(save_answers)  # before any question or write
    # Both ends a terminal: with stdout redirected the prompts would vanish into the file.
    if not no_input and sys.stdin.isatty() and sys.stdout.isatty():
        import gc

        gc.enable()  # off for start-up (generator/__main__.py); a wizard session runs for minutes
        from generator.wizard.session import run_wizard

        return run_wizard(raw, loaded, ask_all=ask_all, allow_unpinned=allow_unpinned,
                          output=output or _default_output(answers, None), force=force,
                          confirm=not preview, complete=is_record), output
    if not no_input and answers is None and not (app_flags["name"] and app_flags["image"]):
        from generator.errors import SpecError

        raise SpecError("stdin is not a terminal, so there is no wizard: pass --answers FILE, "
                        "or --no-input with --name and --image")
    return raw, output


def _build(raw: dict, loaded, allow_unpinned: bool):
    """The answers checked into a Spec, and the files it renders to (pure, nothing written)."""
    from generator.input.spec import parse_spec
    from generator.pipeline import render

    spec = parse_spec(raw, loaded, allow_unpinned=allow_unpinned)
    return (spec, *render(spec, loaded))


def _overhead(pod, *, strict: bool, table: bool) -> None:
    """The sidecars' overhead against the catalog's budget: a warning, or with --strict an error
    (before anything is written); --dry-run prints the figures too."""
    from generator.model import overhead

    uses = overhead.of_pod(pod)
    if table and pod.sidecars:
        typer.echo("\n".join(overhead.table(uses)))
    problems = overhead.warnings(uses)
    if problems and strict:
        from generator.errors import SpecError

        raise SpecError(f"sidecars: {problems[0]} (--strict)")
    for problem in problems:
        typer.echo(f"warning: sidecar overhead: {problem}", err=True)


def _deliver(files, raw: dict, loaded, dest: Path, spec, output: Optional[Path], *, dry_run: bool,
             show_diff: bool, force: bool, trust: bool, save_answers: Optional[Path]) -> None:
    """Show (--dry-run, --diff) or write the files, save the answers, run trusted hooks."""
    if dry_run or show_diff:
        differs = _preview(files, dest, show_diff)
        _save(raw, save_answers, output)
        if loaded.root is not None and (loaded.root / "hooks").exists():
            typer.echo("catalog hooks do not run on a dry run or a diff")
        if show_diff and differs:
            raise typer.Exit(1)  # a drift check: CI fails when the folder is not the render
        return
    from generator.catalog.hooks import check_hooks, run_hooks
    from generator.output.writer import write

    check_hooks(loaded, trust)
    result = write(files, dest, force=force, on_landed=lambda: _state.update(written=dest))
    _save(raw, save_answers, output)  # after the render landed: nothing is written on an error
    _report(files, dest, result, spec)
    # Hooks come from the catalog, so they run only after a successful write, only when
    # trusted, and inside the output folder.
    for line in run_hooks(loaded, dest, trust):
        typer.echo(line)


@app.command()
def update(
    folders: List[Path] = typer.Argument(..., metavar="DIR...", help="Service folders sidecar-new wrote."),
    checkout: Optional[str] = typer.Option(None, "--checkout", help="Move the recorded catalog to this branch, tag or commit [default: the branch the record follows, else the newest tag, else the default branch]."),
    sidecars: Optional[List[str]] = typer.Option(None, "--with", help="Add a sidecar (repeatable).",
                                                 autocompletion=_template_names),
    without: Optional[List[str]] = typer.Option(None, "--without", help="Remove a sidecar (repeatable)."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help=_SET_HELP),
    show_diff: bool = typer.Option(False, "--diff", help="Show what update would change; write nothing (exit 1 on differences)."),
    offline: bool = typer.Option(False, "--offline", help=_OFFLINE_HELP),
    allow_unpinned: bool = typer.Option(False, "--allow-unpinned", help="Accept an untagged or :latest app image."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Folders updated at once [default: the CPU count]."),
) -> None:
    """Merge a newer catalog (and changed answers) into service folders, three ways: your edits
    are kept, a clash gets git-style conflict markers. Exit 1 on a conflict or failure."""
    with _errors():
        import os

        from generator.tools.fleet import update_all
        from generator.tools.update import CONFLICTS, FAILED, UPDATED, Change

        if jobs is not None and jobs < 1:
            from generator.errors import SpecError

            raise SpecError(f"--jobs: {jobs} must be 1 or more")
        _new_run()
        change = Change(checkout=checkout, add=tuple(sidecars or ()), remove=tuple(without or ()),
                        sets=tuple(sets or ()), offline=offline, allow_unpinned=allow_unpinned)
        single = len(folders) == 1
        reported = []

        def report(outcome) -> None:
            reported.append(outcome)
            if show_diff and outcome.diff:
                typer.echo(outcome.diff, nl=not outcome.diff.endswith("\n"))
            typer.echo(outcome.line(), err=outcome.status == FAILED)
            if single:
                for note in outcome.notes:
                    typer.echo(f"  {note}")

        try:
            outcomes = update_all(folders, change, show_diff=show_diff, jobs=jobs or os.cpu_count() or 1,
                                  report=report)
        except KeyboardInterrupt:
            # Each folder is written through the writer's journal: finished or left as it was.
            typer.echo(f"\ninterrupted: {len(reported)} of {len(folders)} service(s) done as listed; "
                       "the others are as they were", err=True)
            raise typer.Exit(130)
        counts = {s: sum(o.status == s for o in outcomes) for s in (UPDATED, "unchanged", CONFLICTS, FAILED)}
        if not single:
            typer.echo(f"{len(outcomes)} services: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
                       + (" (--diff: nothing written)" if show_diff else ""))
        if counts[CONFLICTS]:
            typer.echo("resolve the conflict markers (<<<<<<<, =======, >>>>>>>) in the files named, "
                       "then run update again", err=True)
        if counts[CONFLICTS] or counts[FAILED] or (show_diff and counts[UPDATED]):
            raise typer.Exit(1)


@app.command("list")
def list_templates(catalog: Optional[List[str]] = typer.Option(None, "--catalog", help=_CATALOGS_HELP),
                   checkout: Optional[str] = typer.Option(None, "--checkout", help=_CHECKOUT_HELP),
                   directory: Optional[str] = typer.Option(None, "--directory", help=_DIRECTORY_HELP),
                   offline: bool = typer.Option(False, "--offline", help=_OFFLINE_HELP)) -> None:
    """The catalog: name, capability, image and summary of each template."""
    with _errors():
        loaded = _load_catalog(catalog, checkout, directory, offline)
        rows = [("NAME", "CAPABILITY", "IMAGE", "SUMMARY")]
        rows += [(t.name, t.capability, t.image, t.summary) for t in loaded.templates]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for layer in loaded.layers or (loaded,):  # a stack: each catalog, in search order
            typer.echo(f"catalog {layer.name} {layer.version} ({layer.source})")
        for row in rows:
            typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
        from generator.catalog.capabilities import describe

        capabilities = list(dict.fromkeys(t.capability for t in loaded.templates))
        width = max(map(len, capabilities), default=0)
        typer.echo("capabilities:")
        for capability in capabilities:
            typer.echo(f"  {capability.ljust(width)}  {describe(capability)}")


@app.command()
def show(template_name: str = typer.Argument(..., metavar="NAME", autocompletion=_template_names),
         catalog: Optional[List[str]] = typer.Option(None, "--catalog", help=_CATALOGS_HELP),
         checkout: Optional[str] = typer.Option(None, "--checkout", help=_CHECKOUT_HELP),
         directory: Optional[str] = typer.Option(None, "--directory", help=_DIRECTORY_HELP),
         offline: bool = typer.Option(False, "--offline", help=_OFFLINE_HELP)) -> None:
    """One template: parameters, ports, volumes, probes and resources."""
    with _errors():
        from generator.tools.describe import describe_template

        loaded = _load_catalog(catalog, checkout, directory, offline)
        typer.echo(describe_template(loaded.get(template_name, "NAME")), nl=False)


@app.command()
def check(folder: Path = typer.Argument(..., metavar="DIR"),
          strict: bool = typer.Option(False, "--strict", help="Sidecars over the recorded overhead budget are a problem, not a warning.")) -> None:
    """Validate generated output with the real tools (docker-compose, kubectl kustomize,
    kubernetes-validate, Envoy's v3 API) and sidecar-new's own rules; report the sidecars'
    overhead against the catalog's budget."""
    with _errors():
        from generator.tools.check import check_folder, check_overhead
        from generator.errors import CheckError

        problems = check_folder(folder)
        over = check_overhead(folder) if (folder / "k8s").is_dir() else []
        if strict:
            problems += over
        else:  # one line each, naming the folder as every line of check does
            for line in over:
                typer.echo(f"{line} (a warning; a problem with --strict)", err=True)
        for problem in problems:
            typer.echo(problem, err=True)
        if problems:
            raise CheckError(f"{folder}: {len(problems)} problem(s)")
        typer.echo(f"{folder}: ok")


@app.command()
def inject(
    source: str = typer.Argument(..., metavar="FILE|DIR|-", help="Kubernetes YAML, a Compose file or a kustomize folder; - reads stdin."),
    sidecars: Optional[List[str]] = typer.Option(None, "--with", help="Add a sidecar from the catalog (repeatable).",
                                                 autocompletion=_template_names),
    remove: Optional[List[str]] = typer.Option(None, "--remove", help="Take out a sidecar inject added (repeatable)."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Set an answer the file cannot tell, dotted.path=VALUE "
                                             "(app.log_dir=/var/log/app, sidecars.envoy.listen_port=9000)."),
    workload: Optional[str] = typer.Option(None, "--workload", help="KIND/NAME of the workload, when the file holds several."),
    container: Optional[str] = typer.Option(None, "--container", help="The app's container, when the pod has several."),
    service: Optional[str] = typer.Option(None, "--service", help="The Compose service (Compose files)."),
    kubernetes_version: Optional[str] = typer.Option(None, "--kubernetes-version", help="Target Kubernetes version, 1.25 to 1.37 [default: 1.33]."),
    catalog: Optional[str] = typer.Option(None, "--catalog", help=_CATALOG_HELP),
    checkout: Optional[str] = typer.Option(None, "--checkout", help=_CHECKOUT_HELP),
    directory: Optional[str] = typer.Option(None, "--directory", help=_DIRECTORY_HELP),
    in_place: bool = typer.Option(False, "--in-place", help="Replace FILE (atomically) instead of printing."),
    show_diff: bool = typer.Option(False, "--diff", help="Show what would change; write nothing (exit 1 if anything would)."),
    no_input: bool = typer.Option(False, "--no-input", help="Never prompt: what the file cannot tell must be a --set."),
) -> None:
    """Add catalog sidecars to an existing Kubernetes workload or Compose service, wired as `new`
    renders them; prints the result (or --in-place, --diff) and the changes made to the app's
    own fields."""
    with _errors():
        from generator.errors import SpecError
        from generator.inject.derive import Request
        from generator.inject.run import Target, inject_text
        from generator.yamlio import read_text

        if source == "-" and in_place:
            raise SpecError("--in-place: needs a FILE, not - (stdin)")
        path = Path(source)
        loaded = _load_catalog(catalog, checkout, directory)
        interactive = not no_input and source != "-" and sys.stdin.isatty() and sys.stderr.isatty()
        request = Request(tuple(sidecars or ()), tuple(sets or ()), kubernetes_version)
        ask = _ask if interactive else None
        if source != "-" and path.is_dir():
            from generator.inject.run import inject_folder

            files = _kustomize_folder(path)
            if not (in_place or show_diff):
                raise SpecError(f"{source}: a kustomize folder gets a patch and config files beside its "
                                "kustomization.yaml: use --in-place (or --diff to see them first)")
            outcome = inject_folder(files, loaded, request, Target(workload, container, service),
                                    tuple(remove or ()), ask=ask)
            path = path / next(iter(files))  # the kustomization comes first
            text, source = files[path.name], str(path)
        else:
            text = sys.stdin.read() if source == "-" else read_text(path, SpecError)
            outcome = inject_text(text, "stdin" if source == "-" else source, loaded, request,
                                  Target(workload, container, service), tuple(remove or ()), ask=ask)
        if outcome.files and not (in_place or show_diff):
            raise SpecError(f"the sidecars read config files ({', '.join(outcome.files)}), written beside "
                            f"the compose file: use --in-place (or --diff to see them first); a Compose file "
                            "on stdout has nowhere to put them")
        for line in outcome.summary:
            typer.echo(line, err=True)
        if outcome.owned and not (in_place or show_diff):
            typer.echo(f"no longer used, remove them yourself (or use --in-place): "
                       f"{', '.join(p for p in outcome.owned if p not in outcome.files)}", err=True)
        if show_diff:
            import difflib

            lines = difflib.unified_diff(text.splitlines(keepends=True), outcome.text.splitlines(keepends=True),
                                         f"a/{source}", f"b/{source}")
            shown = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
            base = path.absolute().parent
            shown += "".join(f"would write {p}\n" for p, data in outcome.files.items()
                             if not ((base / p).is_file() and (base / p).read_bytes() == data))
            shown += "".join(f"would remove {p}\n" for p in outcome.owned
                             if p not in outcome.files and (base / p).exists())
            typer.echo(shown or f"{source}: no changes", nl=not shown)
            if shown:
                raise typer.Exit(1)
        elif in_place:
            if outcome.text == text:
                typer.echo(f"{source}: no changes", err=True)
                return
            from generator.output.inplace import replace_file, write_beside

            # Config files first, so the compose file never names one that is not there yet.
            for note in write_beside(path.absolute().parent, outcome.files, outcome.owned):
                typer.echo(note, err=True)
            replace_file(path, outcome.text.encode(), text.encode())
            typer.echo(f"wrote {source}", err=True)
        else:
            sys.stdout.write(outcome.text)


def _kustomize_folder(folder: Path) -> dict[str, str]:
    """A kustomize folder's kustomization (first), its resource files and inject's own patch files."""
    from generator.errors import SpecError
    from generator.inject import kustomize
    from generator.yamlio import read_text

    names = sorted(p.name for p in folder.iterdir())
    name = kustomize.kustomization_name(names)
    if name is None:
        raise SpecError(f"{folder}: a folder is read as a kustomize base, and it has no kustomization.yaml")
    files = {name: read_text(folder / name, SpecError)}
    for relative in kustomize.resources(files[name], str(folder / name)):
        if (folder / relative).is_file():
            files[relative] = read_text(folder / relative, SpecError)
    for own in names:
        if own.startswith(f"{kustomize.FILES_DIR}-") and own.endswith(".yaml"):
            files[own] = read_text(folder / own, SpecError)
    return files


def _ask(field: str, why: str):
    """A value the file cannot tell, typed in the terminal (on stderr: stdout is the result)."""
    return typer.prompt(f"{why}\n  app.{field}", err=True, type=int if field == "port" else str)


catalog_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                          no_args_is_help=True, help="Maintain a team catalog: lint it, add a template.")
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("lint")
def catalog_lint(path: str = typer.Argument(..., metavar="PATH", help="Catalog folder (or any --catalog source)."),
                 checkout: Optional[str] = typer.Option(None, "--checkout", help=_CHECKOUT_HELP),
                 directory: Optional[str] = typer.Option(None, "--directory", help=_DIRECTORY_HELP)) -> None:
    """Check a catalog: schema (with file and line), every template rendered with its defaults
    through the real validators, pinned images, probes, limits, hardening, port/volume clashes."""
    with _errors():
        from generator.errors import CatalogError
        from generator.catalog.fetch import Source, fetch_source
        from generator.tools.lint import lint_catalog, placeholder_warnings

        root, shown, _ = fetch_source(Source(path, checkout, directory))
        problems, summary = lint_catalog(root, shown)
        for line in placeholder_warnings(root) + problems:  # warnings do not fail the lint
            typer.echo(line, err=True)
        if problems:
            raise CatalogError(f"{path}: {len(problems)} problem(s)")
        typer.echo(summary)


@catalog_app.command("new")
def catalog_new(name: str = typer.Argument(..., metavar="NAME", help="Template name (DNS-1123 label)."),
                capability: str = typer.Option(..., "--capability", help="What it adds: logging, proxy, metrics, ..."),
                catalog: Path = typer.Option(Path("."), "--catalog", help="Catalog folder.")) -> None:
    """Scaffold templates/NAME/ and its catalog.yaml entry (created if missing), passing
    `catalog lint` as generated, with TODO comments where to fill in."""
    with _errors():
        from generator.tools.scaffold import scaffold

        for written in scaffold(catalog, name, capability):
            typer.echo(f"wrote {written}")
        typer.echo(f"next: fill in the TODOs, then sidecar-new catalog lint {catalog}")


def _load_catalog(source, checkout: Optional[str] = None, directory: Optional[str] = None,
                  offline: bool = False):
    """The catalog (or stack) that --catalog (one or a list) or the environment names."""
    # fetch.py imports cookiecutter only for remote sources: built-in and folders stay fast.
    from dataclasses import replace

    from generator.catalog.fetch import load_sources, resolve_sources

    given = [source] if isinstance(source, str) else list(source or [])
    _new_run()
    return load_sources([replace(s, offline=offline) for s in resolve_sources(given, checkout, directory)])


def _new_run() -> None:
    """Each command fetches a remote catalog afresh (once), also when run in-process again."""
    from generator.catalog import gitcache

    gitcache.new_run()


def _recorded_catalog(answers: Optional[Path]):
    """generated_by.catalog of an answers file that is a record, else None."""
    if answers is None:
        return None
    from generator.errors import SpecError
    from generator.yamlio import load_file

    data = load_file(answers, SpecError) if answers.is_file() else None
    made = data.get("generated_by") if isinstance(data, dict) else None
    return made.get("catalog") if isinstance(made, dict) else None


def _load_recorded(provenance, answers: Path, checkout: Optional[str], offline: bool):
    """The catalog (or stack) a record came from: each source, directory and commit (or
    --checkout for the first)."""
    from generator.catalog.fetch import load_source, recorded_sources
    from generator.catalog.stack import stack

    sources = recorded_sources(provenance, f"{answers}: generated_by.catalog", checkout, offline)
    _new_run()
    recorded = provenance if isinstance(provenance, list) else [provenance]
    layers = [load_source(source) for source in sources]
    for layer, before in zip(layers, recorded):
        recorded_hash = before.get("sha256") if isinstance(before, dict) else None
        if recorded_hash and layer.content_hash and recorded_hash != layer.content_hash:
            typer.echo(f"note: the catalog {layer.source} changed since {answers} was written; "
                       "rendering it as it is now", err=True)
    return stack(layers)


def _default_output(answers: Optional[Path], app_name: Optional[str]) -> Optional[Path]:
    """Replaying a folder's own record (--answers out/.sidecar-new.yaml) re-renders that
    folder; otherwise a folder named after the app (None: not known yet)."""
    from generator.output.naming import RECORD

    if answers is not None and answers.name == RECORD:
        return answers.parent
    return Path(app_name) if app_name else None


def _is_record(answers: Optional[Path]) -> bool:
    """A folder's own record replays as a whole request (nothing left open)."""
    from generator.output.naming import RECORD

    return answers is not None and answers.name == RECORD


def _saved_output(value: object) -> Optional[Path]:
    """`output:` in an answers file that --save-answers wrote: the folder it rendered to."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        from generator.errors import SpecError

        raise SpecError(f"output: {value!r} is not a folder path")
    return Path(value)


def _save(raw: dict, path: Optional[Path], output: Optional[Path]) -> None:
    if path is not None:
        from generator.output.writer import save_answers

        # The folder given with --output goes along, so a replay renders to it again (relative
        # paths: to where sidecar-new runs); without one the replay's default is the same.
        save_answers({**raw, "output": str(output)} if output is not None else raw, path)
        typer.echo(f"saved the answers to {path}")


def _preview(files, dest: Path, show_diff: bool) -> bool:
    """Print the dry run or the diff; whether the diff found differences."""
    if show_diff:
        from generator.output.writer import diff

        found = diff(files, dest)
        text = found or f"{dest}: no changes"
        typer.echo(text, nl=not text.endswith("\n"))  # a shell prompt must not follow on the line
        return bool(found)
    for path, data in files.items():
        typer.echo(f"{dest / path}  ({len(data)} bytes)")
    typer.echo(f"dry run: {len(files)} files, nothing written")
    return False


def _report(files, dest: Path, result, spec) -> None:
    typer.echo(f"wrote {len(files)} files to {dest}/")
    for path in files:
        typer.echo(f"  {path}")
    for note in result.notes:
        typer.echo(note)
    if result.replaced_edits:
        typer.echo("replaced files you had edited: " + ", ".join(result.replaced_edits))
    if result.kept_edits:
        typer.echo("kept files you had edited that are no longer generated: " + ", ".join(result.kept_edits))
    if result.stale:
        typer.echo("removed files no longer generated: " + ", ".join(result.stale))
    if result.kept:
        typer.echo(f"kept {len(result.kept)} file(s) sidecar-new did not write")
    typer.echo("next:")
    # Each command runs from here (no cd), so they can be pasted in any order. Compose reads
    # ./config/ relative to the compose file's own folder.
    if "compose" in spec.targets:
        typer.echo(f"  docker compose -f {dest / 'compose.yaml'} up -d")
    if "kubernetes" in spec.targets:
        if not spec.create_namespace:  # a shared namespace is not in the base
            typer.echo(f"  kubectl create namespace {spec.namespace}   # if it does not exist yet")
        typer.echo(f"  kubectl apply -k {dest / 'k8s'}/")
    if "helm" in spec.targets:
        typer.echo(f"  helm install {spec.app.name} {dest / 'chart'} -n {spec.namespace}"
                   + ("" if spec.create_namespace else "   # the namespace must exist"))


def _aborted() -> str:
    """What an interrupt left: the writer reports the moment the new files are in place."""
    if _state.get("written") is not None:
        return f"aborted after the new files were written to {_state['written']}/"
    return "aborted, nothing written"


class _errors:
    """One line and an exit code for our errors and Ctrl-C; tracebacks only with --debug."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or _state["debug"]:
            return False
        if isinstance(exc, (KeyboardInterrupt, EOFError)):
            typer.echo(f"\n{_aborted()}", err=True)
            raise typer.Exit(130)
        if isinstance(exc, SidecarError):
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code)
        return False


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo(f"\n{_aborted()}", err=True)
        code = 130
    except typer.TyperException as exc:  # usage errors: exit 1 as documented, not click's 2
        exc.show()
        code = 1
    # The run is over and reported: an interrupt from here on could only make the
    # interpreter's shutdown print a traceback over the report.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code if isinstance(code, int) else 0)
