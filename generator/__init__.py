"""sidecar-new: scaffold a service's compose.yaml, Kubernetes base and sidecar configs.

The package is laid out by stage; data flows one way, and each package imports only
the packages to its left in this list (tests/test_layers.py enforces it):

    base      errors, rules, yamlio: one-line errors, the input rules, safe YAML
    catalog   catalog/: load and fetch template catalogs (typed at load), run hooks
    input     input/: answers file and flags -> Spec (the validated request)
    model     model/: Spec + Catalog -> Pod (target-neutral), Jinja expansion
    output    output/: FileSet, output names, the writer (the only stage that writes)
    emit      emit/: Pod -> FileSet for compose, kubernetes, README; imports model, output
    pipeline  pipeline.py: Spec + Catalog -> FileSet, pure
    inject    inject/: catalog sidecars patched into someone else's Compose or Kubernetes YAML
              (the same render as `new`, spliced into the file's text; pure, text in and out)
    wizard    wizard/: the interactive front end (questions, checks, summary)
    tools     tools/: check, lint, scaffold, describe
    cli       cli.py, __main__.py: the thin command line; imports anything, lazily

Two rules beyond the order: the emitters never import input or catalog (they see only
the Pod), and output never imports the pipeline or the emitters.
"""

__version__ = "0.1.0"
