# PlatformIO pre-script (runs before the platform's builder): puts the generated TFLM tree of the
# env's kernel flavour (`custom_tflm_kernels`) on the application's include path with the defines
# TFLM was configured with, so the core sees TFLM's headers exactly as the library is compiled.
# TFLM's own CMSIS headers are deliberately NOT added here: the AmbiqSuite SDK brings its own CMSIS
# and two CMSIS versions on one include path clash. vww_post.py compiles the library itself.
# Also puts the vendor's HM01B0 camera driver folder of the Edge BSP (boards_sfe/common/third_party/hm01b0,
# part of the framework package) on the include path; vww_post.py compiles its HM01B0.c.
import json
import os
import sys

Import("env")  # noqa: F821  (SCons injects Import)

project_dir = env.subst("$PROJECT_DIR")
flavour = env.GetProjectOption("custom_tflm_kernels", "cmsis-nn")

tree = os.environ.get("VWWDEPLOY_TFLM_TREE")
if not tree:
    # `pio run` started by hand: ask vwwdeploy (from this checkout) for the tree.
    sys.path.insert(0, project_dir)
    try:
        from vwwdeploy.errors import UserError
        from vwwdeploy.firmware.tflm_tree import ensure_tree

        tree = str(ensure_tree(flavour))
    except UserError as exc:
        sys.stderr.write(f"vwwdeploy: {exc}\n")
        env.Exit(2)

with open(os.path.join(tree, "tflm_flags.json"), encoding="utf-8") as fh:
    tflm = json.load(fh)
if tflm["flavour"] != flavour:
    sys.stderr.write(f"vwwdeploy: {tree} holds {tflm['flavour']} kernels, env wants {flavour}\n")
    env.Exit(2)

# Device-selection defines belong to TFLM's generic Cortex-M target only.
DEVICE_ONLY = ("ARMCM4", "CPU_M4=1", "CMSIS_DEVICE_ARM_CORTEX_M_XX_HEADER_FILE")
app_defines = [d for d in tflm["defines"] if not d.startswith(DEVICE_ONLY)]
app_includes = [os.path.join(tree, i) for i in tflm["includes"] if "cmsis" not in i]

framework = env.PioPlatform().get_package_dir("framework-ambiqsuitesdkapollo3-sfe")
hm01b0 = os.path.join(framework or "", "boards_sfe", "common", "third_party", "hm01b0")
if not framework or not os.path.isfile(os.path.join(hm01b0, "HM01B0.c")):
    sys.stderr.write(f"vwwdeploy: the HM01B0 vendor driver is missing from the Edge BSP ({hm01b0})\n")
    env.Exit(2)

env.Replace(VWW_TFLM_TREE=tree, VWW_TFLM_FLAGS=tflm, VWW_HM01B0_DIR=hm01b0, VWW_SPECIALISED="")
generated = env.GetProjectOption("custom_vww_kernels", "") == "generated"
if not generated:
    # The flavour INFO reports (tflm_classifier.cc); without it the Edge said "unknown" kernels.
    env.Append(CPPDEFINES=["VWW_KERNELS_CMSIS_NN" if flavour == "cmsis-nn" else "VWW_KERNELS_REFERENCE"])
if generated:
    # Model-specialised convolutions: their sources are generated for the model into vwwdeploy's build cache,
    # never into the repo, so only `vwwdeploy firmware build` knows where; vww_post.py compiles them.
    specialised = os.environ.get("VWWDEPLOY_SPECIALISED", "")
    if not os.path.isfile(os.path.join(specialised, "vww_generated_kernels.cc")):
        sys.stderr.write("vwwdeploy: build this environment with `vwwdeploy firmware build --kernels generated`\n")
        env.Exit(2)
    env.Replace(VWW_SPECIALISED=specialised)
    env.Append(
        CPPPATH=[os.path.join(project_dir, "firmware", "kernels"), specialised], CPPDEFINES=["VWW_KERNELS_GENERATED"]
    )
env.Append(
    CPPPATH=app_includes + [hm01b0],
    CPPDEFINES=[tuple(d.split("=", 1)) if "=" in d else d for d in app_defines],
    # The C++ runtime TFLM assumes on a microcontroller: no exceptions, RTTI or guarded statics.
    CXXFLAGS=[
        "-std=gnu++17",
        "-fno-exceptions",
        "-fno-rtti",
        "-fno-threadsafe-statics",
        "-fno-unwind-tables",
        "-fno-asynchronous-unwind-tables",
    ],
)
print(f"vwwdeploy: TFLM {tflm['tflm_commit'][:12]} {flavour} kernels from {tree}")
