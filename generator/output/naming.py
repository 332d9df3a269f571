"""Names in the output folder that other stages and tools rely on (written by the
emitters and the writer, read back by check, lint and replays)."""

RECORD = ".sidecar-new.yaml"  # the answers and provenance of a render, in its folder
CONFIG_DIR = "config"  # config/<sidecar>/...: read by the containers, as their own users
