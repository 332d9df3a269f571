{{- /* The sidecars' config files, rendered from the values; configmaps.yaml holds them. */ -}}
