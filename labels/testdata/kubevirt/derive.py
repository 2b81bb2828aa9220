#!/usr/bin/env python3
"""Derives the KubeVirt labels of a host from KubeVirt's node-labeller rules,
independently of cpupolicy's labels package, for labels/kubevirt_test.go.

The rules, from kubevirt/kubevirt pkg/virt-handler/node-labeller:
  node_labeller.go prepareLabels:
    cpu-feature.node.kubevirt.io/F=true      for each F of supported_features.xml
                                             with policy require
    cpu-model.node.kubevirt.io/M=true and
    cpu-model-migration.node.kubevirt.io/M=true
                                             for each usable, non-obsolete M that
                                             shouldAddCPUModelLabel accepts
    cpu-model-migration.node.kubevirt.io/H   for the host-model H unless obsolete
    host-model-required-features.node.kubevirt.io/F   for each required F of H
    node-labeller.kubevirt.io/obsolete-host-model     when H is obsolete
    cpu-vendor.node.kubevirt.io/V, host-model-cpu.node.kubevirt.io/H
  node_labeller.go shouldAddCPUModelLabel: M == H, or every <feature name> of
    cpu_map/x86_M.xml (cpu_plugin.go loadCPUInfo/loadFeatures) has a
    cpu-feature label; no such file: not labelled.
  cpu_plugin.go getSupportedCpuModels: usable minus DefaultObsoleteCPUModels
    (node-labeller/util).
  supported_features.xml is `virsh hypervisor-cpu-baseline --features` of the
  host-model CPU: the model's features (removed='yes' ones are not part of a
  model), plus the required, minus the disabled.

Usage: derive.py CPU_MAP_DIR HOSTMODEL.json MODELS.json > HOST.labels
HOSTMODEL.json: {"model": ..., "vendor": ..., "required": [...], "disabled": [...]}
MODELS.json: `cpupolicy models --format json` (usable: no unavailable features).
"""
import json, sys, os
import xml.etree.ElementTree as ET

OBSOLETE = set("""486 486-v1 pentium pentium-v1 pentium2 pentium2-v1 pentium3 pentium3-v1
pentiumpro pentiumpro-v1 coreduo coreduo-v1 n270 n270-v1 core2duo core2duo-v1 Conroe Conroe-v1
athlon athlon-v1 phenom phenom-v1 qemu64 qemu64-v1 qemu32 qemu32-v1 kvm64 kvm64-v1 kvm32 kvm32-v1
Opteron_G1 Opteron_G1-v1 Opteron_G2 Opteron_G2-v1""".split())

cpumap, hmfile, modelsfile = sys.argv[1:4]
hm = json.load(open(hmfile))
models = json.load(open(modelsfile))

def file_features(name, with_removed):
    path = os.path.join(cpumap, "x86_%s.xml" % name)
    if not os.path.exists(path):
        return None
    model = ET.parse(path).getroot().find("model")
    return [f.get("name") for f in model.findall("feature")
            if with_removed or f.get("removed") != "yes"]

supported = set(file_features(hm["model"], False)) | set(hm["required"])
supported -= set(hm["disabled"])
labels = {}
for f in supported:
    labels["cpu-feature.node.kubevirt.io/" + f] = "true"
for m in models:
    name = m["name"]
    if m["unavailable-features"] or name in OBSOLETE:
        continue
    if name != hm["model"]:
        need = file_features(name, True)
        if need is None or any(f not in supported for f in need):
            continue
    labels["cpu-model.node.kubevirt.io/" + name] = "true"
    labels["cpu-model-migration.node.kubevirt.io/" + name] = "true"
if hm["model"] in OBSOLETE:
    labels["node-labeller.kubevirt.io/obsolete-host-model"] = "true"
else:
    labels["cpu-model-migration.node.kubevirt.io/" + hm["model"]] = "true"
for f in hm["required"]:
    labels["host-model-required-features.node.kubevirt.io/" + f] = "true"
labels["cpu-vendor.node.kubevirt.io/" + hm["vendor"]] = "true"
labels["host-model-cpu.node.kubevirt.io/" + hm["model"]] = "true"
for k in sorted(labels):
    print("%s=%s" % (k, labels[k]))
