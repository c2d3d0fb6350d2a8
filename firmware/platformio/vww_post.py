# PlatformIO post-script (runs after the platform's builder has set up the toolchain and the
# AmbiqSuite framework):
# - compiles the generated TFLM tree as static libraries with TFLM's own flags for
#   cortex_m_generic / cortex-m4+fp (kernels and CMSIS-NN at TFLM's kernel optimisation level, the
#   rest at its core level), in a clean environment whose include path holds only TFLM's CMSIS;
#   of the kernels, only those of the ops the generated resolver registers (see
#   vwwdeploy/firmware/tflm_sources.py: the others could never run, and compiling them all takes long);
# - drops the framework's CMSIS-DSP link (`-larm_cortexM4lf_math`): nothing here calls CMSIS-DSP,
#   and the prebuilt archive is not in every checkout of the SDK (it is over 4 MB);
# - compiles the HM01B0 camera driver of the Edge BSP (HM01B0.c in boards_sfe/common/third_party/hm01b0,
#   found by vww_pre.py) from the dependency directory, with the framework's own flags and include path,
#   as a static library: the board layer (boards/sparkfun_edge/hm01b0.cc) calls it;
# - for `custom_vww_kernels = generated`: compiles the model-specialised convolutions (firmware/kernels/ and
#   the generated folder vww_pre.py found) at TFLM's kernel level, as the QEMU build does, ahead of the TFLM
#   libraries they call into;
# - defines the symbols the bare-metal C++ runtime expects from a fuller startup than the SDK's
#   (see boards/sparkfun_edge/cxx_runtime.cc for __dso_handle).
import os
import sys
from pathlib import Path

Import("env")  # noqa: F821

sys.path.insert(0, env.subst("$PROJECT_DIR"))
from vwwdeploy.firmware import tflm_sources as vww_kernels  # noqa: E402

tree = env["VWW_TFLM_TREE"]
tflm = env["VWW_TFLM_FLAGS"]


def define(text):
    # -DNAME="value" must reach the compiler with its quotes (a header name for #include).
    if "=" not in text:
        return text
    name, value = text.split("=", 1)
    return (name, value.replace('"', '\\"'))


def tflm_env(level):
    lib = env.Clone()
    lib.Replace(
        CPPPATH=[os.path.join(tree, i) for i in tflm["includes"]],
        CPPDEFINES=[define(d) for d in tflm["defines"]],
        CCFLAGS=[level, "-g"],
        CFLAGS=[f for f in tflm["ccflags"] if f != "-MD"],
        CXXFLAGS=[f for f in tflm["cxxflags"] if f != "-MD"],
    )
    return lib


settings = os.path.join(env.subst("$PROJECT_DIR"), "firmware", "generated", "model_settings.h")
methods = vww_kernels.resolver_methods(Path(settings))
kernel_files = vww_kernels.kernel_sources(Path(tree), methods)
print("vwwdeploy: TFLM kernels for " + ", ".join(methods))

kernel_level = tflm["optimization"]["kernels"]
libs = [
    tflm_env(kernel_level).BuildLibrary(
        os.path.join("$BUILD_DIR", "tflm_kernels"), tree, ["-<*>"] + [f"+<{f}>" for f in kernel_files]
    ),
    tflm_env(kernel_level).BuildLibrary(
        os.path.join("$BUILD_DIR", "tflm_cmsis_nn"), tree, ["-<*>", "+<third_party/cmsis_nn/Source/>"]
    ),
    tflm_env(tflm["optimization"]["core"]).BuildLibrary(
        os.path.join("$BUILD_DIR", "tflm_core"),
        tree,
        ["+<*>", f"-<{vww_kernels.KERNELS_DIR}/>", "-<third_party/cmsis_nn/>"]
        + [f"-<{x}>" for x in vww_kernels.EXCLUDED],
    ),
]
# The vendor driver: C, built like the framework's own HAL libraries (same env, so the BSP's am_bsp.h and the
# Apollo3 HAL headers); only HM01B0.c, the rest of the folder is headers (the register scripts).
if env["VWW_SPECIALISED"]:
    specialised_env = env.Clone()
    specialised_env.Append(CCFLAGS=[kernel_level])  # after the app's -Os, so it wins
    libs[:0] = [
        specialised_env.BuildLibrary(
            os.path.join("$BUILD_DIR", "vww_tflm_kernels"),
            os.path.join(env.subst("$PROJECT_DIR"), "firmware", "kernels"),
            ["-<*>", "+<vww_tflm_kernels.cc>"],
        ),
        specialised_env.BuildLibrary(
            os.path.join("$BUILD_DIR", "vww_generated_kernels"), env["VWW_SPECIALISED"], ["-<*>", "+<*.cc>"]
        ),
    ]
libs.append(env.BuildLibrary(os.path.join("$BUILD_DIR", "hm01b0"), env["VWW_HM01B0_DIR"], ["-<*>", "+<HM01B0.c>"]))
env.Prepend(LIBS=libs)

env.Replace(LIBS=[lib for lib in env["LIBS"] if lib != "arm_cortexM4lf_math"])

# libgcc's ARM unwinder references the exception-index table bounds; the SDK's linker script
# has no .ARM.exidx section, and nothing here unwinds (no exceptions), so an empty table.
env.Append(LINKFLAGS=["-Wl,--defsym=__exidx_start=0", "-Wl,--defsym=__exidx_end=0"])
