// The AmbiqSuite SDK 2.5.1 headers, wrapped for C++: several of them lack extern "C" guards, so
// including them bare from a .cc file would mangle the HAL's C symbol names.
#ifndef VWW_EDGE_SDK_H_
#define VWW_EDGE_SDK_H_

extern "C" {
#include "am_bsp.h"
#include "am_mcu_apollo.h"
#include "am_util.h"
}

#endif  // VWW_EDGE_SDK_H_
