"""Vendor Fluent Bit's config keys from its source, for the offline check of the generated
fluent-bit.yaml (tests/test_sidecar_configs.py). No Fluent Bit binary is installable here (not
in Debian, PyPI or npm), so the keys it accepts are read from the tagged source instead:

    git clone --branch v5.1.1 https://github.com/fluent/fluent-bit && \\
      python tests/data/extract_fluent_bit_keys.py fluent-bit > tests/data/fluent-bit-5.1.1-keys.json

Sections: service (src/flb_config.c service_configs), input and output (the generic
properties flb_input.c/flb_output.c take, plus each plugin's config_map and, for outputs, the
upstream's net.* map), parsers (src/flb_parser.c). Keys are case-insensitive in Fluent Bit.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PLUGINS = {"input": {"tail": "plugins/in_tail/tail.c"},
           "output": {"forward": "plugins/out_forward/forward.c", "stdout": "plugins/out_stdout/stdout.c"}}


def config_map(text: str) -> list[str]:
    return re.findall(r'FLB_CONFIG_MAP_[A-Z_]+\s*,\s*"([^"]+)"', text)


def main(root: Path) -> dict:
    header = (root / "include/fluent-bit/flb_config.h").read_text()
    defines = dict(re.findall(r'#define\s+(FLB_CONF_[A-Z0-9_]+)\s+"([^"]+)"', header))
    config_c = (root / "src/flb_config.c").read_text()
    table = config_c[config_c.index("service_configs[]"):]
    table = table[:table.index("};")]
    service = [defines[name] for name in re.findall(r"\{(FLB_CONF_[A-Z0-9_]+),", table) if name in defines]
    generic = {kind: re.findall(r'prop_key_check\("([^"]+)"', (root / f"src/flb_{kind}.c").read_text())
               for kind in ("input", "output")}
    net = config_map((root / "src/flb_upstream.c").read_text())
    found = {"service": sorted({k.lower() for k in service})}
    for kind, plugins in PLUGINS.items():
        found[kind] = {name: sorted({k.lower() for k in [*generic[kind], *config_map((root / path).read_text()),
                                                        *(net if kind == "output" else [])]} | {"name"})
                       for name, path in plugins.items()}
    parser_c = (root / "src/flb_parser.c").read_text()
    found["parser"] = sorted(set(re.findall(r'"((?:name|format|regex|time_[a-z_]+|types|decode_field[a-z_]*|'
                                            r'skip_empty_values))"', parser_c)))
    return found


if __name__ == "__main__":
    json.dump(main(Path(sys.argv[1])), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
